/**
 * What the tests share: temporary rundirs, fixtures in the suite's own
 * language (.ts from source, .js in the npm build) and child processes of
 * the runtime running the suite.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { RUNDIR_VARIABLES, UNIT_VARIABLES } from "../src/_location.ts";

/** `.ts` when the suite runs from source, `.js` when it runs from the npm build. */
const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";

/** The path of `tests/fixtures/<name>` in the suite's language. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}${extension}`, import.meta.url));
}

/** The environment variables that say where the state is: the unit's, then the rundir's. */
export const LOCATION_VARIABLES: readonly string[] = [...UNIT_VARIABLES, ...RUNDIR_VARIABLES];

/**
 * Runs `body` in this process with the location variables unset but for
 * those `env` sets (and any other variable `env` names set), then puts every
 * one of them back as it was.
 */
export function withEnv<T>(env: Record<string, string>, body: () => T): T {
  const names = [...new Set([...LOCATION_VARIABLES, ...Object.keys(env)])];
  const saved = names.map((name) => [name, process.env[name]] as const);
  for (const name of names) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** A new empty directory, removed when `body` ends. */
export async function withTempDir<T>(body: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(`${tmpdir()}/liveness-test-`);
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The copies {@linkcode reachableCopy} made, by source path and entries. */
const copies = new Map<string, string>();

/**
 * A copy of the file or directory `path` that every user can reach: in a
 * fresh directory of its own under the temporary directory, directories
 * 0755, files 0644 (0755 when executable). A test that runs something as
 * another user (`setpriv --reuid=65534 ...`) runs the copy: the checkout may
 * live in a private directory (mode 0700, like `/root`, a home directory or
 * `mktemp -d`) that the other user cannot enter. That holds for the runtime
 * too: copy `process.execPath`, which lies in the checkout's `node_modules`
 * for all but the machine's Node.
 *
 * With `entries`, `path` is a directory and only those of its entries are
 * copied, keeping their places: `reachableCopy(root, ["src", "package.json"])`
 * gives a new root holding `src/` and `package.json` (what the probe command
 * needs, without `node_modules`).
 *
 * One copy per path (and entries) and process, removed when the process
 * exits. Symbolic links inside a directory are copied as links.
 */
export function reachableCopy(path: string, entries?: readonly string[]): string {
  const key = JSON.stringify([path, entries]);
  const known = copies.get(key);
  if (known) return known;
  if (copies.size === 0) {
    process.once("exit", removeCopies);
    // deno test ends without "exit"; it dispatches "unload".
    (globalThis as { addEventListener?: (type: string, listener: () => void) => void })
      .addEventListener?.("unload", removeCopies);
  }
  const dir = mkdtempSync(`${tmpdir()}/liveness-reachable-`);
  const copy = `${dir}/${path.replace(/\/+$/, "").replace(/^.*\//, "")}`;
  for (const entry of entries ?? [""]) {
    const target = entry ? `${copy}/${entry}` : copy;
    cpSync(entry ? `${path}/${entry}` : path, target, { recursive: true, verbatimSymlinks: true });
  }
  for (const entry of [dir, ...walk(copy)]) openUp(entry);
  copies.set(key, copy);
  return copy;
}

/** `path` and everything under it, for a directory. */
function walk(path: string): string[] {
  if (!lstatSync(path).isDirectory()) return [path];
  return [path, ...readdirSync(path).flatMap((name) => walk(`${path}/${name}`))];
}

/** Makes `path` readable (and searchable or runnable where it was) by everyone. */
function openUp(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chmodSync(path, stat.isDirectory() || stat.mode & 0o111 ? 0o755 : 0o644);
}

function removeCopies(): void {
  for (const copy of copies.values()) {
    rmSync(copy.slice(0, copy.lastIndexOf("/")), { recursive: true, force: true });
  }
}

/** The state files in `dir` with their contents; `{}` when `dir` is missing. */
export function readState(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).sort().map((name) => [name, readFileSync(`${dir}/${name}`, "utf8")]),
  );
}

/** The command that runs `script` on the runtime running this suite. */
export function runtimeCommand(script: string): [string, string[]] {
  return "Deno" in globalThis
    ? [process.execPath, ["run", "--allow-all", script]]
    : [process.execPath, [script]];
}

/**
 * Starts `tests/fixtures/hold_state` on this runtime: it loads `unit`, sets
 * `error` and stays alive. Resolves once it says "ready".
 */
export function holdState(rundir: string, unit: string, error: number): Promise<ChildProcess> {
  const [command, args] = runtimeCommand(fixture("hold_state"));
  const child = spawn(command, [...args, rundir, unit, String(error)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    // No test runner here times a test out by default: do not wait forever.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("hold_state did not say ready within 20 s"));
    }, 20_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`hold_state exited with ${code}`)));
    child.stdout!.on("data", (chunk) => {
      if (String(chunk).includes("ready")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** Kills `child` and waits until it is gone. */
export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Field 22 of `/proc/<pid>/stat`: the start time that names a process in the state. */
export function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** A process that state can name: its pid, its start time, and what ends it. */
export interface Subject {
  readonly pid: number;
  readonly starttime: string;
  stop(): Promise<void>;
}

/** A live process (`sleep`) that does nothing until stopped. */
export function sleeper(): Subject {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  const pid = child.pid!;
  return { pid, starttime: startTime(pid), stop: () => kill(child) };
}

/** The pid and start time of a process that has ended (and been reaped). */
export async function deadProcess(): Promise<{ pid: number; starttime: string }> {
  const { pid, starttime, stop } = sleeper();
  await stop();
  return { pid, starttime };
}

/**
 * A background job that waits until its shell has become `sleep 600`, then
 * exits: its parent is now a program that never reaps it. (With `sleep 0 &`,
 * the shell may reap the job before its exec.)
 */
const ZOMBIE_MAKER =
  "until read -r c </proc/$$/comm && [[ $c == sleep ]]; do sleep 0.01; done & exec sleep 600";

/** A zombie: a process that has exited and that its parent has not reaped. */
export async function zombie(): Promise<Subject> {
  const maker = spawn("bash", ["-c", ZOMBIE_MAKER], { stdio: "ignore" });
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    for (const name of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields[0] === "Z" && fields[1] === String(maker.pid)) {
          return { pid: Number(name), starttime: fields[19], stop: () => kill(maker) };
        }
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await kill(maker);
  throw new Error("no zombie appeared within 10 s");
}

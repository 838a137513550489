/**
 * What the tests share: temporary rundirs, the paths of the probes and of
 * fixtures in the suite's own language (.ts from source, .js in the npm
 * build), the location variables, copies another user can reach, and the
 * command that runs a script on the runtime running the suite. The
 * processes tests start are in `_subjects.ts`.
 *
 * @module
 */
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
import { extension, isDeno } from "./_env.ts";

/** The root of the tree the suite runs in (the checkout, or the npm build), with a final `/`. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** `probe.sh`. */
export const PROBE_SH: string = `${ROOT}probe.sh`;

/** The `liveness-probe` command's module, in the suite's language. */
export const PROBE_CLI: string = `${ROOT}src/probe_cli${extension}`;

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
  return isDeno ? [process.execPath, ["run", "--allow-all", script]] : [process.execPath, [script]];
}

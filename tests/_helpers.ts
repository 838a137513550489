/**
 * What the tests share: temporary rundirs, fixtures in the suite's own
 * language (.ts from source, .js in the npm build) and child processes of
 * the runtime running the suite.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** `.ts` when the suite runs from source, `.js` when it runs from the npm build. */
const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";

/** The path of `tests/fixtures/<name>` in the suite's language. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}${extension}`, import.meta.url));
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

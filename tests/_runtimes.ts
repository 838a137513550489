/**
 * The three runtimes as child processes: the suite runs under one of them
 * and races or compares all three.
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** A runtime the suite starts programs on. */
export type RuntimeName = "deno" | "bun" | "node";

/** `node_modules/.bin` of the checkout (the suite may run from `npm/tests/`). */
function binDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== "/"; dir = dirname(dir)) {
    const bin = join(dir, "node_modules", ".bin");
    if (existsSync(join(bin, "deno"))) return bin;
  }
  throw new Error("Cannot find node_modules/.bin/deno: run npm install first.");
}

/** The command line that runs `script` on `runtime`. */
export function commandFor(runtime: RuntimeName, script: string): [string, string[]] {
  switch (runtime) {
    case "deno":
      return [join(binDir(), "deno"), ["run", "--allow-all", script]];
    case "bun":
      return [join(binDir(), "bun"), [script]];
    case "node":
      // The Node running the suite, else the current one from npm, which runs .ts files.
      return [
        "Deno" in globalThis || "Bun" in globalThis ? join(binDir(), "node") : process.execPath,
        [script],
      ];
  }
}

/** A line-oriented child: send a command, wait for a line that matches. */
export class LineChild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiters: (() => void)[] = [];
  #stderr = "";
  #exited = false;

  constructor(runtime: RuntimeName, script: string, args: readonly string[] = []) {
    const [command, base] = commandFor(runtime, script);
    this.child = spawn(command, [...base, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let buffer = "";
    this.child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      this.#lines.push(...lines);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.child.stderr.on("data", (chunk) => {
      this.#stderr += chunk;
      process.stderr.write(chunk);
    });
    this.child.on("exit", () => {
      this.#exited = true;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** What the child wrote to standard error so far (also passed on to this process's). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends one line. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next line that `accept` takes (earlier ones are dropped), within `ms`. */
  async next(accept: (line: string) => boolean, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.#lines.findIndex(accept);
      if (index >= 0) return this.#lines.splice(0, index + 1).at(-1)!;
      if (this.#exited) throw new Error(`the child exited (code ${this.child.exitCode})`);
      if (Date.now() > deadline) throw new Error("no answer from the child in time");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /**
   * Sends `signal` to the child. Not `child.kill()`: Deno's `node:child_process`
   * then reports that signal as the child's end, whatever its exit code was.
   */
  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void {
    process.kill(this.child.pid!, signal);
  }

  /** The child's exit code (`null` when a signal ended it). */
  exited(): Promise<number | null> {
    if (this.#exited) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** Ends the child and waits for it. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.child.on("exit", resolve));
    this.child.kill("SIGKILL");
    await exited;
  }
}

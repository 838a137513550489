/**
 * Runs the test suite or a check as a child process, shows its output as it
 * comes, and counts the result: a suite by the runner's own summary, a check
 * (a linter, a package check) as one test by its exit status.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";

/** The outcome of one run. */
export interface SuiteResult {
  /** What ran, for example `deno` or `node 20.20.2 (npm build)`. */
  readonly label: string;
  readonly passed: number;
  readonly failed: number;
  /** Tests that did not run, each saying why in the runner's output. */
  readonly skipped?: number;
}

/** Where to run a command, and what to add to its environment. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** How each runner ends its output. */
/** How each runner ends its output: passed, failed, skipped. */
const SUMMARIES = {
  deno: [/(\d+) passed/g, /(\d+) failed/g, /(\d+) ignored/g],
  bun: [/^\s*(\d+) pass$/gm, /^\s*(\d+) fail$/gm, /^\s*(\d+) skip$/gm],
  node: [/^\S* ?pass (\d+)$/gm, /^\S* ?fail (\d+)$/gm, /^\S* ?skipped (\d+)$/gm],
} as const;

/** Strips terminal colour codes. */
export function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Runs a command, echoing its output; resolves to its exit status and output. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ status: number | null; output: string }> {
  console.log(`\n$ ${[command, ...args].join(" ")}`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
    process.stderr.write(chunk);
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  return { status, output: plain(output) };
}

/**
 * Runs a test suite and reads the counts from the runner's last summary. A
 * run without a summary, or one that fails with no failed test, counts one
 * failure more.
 */
export async function runSuite(
  label: string,
  runner: keyof typeof SUMMARIES,
  command: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<SuiteResult> {
  console.log(`\n=== ${label}`);
  const { status, output } = await run(command, args, options);
  const [passed, failed, skipped = 0] = SUMMARIES[runner].map((pattern) => {
    const last = [...output.matchAll(pattern)].at(-1);
    return last ? Number(last[1]) : undefined;
  });
  if (passed === undefined || failed === undefined) {
    console.log(`${label}: no test summary (exit ${status}); counted as one failure`);
    return { label, passed: passed ?? 0, failed: (failed ?? 0) + 1, skipped };
  }
  if (status !== 0 && failed === 0) {
    console.log(`${label}: exit ${status} with no failed test; counted as one failure`);
    return { label, passed, failed: 1, skipped };
  }
  return { label, passed, failed, skipped };
}

/**
 * Runs a check and counts it as one test: passed when it exits 0 and, if
 * given, `clean` accepts its output.
 */
export async function runGate(
  label: string,
  command: string,
  args: readonly string[],
  options: RunOptions & { clean?: (output: string) => boolean } = {},
): Promise<SuiteResult> {
  const { status, output } = await run(command, args, options);
  const ok = status === 0 && (options.clean?.(output) ?? true);
  console.log(`${label}: ${ok ? "ok" : `FAILED (exit ${status})`}`);
  return { label, passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
}

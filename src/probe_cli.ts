/**
 * The `liveness-probe` command: `probe()` for a Kubernetes exec probe, a
 * Docker `HEALTHCHECK` or a shell. It prints one short line saying why
 * (Kubernetes shows it in the pod's events) and exits 0 when the unit is
 * healthy, 1 when it is not, on bad usage (Docker reserves 2) and when the
 * line cannot be written. It gives the same verdicts and lines as
 * `probe.sh`, which needs no runtime.
 *
 * ```sh
 * liveness-probe [--unit NAME] [--rundir DIR] [--ready] [--max-age AGE]   # the npm package's bin
 * bun node_modules/@cic/liveness/src/probe_cli.js --unit api
 * deno run --allow-all jsr:@cic/liveness/probe --unit api
 * npm run --silent probe -- --unit api             # in this repository
 * ```
 *
 * Deno needs `--allow-all`: reading `/proc/<pid>/stat` and `status` (is the
 * pid alive, a thread, a zombie, the same process?) is refused to any
 * narrower grant, and the probe also reads the environment
 * (`$LIVENESS_UNIT_NAME`, ...), the host name and the state files.
 *
 * Run as a program (this module its main module), it probes and exits at
 * once with the code. A bundler that puts this module into another
 * program's bundle makes it part of that program's main module: import
 * {@linkcode main} from it unbundled, or bundle it only as the command.
 *
 * An argument a usage message shows is shown byte by byte, as the kernel
 * passed it (from `/proc/self/cmdline`): each byte outside printable ASCII
 * is one `?`, as `probe.sh` shows it, although the runtimes hand the
 * program U+FFFD for bytes that are not UTF-8.
 *
 * @module
 */
import { helpText, parseCommandLine } from "./_flags.ts";
import { type OptionNames, probeUnit, probeUnitAsync } from "./_probe.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import { ownCommandLine } from "./runtime/_read.ts";
import { runtime } from "./runtime/_current.ts";
import { printable } from "./_verdict.ts";

/** The command's name in its help. */
const NAME = "liveness-probe";
/** In reasons, options come from flags. */
const FLAGS: OptionNames = { unit: "--unit", rundir: "--rundir" };
/** How much of an argument a usage error shows. */
const SHOWN_BYTES = 64;

/**
 * Runs the command with `args` (the arguments after the script): writes its
 * line (or the help) with `write` and returns the exit code: `0` when the
 * unit is healthy or for `--help`, `1` otherwise, also when `write` throws
 * (a closed pipe, a full disk).
 *
 * @example Probe a unit that has not started
 * ```ts
 * import { main } from "@cic/liveness/probe";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * let output = "";
 * const code = main(["--unit", "api", "--rundir", rundir], (text) => output += text);
 * assert.equal(code, 1);
 * assert.equal(output, `unit api: no pid file at ${rundir}/api/pid (no directory ${rundir}/api)\n`);
 *
 * assert.equal(main(["--verbose"], (text) => output = text), 1);
 * assert.equal(output, "bad usage: unknown option '--verbose' (try --help)\n");
 * ```
 */
export function main(
  args: readonly string[],
  write: (text: string) => void = runtime.writeOut,
): number {
  const parsed = parse(args);
  return say(write, "line" in parsed ? parsed.line : probeUnit(runtime, parsed, FLAGS));
}

/**
 * {@linkcode main}, with no open that can block: on Deno the reads run
 * under a deadline. What the command runs. An open abandoned at its
 * deadline (a FIFO, a lease) stays blocked and keeps the process up until
 * it ends: the command exits at once, and a program that calls this should
 * too.
 *
 * @example
 * ```ts
 * import { mainAsync } from "@cic/liveness/probe";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * let output = "";
 * assert.equal(await mainAsync(["--unit", "api", "--rundir", rundir], (text) => output += text), 1);
 * assert.equal(output, `unit api: no pid file at ${rundir}/api/pid (no directory ${rundir}/api)\n`);
 * ```
 */
export async function mainAsync(
  args: readonly string[],
  write: (text: string) => void = runtime.writeOut,
): Promise<number> {
  const parsed = parse(args);
  return say(write, "line" in parsed ? parsed.line : await probeUnitAsync(runtime, parsed, FLAGS));
}

type Said = { readonly healthy: boolean; readonly reason: string };

/** The options to probe with, or the line to say instead (the help, a usage error). */
function parse(args: readonly string[]) {
  const parsed = parseCommandLine(args, (index, text) => shown(runtime, args, index, text));
  if (parsed === "help") return { line: { healthy: true, reason: helpText(NAME).slice(0, -1) } };
  if ("problem" in parsed) {
    return { line: { healthy: false, reason: `bad usage: ${parsed.problem} (try --help)` } };
  }
  return parsed;
}

/** Writes the line; 0 only when healthy and written. */
function say(write: (text: string) => void, { healthy, reason }: Said): number {
  try {
    write(`${reason}\n`);
  } catch {
    return 1;
  }
  return healthy ? 0 : 1;
}

/**
 * Argument `index` of `args` as a usage message shows it (`text`: the part
 * shown). Where the runtime put U+FFFD, the bytes come from
 * `/proc/self/cmdline`, so that each byte that is not UTF-8 is one `?`.
 */
function shown(runtime: Runtime, args: readonly string[], index: number, text: string): string {
  if (!text.includes("\uFFFD")) return printable(text, SHOWN_BYTES);
  // Without /proc, each U+FFFD shows as its three bytes.
  const raw = ownCommandLine(runtime) ?? [];
  const bytes = raw[raw.length - args.length + index];
  // `text` is the whole argument or its part before `=`.
  const picked = text === args[index] ? bytes : bytes?.split("=")[0];
  if (picked === undefined) return printable(text, SHOWN_BYTES);
  return picked.replace(/[^\x20-\x7e]/g, "?").slice(0, SHOWN_BYTES);
}

if (runtime.isMain(import.meta)) {
  // Only Deno needs the asynchronous reads (its opens may block).
  const args = runtime.args();
  const code = runtime.readHeadAsync ? await mainAsync(args) : main(args);
  // Now, not when the event loop empties: an open abandoned past its deadline
  // would hold the process, and Deno's own shutdown costs about what a probe does.
  runtime.exit(code);
}

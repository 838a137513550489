/**
 * The `liveness-probe` command: `probe()` for a Kubernetes exec probe, a
 * Docker `HEALTHCHECK` or a shell. It prints one short line saying why
 * (Kubernetes shows it in the pod's events) and exits 0 when the unit is
 * healthy, 1 when it is not and on bad usage (Docker reserves 2). It gives
 * the same verdicts and lines as `probe.sh`, which needs no runtime.
 *
 * ```sh
 * liveness-probe [--unit NAME] [--rundir DIR]      # the npm package's bin
 * bun node_modules/@cic/liveness/src/probe_cli.js --unit api
 * deno run --allow-all jsr:@cic/liveness/probe --unit api
 * deno task probe --unit api                       # in this repository
 * ```
 *
 * Deno needs `--allow-all`: reading `/proc/<pid>/stat` and `status` (is the
 * pid alive, a thread, a zombie, the same process?) is refused to any
 * narrower grant, and the probe also reads the environment
 * (`$LIVENESS_UNIT_NAME`, ...), the host name and the state files.
 *
 * @module
 */
import { type OptionNames, printable, type ProbeOptions, probeUnit } from "./_probe.ts";
import { runtime } from "./_runtime_current.ts";

/** The command's name in its help. */
const NAME = "liveness-probe";
/** In reasons, options come from flags. */
const FLAGS: OptionNames = { unit: "--unit", rundir: "--rundir" };
/** How much of an argument a usage error shows. */
const SHOWN_BYTES = 64;

/**
 * Runs the command with `args` (the arguments after the script): writes its
 * line (or the help) with `write` and returns the exit code, `0` when the
 * unit is healthy or for `--help`, `1` otherwise.
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
 * assert.equal(output, "unit api: no pid file\n");
 *
 * assert.equal(main(["--verbose"], (text) => output = text), 1);
 * assert.equal(output, "bad usage: unknown option '--verbose' (try --help)\n");
 * ```
 */
export function main(
  args: readonly string[],
  write: (text: string) => void = runtime.writeOut,
): number {
  const parsed = parseCommandLine(args);
  if (parsed === "help") {
    write(HELP);
    return 0;
  }
  if (typeof parsed === "string") {
    write(`bad usage: ${parsed} (try --help)\n`);
    return 1;
  }
  try {
    const { healthy, reason } = probeUnit(runtime, parsed, FLAGS);
    write(`${reason}\n`);
    return healthy ? 0 : 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    write(`probe failed: ${printable(message.split("\n")[0], 200)}\n`);
    return 1;
  }
}

const HELP = `Usage: ${NAME} [--unit NAME] [--rundir DIR]

Tells whether the unit whose state is in <rundir>/<unit>/ is alive and
healthy. Prints one line saying why; exits 0 when healthy, 1 when not.

  --unit NAME   the unit (default: $LIVENESS_UNIT_NAME, $CIC_UNIT, the host name)
  --rundir DIR  the absolute directory of unit directories
                (default: $LIVENESS_RUNDIR, $CIC_RUNDIR, /run)
  -h, --help    print this help and exit
`;

/**
 * The options, `"help"`, or what is wrong with `args`, read left to right as
 * `probe.sh` reads them: the first `--help` or problem ends the reading, and
 * a later flag wins over an earlier one. An option's value may start with
 * `-`, as in bash's `unit=$2`.
 */
function parseCommandLine(args: readonly string[]): ProbeOptions | "help" | string {
  const options: { unit?: string; rundir?: string } = {};
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const [flag, value] = splitFlag(arg);
    if (arg === "-h" || arg === "--help") return "help";
    if (flag === "--help") return "--help takes no value";
    if (flag === "--unit" || flag === "--rundir") {
      const given = value ?? args[++index];
      if (given === undefined) return `${flag} needs a value`;
      options[flag === "--unit" ? "unit" : "rundir"] = given;
    } else if (arg === "--") {
      const next = args[index + 1];
      return next === undefined ? options : `unexpected argument '${printable(next, SHOWN_BYTES)}'`;
    } else if (arg.length > 1 && arg.startsWith("-")) {
      return `unknown option '${printable(arg.split("=")[0], SHOWN_BYTES)}'`;
    } else {
      return `unexpected argument '${printable(arg, SHOWN_BYTES)}'`;
    }
  }
  return options;
}

/** `--unit=api` to `["--unit", "api"]`; anything else to `[arg]`. */
function splitFlag(arg: string): [string, string?] {
  const equals = arg.indexOf("=");
  return arg.startsWith("--") && equals > 2 ? [arg.slice(0, equals), arg.slice(equals + 1)] : [arg];
}

if (runtime.isMain(import.meta)) runtime.setExitCode(main(runtime.args()));

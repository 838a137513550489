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
import { realpathSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
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
  write: (text: string) => void = (text) => process.stdout.write(text),
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
 * a later flag wins over an earlier one.
 */
function parseCommandLine(args: readonly string[]): ProbeOptions | "help" | string {
  // Not strict: every problem is reported in the probe's own words, and an
  // option's value may start with "-", as in bash's `unit=$2`.
  const { tokens } = parseArgs({
    args: [...args],
    options: {
      unit: { type: "string" },
      rundir: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options: { unit?: string; rundir?: string } = {};
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      return `unexpected argument '${printable(token.value, SHOWN_BYTES)}'`;
    }
    // What was typed: parseArgs splits "-hx" into -h and -x, bash does not.
    const raw = args[token.index];
    if (token.name === "help" && (raw === "--help" || raw === "-h")) return "help";
    if (token.name === "help" && raw.startsWith("--help=")) return "--help takes no value";
    if ((token.name === "unit" || token.name === "rundir") && raw.startsWith("--")) {
      if (token.value === undefined) return `--${token.name} needs a value`;
      options[token.name] = token.value;
      continue;
    }
    return `unknown option '${printable(raw.split("=")[0], SHOWN_BYTES)}'`;
  }
  return options;
}

/**
 * Whether this module is the program's main script: Deno, Bun and Node 24
 * say so in `import.meta.main`; on Node 20 compare with the script's real
 * path (the npm bin is a symbolic link to this file).
 */
function isMain(): boolean {
  const { main } = import.meta as { main?: boolean };
  if (typeof main === "boolean") return main;
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = main(process.argv.slice(2));

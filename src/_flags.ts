/**
 * The probe commands' flags, in one table: the parser, the help and the
 * tests read it, and `probe.sh` mirrors it (a test compares the two helps).
 *
 * @module
 */

/** One flag of the probe commands. */
export interface Flag {
  /** The long name, `--unit`. */
  readonly name: string;
  /** The short name, if any: `-h`. */
  readonly short?: string;
  /** What its value is called in the help; absent for a flag without a value. */
  readonly value?: string;
  /** The help's lines for it, after the name. */
  readonly help: readonly string[];
}

/** Every flag, in the order of the usage line and the help. */
export const FLAGS: readonly Flag[] = [
  {
    name: "--unit",
    value: "NAME",
    help: ["the unit (default: $LIVENESS_UNIT_NAME, $CIC_UNIT, the host name)"],
  },
  {
    name: "--rundir",
    value: "DIR",
    help: [
      "the absolute directory of unit directories",
      "(default: $LIVENESS_RUNDIR, $CIC_RUNDIR, /run)",
    ],
  },
  { name: "--ready", help: ["healthy only when the unit is also ready"] },
  {
    name: "--max-age",
    value: "AGE",
    help: [
      "the oldest heartbeat that counts, in seconds (10, 2.5)",
      "or with a unit (10s, 500ms) (default: the program's own)",
    ],
  },
  { name: "--help", short: "-h", help: ["print this help and exit"] },
];

/** What the command line asks for. */
export interface CommandLine {
  unit?: string;
  rundir?: string;
  ready?: boolean;
  /** In milliseconds. */
  maxAge?: number;
}

/**
 * A `--max-age` value: seconds with at most 3 decimals, bare or followed by
 * `s`, or whole milliseconds followed by `ms`; both with few enough digits
 * for bash (at most 999999999.999 s).
 */
const SECONDS = /^(0|[1-9][0-9]{0,8})(?:\.([0-9]{1,3}))?s?$/;
/** See {@linkcode SECONDS}. */
const MILLISECONDS = /^(0|[1-9][0-9]{0,11})ms$/;

/**
 * A `--max-age` value in milliseconds: `"2.5"` or `"2.5s"` as `2500`,
 * `"500ms"` as `500`; `undefined` unless a positive age.
 */
export function parseMaxAge(text: string): number | undefined {
  const ms = MILLISECONDS.exec(text);
  const seconds = ms ? undefined : SECONDS.exec(text);
  const age = ms
    ? Number(ms[1])
    : seconds
    ? Number(seconds[1]) * 1000 + Number((seconds[2] ?? "").padEnd(3, "0"))
    : 0;
  return age > 0 ? age : undefined;
}

/** What `--max-age` takes, for a usage error. */
const MAX_AGE_USAGE = "--max-age takes an age such as 10 (seconds), 2.5s or 500ms";

/** The help of the command called `name`. */
export function helpText(name: string): string {
  const usage = FLAGS.filter((flag) => !flag.short)
    .map((flag) => `[${flag.name}${flag.value ? ` ${flag.value}` : ""}]`).join(" ");
  const heads = FLAGS.map((flag) =>
    `${flag.short ? `${flag.short}, ` : ""}${flag.name}${flag.value ? ` ${flag.value}` : ""}`
  );
  const width = Math.max(...heads.map((head) => head.length)) + 2;
  const lines = FLAGS.flatMap((flag, index) =>
    flag.help.map((line, at) =>
      `  ${(at === 0 ? heads[index] : "").padEnd(width)}${line}`.trimEnd()
    )
  );
  return [
    `Usage: ${name} ${usage}`,
    "",
    "Tells whether the unit whose state is in <rundir>/<unit>/ is alive and",
    "healthy (with --ready: and ready). Prints one line saying why; exits 0",
    "when healthy, 1 when not.",
    "",
    ...lines,
    "",
  ].join("\n");
}

/**
 * Reads `args` left to right, as `probe.sh` does: the first `--help` or
 * problem ends the reading, and a later flag wins over an earlier one. A
 * value may start with `-`, as in bash's `unit=$2`. Returns the options,
 * `"help"`, or `{ problem }` where `show(index)` gives argument `index` as
 * a usage message shows it.
 */
export function parseCommandLine(
  args: readonly string[],
  show: (index: number, text: string) => string,
): CommandLine | "help" | { problem: string } {
  const options: CommandLine = {};
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = equals > 2 ? arg.slice(0, equals) : arg;
    const flag = FLAGS.find((flag) => flag.name === name || flag.short === name);
    if (arg === "--") {
      return index + 1 < args.length
        ? { problem: `unexpected argument '${show(index + 1, args[index + 1])}'` }
        : options;
    }
    if (flag === undefined) {
      return arg.length > 1 && arg.startsWith("-")
        ? { problem: `unknown option '${show(index, arg.split("=")[0])}'` }
        : { problem: `unexpected argument '${show(index, arg)}'` };
    }
    if (!flag.value) {
      if (equals > 2) return { problem: `${flag.name} takes no value` };
      if (flag.name === "--help") return "help";
      options.ready = true;
      continue;
    }
    const value = equals > 2 ? arg.slice(equals + 1) : args[++index];
    if (value === undefined) return { problem: `${flag.name} needs a value` };
    if (flag.name === "--max-age") {
      const ms = parseMaxAge(value);
      if (ms === undefined) return { problem: MAX_AGE_USAGE };
      options.maxAge = ms;
    } else {
      options[flag.name === "--unit" ? "unit" : "rundir"] = value;
    }
  }
  return options;
}

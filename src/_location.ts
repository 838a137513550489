/**
 * Where a unit's state lives: `<rundir>/<unit>`, from the options, the
 * environment or the defaults, in the same order for the library and the
 * probes.
 *
 * @module
 */
import { LocationError } from "./errors.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import type { LocationOptions } from "./types.ts";

/** A resolved, validated location: the state lives in `dir`. */
export interface Location {
  /** The unit's name. */
  readonly unit: string;
  /** The directory that holds unit directories. */
  readonly rundir: string;
  /** `<rundir>/<unit>`: the directory that holds the unit's state files. */
  readonly dir: string;
}

/** The environment variables read for the unit, first match wins. */
export const UNIT_VARIABLES = ["LIVENESS_UNIT_NAME", "CIC_UNIT"] as const;
/** The environment variables read for the rundir, first match wins. */
export const RUNDIR_VARIABLES = ["LIVENESS_RUNDIR", "CIC_RUNDIR"] as const;
/** The rundir when neither an option nor a variable names one. */
export const DEFAULT_RUNDIR = "/run";

const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();
/**
 * U+FFFD, what the runtimes make of bytes that are not UTF-8 (so the name
 * on disk may be another), or a lone surrogate, which no UTF-8 spells. The
 * range is `\p{Cs}`, without the Unicode property tables a probe would load.
 */
const NOT_UTF8 = /[\uD800-\uDFFF\uFFFD]/u;
const NOT_UTF8_PROBLEM = "is not valid UTF-8";
/** A `.` or `..` segment: `/run/../etc` would lead out of the directory named. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Throws a `TypeError` unless `unit` is a usable directory name. */
export function validateUnit(unit: unknown, source: string): string {
  const problem = typeof unit !== "string"
    ? `must be a string, got ${typeof unit}`
    : unit === ""
    ? "is empty"
    : NOT_UTF8.test(unit)
    ? NOT_UTF8_PROBLEM
    : unit.includes("/")
    ? "contains '/'"
    : unit.includes("\0")
    ? "contains a NUL byte"
    : unit.startsWith(".")
    ? "starts with '.'"
    : encoder.encode(unit).length > MAX_NAME_BYTES
    ? `is longer than ${MAX_NAME_BYTES} bytes`
    : undefined;
  if (problem === undefined) return unit as string;
  throw new LocationError("unit name", source, unit, problem);
}

/**
 * Throws a `TypeError` unless `rundir` is an absolute directory path without
 * `.` or `..` segments.
 */
export function validateRundir(rundir: unknown, source: string): string {
  const problem = typeof rundir !== "string"
    ? `must be a string, got ${typeof rundir}`
    : NOT_UTF8.test(rundir)
    ? NOT_UTF8_PROBLEM
    : !rundir.startsWith("/")
    ? "is not an absolute path (the probe runs in another working directory)"
    : rundir.includes("\0")
    ? "contains a NUL byte"
    : DOT_SEGMENT.test(rundir)
    ? "contains a '.' or '..' segment"
    : undefined;
  if (problem === undefined) return rundir as string;
  throw new LocationError("rundir", source, rundir, problem);
}

/**
 * Resolves and validates the location: each value from its option, else the
 * first non-empty variable, else the default. Reads the environment and the
 * host name only when needed.
 */
export function resolveLocation(
  runtime: Runtime,
  options: LocationOptions = {},
): Location {
  const unit = options.unit !== undefined
    ? validateUnit(options.unit, "options.unit")
    : fromEnvironment(runtime, UNIT_VARIABLES, validateUnit) ??
      validateUnit(runtime.hostname(), "the host name");
  const rundir = options.rundir !== undefined
    ? validateRundir(options.rundir, "options.rundir")
    : fromEnvironment(runtime, RUNDIR_VARIABLES, validateRundir) ??
      DEFAULT_RUNDIR;
  return { unit, rundir, dir: `${trimTrailingSlashes(rundir)}/${unit}` };
}

/** `path` without its trailing slashes. Not a regex: `/\/+$/` takes quadratic time on a long run of them. */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

function fromEnvironment(
  runtime: Runtime,
  names: readonly string[],
  validate: (value: unknown, source: string) => string,
): string | undefined {
  for (const name of names) {
    const value = readVariable(runtime, name);
    if (value) return validate(value, `$${name}`);
  }
  return undefined;
}

/**
 * A variable, with U+FFFD standing for a value that is not UTF-8 where the
 * runtime refuses it (Deno's `InvalidData`) rather than decoding each bad
 * byte to U+FFFD as Node and Bun do: the same problem either way.
 */
function readVariable(runtime: Runtime, name: string): string | undefined {
  try {
    return runtime.env(name);
  } catch (error) {
    if ((error as { name?: unknown }).name === "InvalidData") return "\uFFFD";
    throw error;
  }
}

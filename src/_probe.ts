/**
 * The probe's verdict on a given {@linkcode Runtime}. `probe()` runs it on the
 * current runtime, the `liveness-probe` command too (naming its flags in
 * reasons), and `probe.sh` says the same, line for line: keep them in step
 * (`tests/probe_cases.json` runs both).
 *
 * @module
 */
import {
  type Location,
  LocationError,
  type LocationOptions,
  resolveLocation,
} from "./_location.ts";
import { type HeadReader, readPidMax, readProcessStat, readStatusTgid } from "./_proc.ts";
import type { FileHead, Runtime } from "./_runtime.ts";
import {
  ERROR_FILE,
  parseStateNumber,
  PID_FILE,
  STARTTIME_FILE,
  STATE_MAX_BYTES,
} from "./_state.ts";

/**
 * Which unit to probe, and under which directory: as for `load()`.
 *
 * @example
 * ```ts
 * import { probe, type ProbeOptions } from "@cic/liveness";
 *
 * const options: ProbeOptions = { unit: "api", rundir: await Deno.makeTempDir() };
 * console.log(probe(options).reason); // unit api: no pid file
 * ```
 */
export type ProbeOptions = LocationOptions;

/**
 * Which check decided a probe's verdict, in the order the checks run:
 *
 * - `"healthy"`: the pid file names a live process, its start time matches
 *   (where recorded), and the error is `0`.
 * - `"bad-location"`: the unit or the rundir is not valid; nothing was read.
 * - `"no-pid"`: there is no pid file: `load()` has not run, or `reset()` has.
 * - `"bad-pid"`: the pid file is not a regular file, cannot be read, is
 *   empty, is not a number or is out of the range of pids.
 * - `"not-running"`: no process has that pid.
 * - `"thread"`: that id is a thread of another process, not a process.
 * - `"zombie"`: that process has exited and nobody has reaped it.
 * - `"bad-starttime"`: the starttime file is there but does not hold a number.
 * - `"restarted"`: that pid belongs to a later process than the one that
 *   wrote the state (a new pid 1 after a container restart).
 * - `"no-error"`: there is no error file: `set()` has not run yet.
 * - `"bad-error"`: the error file is not a regular file, cannot be read, is
 *   empty or is not a number.
 * - `"unhealthy"`: the error code is not `0`.
 *
 * @example Tell a unit that has not started from one that failed
 * ```ts
 * import { probe, type ProbeStatus } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const starting: readonly ProbeStatus[] = ["no-pid", "no-error"];
 * const { status } = probe({ unit: "api", rundir: await Deno.makeTempDir() });
 * assert.ok(starting.includes(status));
 * ```
 */
export type ProbeStatus =
  | "healthy"
  | "bad-location"
  | "no-pid"
  | "bad-pid"
  | "not-running"
  | "thread"
  | "zombie"
  | "bad-starttime"
  | "restarted"
  | "no-error"
  | "bad-error"
  | "unhealthy";

/**
 * The probe's verdict: a status for programs, a line for people.
 *
 * @example
 * ```ts
 * import { probe, type ProbeResult } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const result: ProbeResult = probe({ unit: "api", rundir: await Deno.makeTempDir() });
 * assert.deepEqual([result.healthy, result.status], [false, "no-pid"]);
 * ```
 */
export interface ProbeResult {
  /** `true` exactly when `status` is `"healthy"`. */
  readonly healthy: boolean;
  /** Which check decided: see {@linkcode ProbeStatus}. */
  readonly status: ProbeStatus;
  /**
   * One short line saying why, as the probe commands print it, for example
   * `unit api: healthy (pid 1)` or `unit api: error 3`. Bytes of the unit
   * outside printable ASCII show as `?`.
   */
  readonly reason: string;
  /** The unit probed; absent when the location was not valid. */
  readonly unit?: string;
  /** `<rundir>/<unit>`, where the state was read; absent when the location was not valid. */
  readonly dir?: string;
  /** The pid from the pid file, once it held a valid one. */
  readonly pid?: number;
  /** The error code from the error file, once it held a number that is a safe integer. */
  readonly error?: number;
}

/** How a reason names the source of each option: `options.unit`, or `--unit` on the command line. */
export interface OptionNames {
  /** The name of the unit option. */
  readonly unit: string;
  /** The name of the rundir option. */
  readonly rundir: string;
}

const API_NAMES: OptionNames = { unit: "options.unit", rundir: "options.rundir" };

/** Probes the unit the options name, on `runtime`. */
export function probeUnit(
  runtime: Runtime,
  options: ProbeOptions = {},
  names: OptionNames = API_NAMES,
): ProbeResult {
  let location: Location;
  try {
    location = resolveLocation(runtime, options);
  } catch (error) {
    if (!(error instanceof LocationError)) throw error;
    return { healthy: false, status: "bad-location", reason: locationReason(error, names) };
  }
  const { unit, dir } = location;
  const verdict = judge(runtime, dir);
  return {
    ...verdict,
    healthy: verdict.status === "healthy",
    reason: `unit ${printable(unit)}: ${verdict.reason}`,
    unit,
    dir,
  };
}

type Verdict = Pick<ProbeResult, "status" | "reason" | "pid" | "error">;

/** The checks, in order; the first that fails gives the verdict. */
function judge(runtime: Runtime, dir: string): Verdict {
  const pidText = readNumber(runtime, dir, PID_FILE, false);
  if (pidText === undefined) return { status: "no-pid", reason: "no pid file" };
  if (typeof pidText !== "string") return { status: "bad-pid", reason: pidText.problem };
  const limit = readPidMax(runtime) - 1;
  const pid = Number(pidText);
  if (pid < 1 || pid > limit) {
    return { status: "bad-pid", reason: `pid ${pidText} is out of range (1 to ${limit})` };
  }

  const read: HeadReader = (path, maxBytes) => look(runtime, path, maxBytes);
  const tgid = readStatusTgid(runtime, pid, read);
  if (tgid === undefined) {
    return { status: "not-running", reason: `pid ${pid} is not running`, pid };
  }
  if (tgid !== pid) {
    return { status: "thread", reason: `pid ${pid} is a thread of process ${tgid}`, pid };
  }
  const stat = readProcessStat(runtime, pid, read);
  if (stat === undefined) {
    return { status: "not-running", reason: `pid ${pid} is not running`, pid };
  }
  if (stat.state === "Z" || stat.state === "X") {
    return { status: "zombie", reason: `pid ${pid} is a zombie`, pid };
  }

  // The seed wrote no starttime file: then the pid alone has to do.
  const starttime = readNumber(runtime, dir, STARTTIME_FILE, false);
  if (starttime !== undefined && typeof starttime !== "string") {
    return { status: "bad-starttime", reason: starttime.problem, pid };
  }
  if (starttime !== undefined && starttime !== stat.starttime) {
    return {
      status: "restarted",
      reason: `state is from an earlier process with pid ${pid}`,
      pid,
    };
  }

  const errorText = readNumber(runtime, dir, ERROR_FILE, true);
  if (errorText === undefined) return { status: "no-error", reason: "no error file", pid };
  if (typeof errorText !== "string") return { status: "bad-error", reason: errorText.problem, pid };
  const verdict: Verdict = errorText === "0"
    ? { status: "healthy", reason: `healthy (pid ${pid})`, pid }
    : { status: "unhealthy", reason: `error ${errorText}`, pid };
  const error = Number(errorText);
  return Number.isSafeInteger(error) ? { ...verdict, error } : verdict;
}

/**
 * The number in `<dir>/<name>` as text; `undefined` when there is no such
 * file; else what is wrong with it.
 */
function readNumber(
  runtime: Runtime,
  dir: string,
  name: string,
  signed: boolean,
): string | { problem: string } | undefined {
  const head = look(runtime, `${dir}/${name}`, STATE_MAX_BYTES);
  switch (head.kind) {
    case "missing":
      return undefined;
    case "unreadable":
      return { problem: `${name} file is not readable` };
    case "directory":
    case "other":
      return { problem: `${name} file is not a regular file` };
  }
  if (!head.truncated && (head.text === "" || head.text === "\n")) {
    return { problem: `${name} file is empty` };
  }
  const value = head.truncated ? undefined : parseStateNumber(head.text, signed);
  return value ?? { problem: `${name} file is not a number` };
}

/**
 * {@linkcode Runtime.readHead}, with the errors that mean "nothing usable
 * there" as verdicts, as bash's `[[ -e ]]` and `[[ -r ]]` see them:
 * `EACCES` and `EPERM` (also from a directory on the way that may not be
 * searched) make the file unreadable; `ENOENT`, `ENOTDIR`, `ELOOP`,
 * `ENAMETOOLONG` and `ESRCH` make it missing. Any other error (`EIO`,
 * `EMFILE`, Deno without `--allow-all`, ...) is thrown: the probe cannot
 * judge.
 */
function look(
  runtime: Runtime,
  path: string,
  maxBytes: number,
): FileHead | { readonly kind: "unreadable" } {
  try {
    return runtime.readHead(path, maxBytes);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EACCES" || code === "EPERM") return { kind: "unreadable" };
    // A file in the way of the path, a symlink loop, a process gone mid-read.
    if (
      code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" ||
      code === "ENAMETOOLONG" || code === "ESRCH"
    ) {
      return { kind: "missing" };
    }
    throw error;
  }
}

/** `invalid unit name from $CIC_UNIT: contains '/'`, naming options as the caller does. */
function locationReason({ what, source, problem }: LocationError, names: OptionNames): string {
  const named = source === API_NAMES.unit
    ? names.unit
    : source === API_NAMES.rundir
    ? names.rundir
    : source;
  return `invalid ${what} from ${named}: ${problem}`;
}

const encoder = new TextEncoder();

/**
 * `text` safe for one line of a log: each UTF-8 byte outside printable ASCII
 * becomes `?` (as bash does it byte by byte, so both probes print the same),
 * and at most `maxBytes` are kept.
 */
export function printable(text: string, maxBytes = Infinity): string {
  let line = "";
  for (const byte of encoder.encode(text)) {
    if (line.length >= maxBytes) break;
    line += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : "?";
  }
  return line;
}

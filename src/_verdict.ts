/**
 * The verdict's vocabulary: every status, every reason line, and the checks
 * that need no I/O. The probes judge the state they read from files with
 * these; the owner judges the state it holds in memory with the same, so
 * that `probe()`, the commands, `probe.sh` (by the shared case table) and the
 * HTTP answers never say two things of one state.
 *
 * @module
 */

/**
 * Which check decided a probe's verdict, in the order the checks run (the
 * list of the checks is in the repository's `docs/probes.md`, "The verdict"):
 *
 * - `"healthy"`: the pid file names a live process, its start time matches
 *   (where recorded), the error is `0`, the heartbeat (where there is one)
 *   is fresh and, for a readiness probe, the unit is ready.
 * - `"bad-location"`: the unit or the rundir is not valid; nothing was read.
 * - `"no-pid"`: there is no pid file. The reason names the path looked at
 *   and which directory is missing, the unit's or the rundir (a wrong unit
 *   or rundir, or a unit never loaded there), or says that the unit's
 *   directory exists (`load()` has not written the pid yet, or `reset()`
 *   removed it).
 * - `"bad-pid"`: the pid file is a symbolic link, not a regular file, cannot
 *   be read, is empty, is not a number or is out of the range of pids.
 * - `"not-running"`: no process has that pid.
 * - `"thread"`: that id is a thread of another process, not a process.
 * - `"zombie"`: that process has exited and nobody has reaped it.
 * - `"bad-starttime"`: the starttime file is there but does not hold a number.
 * - `"restarted"`: that pid belongs to a later process than the one that
 *   wrote the state (a new pid 1 after a container restart).
 * - `"no-error"`: the unit is loaded (its pid is live) but has no error
 *   file: `set()` has not run yet.
 * - `"bad-error"`: the error file is not a regular file holding a number.
 * - `"unhealthy"`: the error code is not `0`.
 * - `"bad-heartbeat"`: the heartbeat file is there but is not valid.
 * - `"stale"`: the last heartbeat is older than the maximum age: the
 *   program's event loop (or its work, with manual beats) is stuck.
 * - `"bad-ready"`: (readiness probes) the ready file is not valid.
 * - `"not-ready"`: (readiness probes) the program said it is not ready.
 * - `"draining"`: (readiness probes) the program is shutting down.
 * - `"bad-member"`: the members file, or a member's file, is not valid
 *   (a member's other failures take the status of the same check on the
 *   unit: `"not-running"`, `"unhealthy"`, `"stale"`, ...).
 * - `"failed"`: the probe could not judge (a disk error, no file descriptor
 *   left, Deno without `--allow-all`): unhealthy, never healthy.
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
  | "unhealthy"
  | "bad-heartbeat"
  | "stale"
  | "bad-ready"
  | "not-ready"
  | "draining"
  | "bad-member"
  | "failed";

/** A check's finding: its status and its reason, without the `unit U: ` prefix. */
export interface Verdict {
  readonly status: ProbeStatus;
  readonly reason: string;
}

/**
 * What a probe found at a state file: nothing, something unusable (with the
 * words that say what: `is empty`, `is a symbolic link`, ...), or a value.
 */
export type Found<T> =
  | { readonly kind: "missing" }
  | { readonly kind: "problem"; readonly problem: string }
  | { readonly kind: "value"; readonly value: T };

/** The state files a verdict reads, by name. */
export const PID_FILE = "pid";
/** See {@linkcode PID_FILE}. */
export const STARTTIME_FILE = "starttime";
/** See {@linkcode PID_FILE}. */
export const ERROR_FILE = "error";
/** See {@linkcode PID_FILE}. */
export const HEARTBEAT_FILE = "heartbeat";
/** See {@linkcode PID_FILE}. */
export const READY_FILE = "ready";

/**
 * The most a probe reads of a state file: a pid, an error code or a start
 * time fits many times over, and a huge file costs nothing.
 */
export const STATE_MAX_BYTES = 32;

const UNSIGNED = /^(?:0|[1-9][0-9]*)$/;
const SIGNED = /^(?:0|-?[1-9][0-9]*)$/;

/**
 * The number in a state file's text, as the writers write it:
 * canonical decimal (no `+`, no leading zero, `-` only when `signed`) and at
 * most one trailing newline, which files written by hand may lack. Returns the digits
 * as text (an error code may exceed a safe integer; a start time is compared
 * as text), or `undefined` for anything else.
 */
export function parseStateNumber(text: string, signed: boolean): string | undefined {
  const value = text.endsWith("\n") ? text.slice(0, -1) : text;
  return (signed ? SIGNED : UNSIGNED).test(value) ? value : undefined;
}

/** `pid file is empty`: the line for a state file that is there but unusable. */
export function fileProblem(name: string, problem: string): string {
  return `${name} file ${problem}`;
}

/** `10000` ms as `10`, `1500` as `1.5`, `250` as `0.25`: seconds, as few decimals as needed. */
export function formatSeconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const fraction = String(ms % 1000).padStart(3, "0").replace(/0+$/, "");
  return fraction === "" ? String(whole) : `${whole}.${fraction}`;
}

/**
 * `age` ms in seconds with the decimals `limit` shows ({@linkcode formatSeconds}),
 * rounded up: above `limit` whenever `age` is.
 */
function formatAge(age: number, limit: number): string {
  const decimals = formatSeconds(limit).split(".")[1]?.length ?? 0;
  const step = 10 ** (3 - decimals);
  return formatSeconds(Math.ceil(age / step) * step);
}

/** The line of a verdict on `unit`: `unit api: error 3`. */
export function unitReason(unit: string, verdict: Verdict): string {
  return `unit ${printable(unit)}: ${verdict.reason}`;
}

/** The probe could not judge: `probe failed: too many open files`. */
export function failedVerdict(problem: string): Verdict {
  return { status: "failed", reason: `probe failed: ${printable(problem, 200)}` };
}

// --- pid, process, starttime ---------------------------------------------

/**
 * `no pid file at /run/api/pid (no directory /run/api)`: the path tells a
 * wrong rundir from a wrong unit, and what is missing tells a unit never
 * loaded there from one not loaded now. `dir` is the unit's directory,
 * `<rundir>/<unit>`; `missing` is the directory that is not there (`dir`,
 * or the rundir), `undefined` when `dir` is.
 */
export function noPidVerdict(dir: string, missing: string | undefined): Verdict {
  const why = missing === undefined
    ? "the directory exists: not loaded"
    : `no directory ${printable(missing)}`;
  return { status: "no-pid", reason: `no pid file at ${printable(`${dir}/${PID_FILE}`)} (${why})` };
}

/**
 * Judges a pid file that is there. `found` holds the pid as canonical
 * decimal text, which may be far beyond a safe integer; `pidMax` is the
 * kernel's bound. A missing pid file is {@linkcode noPidVerdict}'s.
 */
export function judgePid(
  found: Exclude<Found<string>, { readonly kind: "missing" }>,
  pidMax: number,
): Verdict | undefined {
  if (found.kind === "problem") {
    return { status: "bad-pid", reason: fileProblem(PID_FILE, found.problem) };
  }
  const pid = Number(found.value);
  const limit = pidMax - 1;
  if (pid >= 1 && pid <= limit) return undefined;
  return { status: "bad-pid", reason: `pid ${found.value} is out of range (1 to ${limit})` };
}

/** What `/proc` says of a pid: no process, a thread of another, a zombie, or a live process. */
export type ProcessFacts =
  | { readonly kind: "not-running" }
  | { readonly kind: "thread"; readonly tgid: number }
  | { readonly kind: "zombie" }
  | { readonly kind: "running"; readonly starttime: string };

/** Judges whether the pid is a live process. */
export function judgeProcess(pid: number, facts: ProcessFacts): Verdict | undefined {
  switch (facts.kind) {
    case "not-running":
      return { status: "not-running", reason: `pid ${pid} is not running` };
    case "thread":
      return { status: "thread", reason: `pid ${pid} is a thread of process ${facts.tgid}` };
    case "zombie":
      return { status: "zombie", reason: `pid ${pid} is a zombie` };
  }
  return undefined;
}

/** Judges whether a start time, where recorded, is the live process's. */
export function judgeStarttime(
  pid: number,
  found: Found<string>,
  starttime: string,
): Verdict | undefined {
  switch (found.kind) {
    case "missing":
      return undefined;
    case "problem":
      return { status: "bad-starttime", reason: fileProblem(STARTTIME_FILE, found.problem) };
  }
  return found.value === starttime ? undefined : {
    status: "restarted",
    reason: `state is from an earlier process with pid ${pid}`,
  };
}

// --- error ---------------------------------------------------------------

/**
 * Judges the error code. `text` is the file's number as canonical decimal
 * text. It is read once the pid is live: no error file then means a unit
 * loaded whose program has not called `set()` yet.
 */
export function judgeError(found: Found<string>): Verdict | undefined {
  switch (found.kind) {
    case "missing":
      return { status: "no-error", reason: "not started: set(0) not called yet" };
    case "problem":
      return { status: "bad-error", reason: fileProblem(ERROR_FILE, found.problem) };
  }
  return found.value === "0" ? undefined : { status: "unhealthy", reason: `error ${found.value}` };
}

// --- heartbeat -----------------------------------------------------------

/** A beat: when (uptime, in centiseconds), the writer's maximum age, and the writer. */
export interface Heartbeat {
  /** `/proc/uptime` at the beat, in hundredths of a second. */
  readonly at: number;
  /** The writer's maximum age in milliseconds. */
  readonly maxAge: number;
  readonly pid: number;
  /** `undefined` where the writer could not read its start time (written as `-`). */
  readonly starttime: string | undefined;
}

const HEARTBEAT_LINE =
  /^(0|[1-9][0-9]{0,12})\.([0-9]{2}) ([1-9][0-9]{0,12}) ([1-9][0-9]{0,12}) (0|[1-9][0-9]{0,19}|-)\n?$/;

/**
 * The longest max age a heartbeat line holds, in milliseconds (about 316
 * years): 13 digits, as `parseHeartbeat()` and `probe.sh` read it.
 */
export const HEARTBEAT_MAX_AGE_LIMIT = 9_999_999_999_999;

/** The heartbeat file's line as the writer makes it (without the newline). */
export function formatHeartbeat(beat: Heartbeat): string {
  const seconds = Math.floor(beat.at / 100);
  const hundredths = String(beat.at % 100).padStart(2, "0");
  return `${seconds}.${hundredths} ${beat.maxAge} ${beat.pid} ${beat.starttime ?? "-"}`;
}

/** The most a probe reads of the heartbeat file: its longest valid line is 66 bytes. */
export const HEARTBEAT_MAX_BYTES = 128;

/** Parses a heartbeat line; `undefined` when it is not one. */
export function parseHeartbeat(text: string): Heartbeat | undefined {
  const match = HEARTBEAT_LINE.exec(text);
  if (!match) return undefined;
  return {
    at: Number(match[1]) * 100 + Number(match[2]),
    maxAge: Number(match[3]),
    pid: Number(match[4]),
    starttime: match[5] === "-" ? undefined : match[5],
  };
}

/** `/proc/uptime`'s first field (`12345.67`) in hundredths of a second. */
export function parseUptime(text: string): number | undefined {
  const match = /^(0|[1-9][0-9]{0,12})\.([0-9]{2})[ \n]/.exec(text);
  return match ? Number(match[1]) * 100 + Number(match[2]) : undefined;
}

/** The verdict on a heartbeat file that is there but not usable: `is empty`, `is not valid`, ... */
export function judgeHeartbeatFile(problem: string): Verdict {
  return { status: "bad-heartbeat", reason: fileProblem(HEARTBEAT_FILE, problem) };
}

/**
 * Judges the heartbeat's age, against `maxAge` (ms) when given, else the
 * writer's own. `now` is the uptime in hundredths of a second. A beat from
 * the future (another clock) is not valid.
 */
export function judgeHeartbeat(beat: Heartbeat, now: number, maxAge?: number): Verdict | undefined {
  const age = (now - beat.at) * 10;
  if (age < 0) return judgeHeartbeatFile("is from the future");
  return judgeAge(age, maxAge ?? beat.maxAge);
}

/**
 * Check 6 on an age: `age` ms since the last beat, against `maxAge` ms. The
 * age shows with the decimals of the maximum, rounded up: never
 * `2s (max 2s)` for an age of 2.01 s.
 */
export function judgeAge(age: number, maxAge: number): Verdict | undefined {
  if (age <= maxAge) return undefined;
  return {
    status: "stale",
    reason: `no heartbeat for ${formatAge(age, maxAge)}s (max ${formatSeconds(maxAge)}s)`,
  };
}

// --- readiness -----------------------------------------------------------

/** What the program said of its readiness. */
export type Readiness =
  | { readonly state: "ready" }
  | { readonly state: "not-ready"; readonly reason?: string }
  | { readonly state: "draining" };

/** The most a probe reads of the ready file: a reason is a short phrase. */
export const READY_MAX_BYTES = 256;

/** The ready file's line as the writer makes it (without the newline). */
export function formatReadiness(readiness: Readiness): string {
  return readiness.state === "not-ready" && readiness.reason
    ? `not-ready ${readiness.reason}`
    : readiness.state;
}

/** Parses the ready file; `undefined` when it is not valid. */
export function parseReadiness(text: string): Readiness | undefined {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (line === "ready" || line === "draining") return { state: line };
  if (line === "not-ready") return { state: "not-ready" };
  if (line.startsWith("not-ready ") && !line.includes("\n")) {
    return { state: "not-ready", reason: line.slice("not-ready ".length) };
  }
  return undefined;
}

/** Judges readiness (readiness probes only): a missing ready file is ready (a writer that does not say). */
export function judgeReadiness(found: Found<Readiness>): Verdict | undefined {
  switch (found.kind) {
    case "missing":
      return undefined;
    case "problem":
      return { status: "bad-ready", reason: fileProblem(READY_FILE, found.problem) };
  }
  const readiness = found.value;
  switch (readiness.state) {
    case "ready":
      return undefined;
    case "draining":
      return { status: "draining", reason: "draining" };
    case "not-ready":
      return {
        status: "not-ready",
        reason: readiness.reason ? `not ready (${printable(readiness.reason)})` : "not ready",
      };
  }
}

/** The verdict when every check held. */
export function healthyVerdict(pid: number, ready: boolean): Verdict {
  return { status: "healthy", reason: `${ready ? "ready" : "healthy"} (pid ${pid})` };
}

const encoder = new TextEncoder();

/**
 * `text` safe for one line of a log: each UTF-8 byte outside printable ASCII
 * becomes `?` (as bash does it byte by byte, so every probe prints the
 * same), and at most `maxBytes` are kept.
 */
export function printable(text: string, maxBytes = Infinity): string {
  let line = "";
  for (const byte of encoder.encode(text)) {
    if (line.length >= maxBytes) break;
    line += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : "?";
  }
  return line;
}

/**
 * The probe's verdict on a given {@linkcode Runtime}. `probe()` runs it on the
 * current runtime, the `liveness-probe` command too (naming its flags in
 * reasons), and `probe.sh` says the same, line for line: keep them in step
 * (`tests/probe_cases.json` runs all of them).
 *
 * The checks are one generator that yields each file it wants read, so that
 * one sequence of checks runs on a synchronous reader (`probe()`) and on an
 * asynchronous one (Deno's command, whose opens run under a deadline).
 *
 * @module
 */
import { type Location, resolveLocation } from "./_location.ts";
import {
  type Clock,
  isMemberDone,
  judgeMembers,
  type MemberFinding,
  type MembersContext,
  readMembers,
} from "./_members.ts";
import { ownStartTime, parsePidMax } from "./_proc.ts";
import {
  numberParser,
  processFacts,
  type Read,
  readinessParser,
  readState,
  type Seen,
} from "./_probe_steps.ts";
import { isPermissionDenied, type Runtime } from "./runtime/_runtime.ts";
import { runSteps, runStepsAsync } from "./runtime/_read.ts";
import {
  ERROR_FILE,
  failedVerdict,
  healthyVerdict,
  HEARTBEAT_FILE,
  HEARTBEAT_MAX_BYTES,
  judgeError,
  judgeHeartbeat,
  judgeHeartbeatFile,
  judgePid,
  judgeProcess,
  judgeReadiness,
  judgeStarttime,
  noPidVerdict,
  parseHeartbeat,
  parseUptime,
  PID_FILE,
  READY_FILE,
  READY_MAX_BYTES,
  STARTTIME_FILE,
  STATE_MAX_BYTES,
  unitReason,
  type Verdict,
} from "./_verdict.ts";
import { LocationError } from "./errors.ts";
import type { ProbeOptions, ProbeResult } from "./types.ts";

/** How a reason names the source of each option: `options.unit`, or `--unit` on the command line. */
export interface OptionNames {
  /** The name of the unit option. */
  readonly unit: string;
  /** The name of the rundir option. */
  readonly rundir: string;
}

const API_NAMES: OptionNames = { unit: "options.unit", rundir: "options.rundir" };

type Checks = Generator<Read, Judged, Seen>;
type Judged = Verdict & { readonly pid?: number; readonly error?: number };

/** Probes the unit the options name, on `runtime`, reading synchronously. */
export function probeUnit(
  runtime: Runtime,
  options: ProbeOptions = {},
  names: OptionNames = API_NAMES,
): ProbeResult {
  const start = begin(runtime, options, names);
  if ("status" in start) return start;
  try {
    return result(start, runSteps(judge(start.dir, options), reader(runtime)));
  } catch (error) {
    return result(start, failedVerdict(failure(error)));
  }
}

/**
 * {@linkcode probeUnit} with `runtime.readHeadAsync` where the runtime has
 * it (Deno, whose opens may block), so that no open can hang the command.
 */
export async function probeUnitAsync(
  runtime: Runtime,
  options: ProbeOptions = {},
  names: OptionNames = API_NAMES,
): Promise<ProbeResult> {
  const readAsync = runtime.readHeadAsync?.bind(runtime);
  if (!readAsync) return probeUnit(runtime, options, names);
  const start = begin(runtime, options, names);
  if ("status" in start) return start;
  try {
    const judged = await runStepsAsync(
      judge(start.dir, options),
      ({ path, maxBytes }) => readAsync(path, maxBytes).catch(seenAfter),
    );
    return result(start, judged);
  } catch (error) {
    return result(start, failedVerdict(failure(error)));
  }
}

/**
 * The verdict on the unit directory `dir` without a pid file, read on
 * `runtime`: what an owner that has not loaded the unit answers, as the
 * probes would.
 */
export function noPidOn(runtime: Runtime, dir: string): Verdict {
  try {
    return runSteps(missingPid(dir), reader(runtime));
  } catch (error) {
    return failedVerdict(failure(error));
  }
}

/**
 * Every member of the unit at `dir` judged on `runtime` by the probes'
 * checks, as an owner of this process answers them over HTTP: one finding
 * each (`members` alone for a members file that is not valid).
 */
export function membersOn(runtime: Runtime, dir: string, ready: boolean): MemberFinding[] {
  try {
    return runSteps(
      (function* () {
        const context = yield* membersContext(runtime, dir, ready);
        return yield* judgeMembers(context, yield* readMembers(dir), {}, true);
      })(),
      reader(runtime),
    );
  } catch (error) {
    return [{ name: "members", verdict: failedVerdict(failure(error)) }];
  }
}

/** Whether each of the members `ids` of the unit at `dir` is done (see `isMemberDone()`). */
export function membersDoneOn(runtime: Runtime, dir: string, ids: readonly string[]): boolean {
  try {
    return runSteps(
      (function* () {
        const context = yield* membersContext(runtime, dir, false);
        for (const id of ids) if (!(yield* isMemberDone(context, id))) return false;
        return true;
      })(),
      reader(runtime),
    );
  } catch {
    return false; // cannot tell: the shutdown's deadline ends the wait
  }
}

/** The members' context of an owner of this process. */
function* membersContext(
  runtime: Runtime,
  dir: string,
  ready: boolean,
): Generator<Read, MembersContext, Seen> {
  const pidMaxHead = yield { path: "/proc/sys/kernel/pid_max", maxBytes: 16 };
  const pidMax = parsePidMax(pidMaxHead.kind === "file" ? pidMaxHead.text : undefined);
  const owner = { pid: runtime.pid, starttime: ownStartTime(runtime) };
  return { dir, owner, pidMax, ready, maxAge: undefined };
}

/** The synchronous reads of `runtime`, as the checks see them. */
function reader(runtime: Runtime): (read: Read) => Seen {
  return ({ path, maxBytes }) => {
    try {
      return runtime.readHead(path, maxBytes);
    } catch (error) {
      return seenAfter(error);
    }
  };
}

/** The location, or the verdict when there is none to probe. */
function begin(
  runtime: Runtime,
  options: ProbeOptions,
  names: OptionNames,
): Location | ProbeResult {
  try {
    return resolveLocation(runtime, options);
  } catch (error) {
    if (error instanceof LocationError) {
      return { healthy: false, status: "bad-location", reason: locationReason(error, names) };
    }
    // The environment or the host name could not be read (Deno's permissions).
    const { reason } = failedVerdict(failure(error));
    return { healthy: false, status: "failed", reason };
  }
}

function result({ unit, dir }: Location, judged: Judged): ProbeResult {
  return {
    ...judged,
    healthy: judged.status === "healthy",
    reason: unitReason(unit, judged),
    unit,
    dir,
  };
}

/**
 * The checks after the location's (`begin()`), in the order docs/probes.md
 * lists them under "The verdict"; the first that fails gives the verdict.
 */
function* judge(dir: string, { ready = false, maxAge }: ProbeOptions): Checks {
  // The pid file holds a pid below pid_max.
  const pidFound = yield* readState(dir, PID_FILE, STATE_MAX_BYTES, numberParser(false));
  if (pidFound.kind === "missing") return yield* missingPid(dir);
  const pidMaxHead = yield { path: "/proc/sys/kernel/pid_max", maxBytes: 16 };
  const pidMax = parsePidMax(pidMaxHead.kind === "file" ? pidMaxHead.text : undefined);
  const pidVerdict = judgePid(pidFound, pidMax);
  if (pidVerdict || pidFound.kind !== "value") return pidVerdict ?? unreachable();
  const pid = Number(pidFound.value);

  // A live process, not a thread, not a zombie.
  const facts = yield* processFacts(pid);
  if (facts.kind === "not-running") {
    // With hidepid, /proc shows only this user's processes: pid 1 is not there.
    const init = yield { path: "/proc/1", maxBytes: 0 };
    if (init.kind === "missing") return { ...failedVerdict(hidden(pid)), pid };
  }
  const processVerdict = judgeProcess(pid, facts);
  if (processVerdict || facts.kind !== "running") return { ...(processVerdict!), pid };

  // Where the writer recorded its start time (a writer without /proc does not), it is this process's.
  const starttime = yield* readState(dir, STARTTIME_FILE, STATE_MAX_BYTES, numberParser(false));
  const starttimeVerdict = judgeStarttime(pid, starttime, facts.starttime);
  if (starttimeVerdict) return { ...starttimeVerdict, pid };

  // The error code is 0.
  const errorFound = yield* readState(dir, ERROR_FILE, STATE_MAX_BYTES, numberParser(true));
  const errorCode = errorFound.kind === "value" ? Number(errorFound.value) : undefined;
  const error = errorCode !== undefined && Number.isSafeInteger(errorCode)
    ? { error: errorCode }
    : {};
  const errorVerdict = judgeError(errorFound);
  if (errorVerdict) return { ...errorVerdict, pid, ...error };

  // The members' files, read before any clock (they are judged last).
  const members = yield* readMembers(dir);
  const clock: Clock = {};

  // A heartbeat of this writer is fresh.
  const beat = yield* readState(dir, HEARTBEAT_FILE, HEARTBEAT_MAX_BYTES, parseHeartbeat);
  if (beat.kind === "problem") {
    return { ...judgeHeartbeatFile(beat.problem), pid, ...error };
  }
  const writer = starttime.kind === "value" ? starttime.value : undefined;
  if (beat.kind === "value" && beat.value.pid === pid && beat.value.starttime === writer) {
    const uptime = yield { path: "/proc/uptime", maxBytes: 64 };
    const now = uptime.kind === "file" ? parseUptime(uptime.text) : undefined;
    if (now === undefined) return { ...failedVerdict("cannot read /proc/uptime"), pid, ...error };
    clock.now = now;
    const heartbeatVerdict = judgeHeartbeat(beat.value, now, maxAge);
    if (heartbeatVerdict) return { ...heartbeatVerdict, pid, ...error };
  }

  // Readiness, when asked: a missing ready file is ready.
  if (ready) {
    const readiness = yield* readState(dir, READY_FILE, READY_MAX_BYTES, readinessParser);
    const readyVerdict = judgeReadiness(readiness);
    if (readyVerdict) return { ...readyVerdict, pid, ...error };
  }
  // Each member, after the unit itself (docs/members.md).
  const owner = { pid, starttime: facts.starttime };
  const findings = yield* judgeMembers({ dir, owner, pidMax, ready, maxAge }, members, clock);
  const failing = findings.find(({ verdict }) => verdict)?.verdict;
  if (failing) return { ...failing, pid, ...error };
  return { ...healthyVerdict(pid, ready), pid, ...error };
}

/**
 * No pid file in `dir`: is the unit's directory there (a unit not loaded
 * now), else its rundir (a wrong unit, or a unit never loaded), else
 * neither (a wrong rundir)? Each looked up as `<path>/.`, which follows a
 * link as bash's `[[ -d ]]` does.
 */
function* missingPid(dir: string): Generator<Read, Verdict, Seen> {
  const rundir = dir.slice(0, dir.lastIndexOf("/")) || "/"; // `/` for `/api`
  for (const path of [dir, rundir]) {
    const seen = yield { path: `${path}/.`, maxBytes: 0 };
    if (seen.kind === "directory") return noPidVerdict(dir, path === dir ? undefined : dir);
  }
  return noPidVerdict(dir, rundir);
}

/** Why a probe cannot tell whether `pid` runs: `/proc` hides other users' processes, or is missing. */
function hidden(pid: number): string {
  return `/proc shows no pid 1 (hidepid?), so pid ${pid} may be running`;
}

function unreachable(): never {
  throw new Error("unreachable");
}

/**
 * What a read that threw `error` tells the checks: the errors that mean
 * "nothing usable there", as bash's `[[ -e ]]` and `[[ -r ]]` see them: `EACCES` and `EPERM` (also from a
 * directory on the way that may not be searched) make the file unreadable;
 * `ENOENT`, `ENOTDIR`, `ELOOP`, `ENAMETOOLONG` and `ESRCH` make it missing.
 * Any other error (`EIO`, `EMFILE`, Deno without `--allow-all`, ...) is
 * thrown: the probe cannot judge.
 */
function seenAfter(error: unknown): Seen {
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

/** Why the probe could not judge, in a few words. */
function failure(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === "EMFILE" || code === "ENFILE") return "too many open files";
  const text = typeof message === "string" ? message.split("\n")[0] : String(error);
  if (isPermissionDenied(error)) {
    return `Deno needs --allow-all to probe (${text})`;
  }
  return text;
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

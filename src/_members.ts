/**
 * A unit's members: the processes and threads that make up the unit with
 * its owner (cluster workers, child processes, worker threads). The owner
 * writes the `members` file, the ids of the members it declares; each
 * member writes its own `member.<id>` file, one line holding its identity,
 * its error, its last beat and its readiness. This module holds their
 * format and the members' part of the verdict, read by the same steps as the
 * unit's own checks (`_probe_steps.ts`); `probe.sh` says the same, line for
 * line.
 *
 * @module
 */
import { parseProcessStat, PROC_MAX_BYTES, type ProcessStat } from "./_proc.ts";
import { processFacts, type Read, readState, type Seen } from "./_probe_steps.ts";
import {
  failedVerdict,
  type Found,
  judgeAge,
  judgeProcess,
  judgeReadiness,
  parseUptime,
  type ProcessFacts,
  type Readiness,
  type Verdict,
} from "./_verdict.ts";

/** The owner's file: the ids of the members, in the order they are judged, on one line. */
export const MEMBERS_FILE = "members";
/** A member's file is `member.<id>`. */
export const MEMBER_FILE_PREFIX = "member.";
/** The most members a unit declares: each costs a probe a few reads. */
export const MEMBERS_LIMIT = 64;
/** The longest id of a member. */
export const MEMBER_ID_MAX_BYTES = 32;
/** The most a probe reads of the members file: every id and its space. */
export const MEMBERS_MAX_BYTES = MEMBERS_LIMIT * (MEMBER_ID_MAX_BYTES + 1);
/** The most a probe reads of a member's file: its longest valid line is under 400 bytes. */
export const MEMBER_MAX_BYTES = 512;

const MEMBER_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Whether `id` may name a member: 1 to 32 ASCII letters, digits, `_` and `-`. */
export function isMemberId(id: string): boolean {
  return MEMBER_ID.test(id);
}

/** The members file's line (without the newline). */
export function formatMembers(ids: readonly string[]): string {
  return ids.join(" ");
}

/** The ids in the members file's text; `undefined` when it is not valid. */
export function parseMembers(text: string): string[] | undefined {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  const ids = line.split(" ");
  return ids.length <= MEMBERS_LIMIT && ids.every(isMemberId) ? ids : undefined;
}

/** The readiness a member says: the unit's words, or `left` once it has drained and gone. */
export type MemberReadiness = Readiness | { readonly state: "left" };

/** What a member's file says. */
export interface MemberState {
  readonly pid: number;
  /** The process's start time; `undefined` where the member could not read it. */
  readonly starttime: string | undefined;
  /** A thread member's thread: its id and start time (`/proc/thread-self/stat`). */
  readonly thread: { readonly tid: number; readonly starttime: string } | undefined;
  /** The error code as canonical decimal text; `undefined` before the member's first `set()`. */
  readonly error: string | undefined;
  /** The last beat (uptime in hundredths of a second) and the most it may age, in ms. */
  readonly beat: { readonly at: number; readonly maxAge: number } | undefined;
  readonly readiness: MemberReadiness;
}

const MEMBER_LINE = new RegExp(
  "^([1-9][0-9]{0,12}) (0|[1-9][0-9]{0,19}|-) (?:([1-9][0-9]{0,9})\\.(0|[1-9][0-9]{0,19})|-) " +
    "(0|-?[1-9][0-9]{0,19}|-) (?:(0|[1-9][0-9]{0,12})\\.([0-9]{2}) ([1-9][0-9]{0,12})|- -) " +
    "(ready|draining|left|not-ready(?: .*)?)$",
  "s",
);

/**
 * The member file's line (without the newline):
 * `<pid> <starttime> <tid>.<thread starttime> <error> <uptime> <max age ms> <readiness>`,
 * each field that is not known `-`.
 */
export function formatMember(state: MemberState): string {
  const thread = state.thread ? `${state.thread.tid}.${state.thread.starttime}` : "-";
  const beat = state.beat
    ? `${Math.floor(state.beat.at / 100)}.${
      String(state.beat.at % 100).padStart(2, "0")
    } ${state.beat.maxAge}`
    : "- -";
  const { readiness } = state;
  const ready = readiness.state === "not-ready" && readiness.reason
    ? `not-ready ${readiness.reason}`
    : readiness.state;
  return `${state.pid} ${state.starttime ?? "-"} ${thread} ${state.error ?? "-"} ${beat} ${ready}`;
}

/**
 * Parses a member's file; `undefined` when it is not one line of
 * {@linkcode formatMember}. Bytes of a reason outside printable ASCII are
 * `?`, as bash shows them.
 */
export function parseMember(text: string): MemberState | undefined {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (line.includes("\n")) return undefined;
  const match = MEMBER_LINE.exec(line.replace(/[^\x20-\x7e]/g, "?"));
  if (!match) return undefined;
  const [, pid, starttime, tid, threadStart, error, seconds, hundredths, maxAge, ready] = match;
  let readiness: MemberReadiness;
  if (ready === "ready" || ready === "draining" || ready === "left") readiness = { state: ready };
  else {
    const reason = ready.slice("not-ready ".length);
    readiness = reason ? { state: "not-ready", reason } : { state: "not-ready" };
  }
  return {
    pid: Number(pid),
    starttime: starttime === "-" ? undefined : starttime,
    thread: tid === undefined ? undefined : { tid: Number(tid), starttime: threadStart },
    error: error === "-" ? undefined : error,
    beat: seconds === undefined
      ? undefined
      : { at: Number(seconds) * 100 + Number(hundredths), maxAge: Number(maxAge) },
    readiness,
  };
}

/** What the members' checks need of the unit's own. */
export interface MembersContext {
  /** `<rundir>/<unit>`. */
  readonly dir: string;
  /** The owner's pid, and the start time `/proc` gives it: a member of the owner's own process is live. */
  readonly owner: { readonly pid: number; readonly starttime: string | undefined };
  readonly pidMax: number;
  readonly ready: boolean;
  /** `--max-age` in ms, over each member's own. */
  readonly maxAge: number | undefined;
}

/** One member's finding, named as a reason names it (`worker 3`); `verdict` when it fails. */
export interface MemberFinding {
  readonly name: string;
  readonly verdict: Verdict | undefined;
}

/**
 * The members' checks, after the unit's own (docs/members.md, "The
 * verdict"): no members file, no members; else each member in the file's
 * order. Stops at the first that fails unless `all` (the owner's verbose
 * answers list every member). A members file that is not valid is one
 * finding, `members`.
 */
export function* judgeMembers(
  context: MembersContext,
  read: MembersRead,
  clock: Clock,
  all = false,
): Generator<Read, MemberFinding[], Seen> {
  if (read.kind === "none") return [];
  if (read.kind === "problem") {
    const reason = `members file ${read.problem}`;
    return [{ name: "members", verdict: { status: "bad-member", reason } }];
  }
  const findings: MemberFinding[] = [];
  for (const [index, id] of read.ids.entries()) {
    const name = `worker ${id}`;
    const verdict = yield* judgeMember(context, read.files[index], clock, name);
    findings.push({ name, verdict });
    if (verdict && !all) break;
  }
  return findings;
}

/** The members file and every member's file, as read: none, a problem, or the files by id. */
export type MembersRead =
  | { readonly kind: "none" }
  | { readonly kind: "problem"; readonly problem: string }
  | { readonly kind: "files"; readonly ids: string[]; readonly files: Found<MemberState>[] };

/**
 * `/proc/uptime` in hundredths of a second, once read (`null`: unreadable);
 * read after every member's file, so that no beat is later than it.
 */
export type Clock = { now?: number | null };

/** Reads the members file and each member's file in `dir`, before any clock is read. */
export function* readMembers(dir: string): Generator<Read, MembersRead, Seen> {
  const found = yield* readState(dir, MEMBERS_FILE, MEMBERS_MAX_BYTES, parseMembers);
  if (found.kind === "missing") return { kind: "none" };
  if (found.kind === "problem") return found;
  const files: Found<MemberState>[] = [];
  for (const id of found.value) {
    const name = `${MEMBER_FILE_PREFIX}${id}`;
    files.push(yield* readState(dir, name, MEMBER_MAX_BYTES, parseMember));
  }
  return { kind: "files", ids: found.value, files };
}

/**
 * One member, its reason prefixed with its name. A member whose process or
 * thread is gone, or that has not called `set()` yet, fails readiness at
 * once and liveness only once its last beat is older than its max age: a
 * respawn does not fail liveness. A member that `left` fails readiness only.
 */
function* judgeMember(
  context: MembersContext,
  found: Found<MemberState>,
  clock: Clock,
  name: string,
): Generator<Read, Verdict | undefined, Seen> {
  const named = (verdict: Verdict): Verdict => ({
    ...verdict,
    reason: `${name}: ${verdict.reason}`,
  });
  if (found.kind === "missing") return named({ status: "no-error", reason: "not joined" });
  if (found.kind === "problem") {
    return named({ status: "bad-member", reason: `member file ${found.problem}` });
  }
  const member = found.value;
  const { ready } = context;
  if (member.readiness.state === "left") {
    return ready ? named({ status: "not-ready", reason: "left" }) : undefined;
  }
  const limit = context.pidMax - 1;
  if (member.pid > limit) {
    return named({
      status: "bad-pid",
      reason: `pid ${member.pid} is out of range (1 to ${limit})`,
    });
  }
  const gone = yield* judgeGone(context, member);
  let stale: Verdict | undefined;
  if (member.beat) {
    if (clock.now === undefined) {
      const head = yield { path: "/proc/uptime", maxBytes: 64 };
      clock.now = (head.kind === "file" ? parseUptime(head.text) : undefined) ?? null;
    }
    if (clock.now === null) return failedVerdict("cannot read /proc/uptime");
    const age = (clock.now - member.beat.at) * 10;
    if (age < 0) return named({ status: "bad-heartbeat", reason: "heartbeat is from the future" });
    stale = judgeAge(age, context.maxAge ?? member.beat.maxAge);
  }
  if (gone && (ready || !member.beat || stale)) return named(gone);
  if (member.error === undefined) {
    if (ready) return named({ status: "no-error", reason: "not started: set(0) not called yet" });
  } else if (member.error !== "0") {
    return named({ status: "unhealthy", reason: `error ${member.error}` });
  }
  if (stale) return named(stale);
  if (!ready) return undefined;
  const readiness = judgeReadiness({ kind: "value", value: member.readiness as Readiness });
  return readiness && named(readiness);
}

/**
 * Whether the member's process (by the owner's rules: pid, start time,
 * zombie) or its thread is gone. A member of the owner's own process, as
 * the unit's checks found it live, needs no read.
 */
function* judgeGone(
  { owner }: MembersContext,
  member: MemberState,
): Generator<Read, Verdict | undefined, Seen> {
  const { pid, starttime } = member;
  if (pid === owner.pid && owner.starttime !== undefined) {
    // The owner's process, which the unit's checks found live: nothing more to read.
    if (starttime !== undefined && starttime !== owner.starttime) {
      return { status: "restarted", reason: `state is from an earlier process with pid ${pid}` };
    }
  } else if (starttime === undefined) {
    // Without a start time, only the Tgid tells a thread's id from a process's.
    const verdict = judgeProcess(pid, yield* processFacts(pid));
    if (verdict) return verdict;
  } else {
    // A start time tells a later process, or a thread, with that id: its stat alone will do.
    const head = yield { path: `/proc/${pid}/stat`, maxBytes: PROC_MAX_BYTES };
    const stat = head.kind === "file" ? parseProcessStat(head.text) : undefined;
    const verdict = judgeProcess(pid, processOf(stat));
    if (verdict) return verdict;
    if (stat!.starttime !== starttime) {
      return { status: "restarted", reason: `state is from an earlier process with pid ${pid}` };
    }
  }
  if (!member.thread) return undefined;
  const thread = member.thread;
  const tid = thread.tid;
  const head = yield { path: `/proc/${pid}/task/${tid}/stat`, maxBytes: PROC_MAX_BYTES };
  const stat = head.kind === "file" ? parseProcessStat(head.text) : undefined;
  if (stat === undefined || stat.state === "Z" || stat.state === "X") {
    return { status: "not-running", reason: `thread ${tid} of pid ${pid} is not running` };
  }
  if (stat.starttime !== thread.starttime) {
    return { status: "restarted", reason: `state is from an earlier thread ${tid} of pid ${pid}` };
  }
  return undefined;
}

/** What a stat line says of its process: none, a zombie, or a live one. */
function processOf(stat: ProcessStat | undefined): ProcessFacts {
  if (stat === undefined) return { kind: "not-running" };
  if (stat.state === "Z" || stat.state === "X") return { kind: "zombie" };
  return { kind: "running", starttime: stat.starttime };
}

/**
 * Whether the member `id` is done: it `left`, its process or thread is
 * gone, or it never joined (or its file is not one). The owner's shutdown
 * waits for every member to be done before its own close.
 */
export function* isMemberDone(
  context: MembersContext,
  id: string,
): Generator<Read, boolean, Seen> {
  const found = yield* readState(
    context.dir,
    `${MEMBER_FILE_PREFIX}${id}`,
    MEMBER_MAX_BYTES,
    parseMember,
  );
  if (found.kind !== "value" || found.value.readiness.state === "left") return true;
  return (yield* judgeGone(context, found.value)) !== undefined;
}

/**
 * The member ids `members` declares: `N` is `"1"` to `"N"`, a list its own
 * ids. `undefined`: no members.
 *
 * @throws {TypeError} for anything but 1 to 64 members with distinct ids.
 */
export function resolveMembers(members: unknown): string[] | undefined {
  if (members === undefined) return undefined;
  const ids = typeof members === "number"
    ? Number.isSafeInteger(members) && members >= 1 && members <= MEMBERS_LIMIT
      ? Array.from({ length: members }, (_, index) => String(index + 1))
      : undefined
    : Array.isArray(members) && members.length >= 1 && members.length <= MEMBERS_LIMIT &&
        members.every((id) => typeof id === "string" && isMemberId(id)) &&
        new Set(members).size === members.length
    ? [...members as string[]]
    : undefined;
  if (ids) return ids;
  throw new TypeError(
    `Cannot create the unit: options.members must be a count from 1 to ${MEMBERS_LIMIT} or a ` +
      `list of as many distinct ids (1 to ${MEMBER_ID_MAX_BYTES} letters, digits, '_' or '-')`,
  );
}

/**
 * A member of a unit, in this process or thread: what `joinUnit()` returns.
 * It writes one file, `<rundir>/<unit>/member.<id>` (its identity, error,
 * last beat and readiness on one line, `_members.ts`), replaced whole at
 * each change and each beat. It never creates the unit directory (the
 * owner's `load()` does) and writes nothing outside it. On each beat it
 * also reads the owner's `ready` file: `draining` starts its own shutdown
 * (its handlers, then `left`, then, in a process of its own, the exit).
 *
 * @module
 */
import { uptime } from "./_clock.ts";
import { type Identity, isRunning } from "./_identity.ts";
import { resolveLocation } from "./_location.ts";
import {
  formatMember,
  formatMembers,
  isMemberId,
  MEMBER_FILE_PREFIX,
  MEMBER_MAX_BYTES,
  type MemberReadiness,
  MEMBERS_FILE,
  MEMBERS_MAX_BYTES,
  type MemberState,
  parseMember,
  parseMembers,
} from "./_members.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { ownStartTime, parseProcessStat, PROC_MAX_BYTES } from "./_proc.ts";
import { UnitDirectory } from "./_state.ts";
import { assertErrorCode, assertReadiness, type Beat, resolveSettings } from "./_unit_options.ts";
import { addShutdownHandler } from "./_shutdown.ts";
import { PID_FILE, READY_FILE } from "./_verdict.ts";
import { LivenessError } from "./errors.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import type { ShutdownContext } from "./shutdown_types.ts";
import type { Member, MemberOptions } from "./types.ts";

const MEMBER_KEYS = ["unit", "rundir", "member", "heartbeat", "onError", "exit"];

/** How often a member without a heartbeat writes its line again and looks for `draining`. */
const TICK_MS = 1000;

/** A thread: its id and start time, from `/proc/thread-self/stat`. */
type Thread = MemberState["thread"];

/**
 * The members joined in this thread (a module is one per thread), by unit
 * directory and id: a second with one id would share the first's identity,
 * and the two would write one slot in turn.
 */
const joined = new Set<string>();

/** The member this process or thread is of one unit. */
export class UnitMember implements Member {
  readonly unit: string;
  readonly dir: string;
  readonly member: string;
  readonly thread: boolean;
  readonly #runtime: Runtime;
  readonly #file: string;
  readonly #heartbeat: Beat;
  readonly #report: (error: LivenessError) => void;
  readonly #exit: boolean;
  readonly #identity: {
    readonly pid: number;
    readonly starttime: string | undefined;
    readonly thread: Thread;
  };
  readonly #handlers: ((context: ShutdownContext) => unknown)[] = [];
  #directory: UnitDirectory | undefined;
  #error: number | undefined;
  #readiness: MemberReadiness = { state: "ready" };
  #timer: unknown;
  #draining: Promise<void> | undefined;
  #done = false;
  /** The trouble last reported, so that each is reported once. */
  #reported: string | undefined;

  /** Joins the unit `options` name as the member `options.member`, on `runtime`. */
  constructor(runtime: Runtime, options: MemberOptions) {
    assertKnownKeys(options, MEMBER_KEYS, "joinUnit()");
    const { unit, dir } = resolveLocation(runtime, options);
    const given: unknown = options?.member;
    const member = String(given);
    // A number is a count's: NaN, -1 or Infinity is no member's id, whatever its text.
    const counted = typeof given === "number" && Number.isSafeInteger(given) && given >= 0;
    if (!isMemberId(member) || !(typeof given === "string" || counted)) {
      throw new TypeError(
        `Cannot join unit ${dir}: options.member must be the id of one of the owner's members ` +
          `(1 to 32 letters, digits, '_' or '-', or a count's number), got ${
            describeOption(given)
          }`,
      );
    }
    if (options.exit !== undefined && typeof options.exit !== "boolean") {
      throw new TypeError(`Cannot join unit ${dir}: options.exit must be a boolean`);
    }
    const { heartbeat, onError } = resolveSettings({
      heartbeat: options.heartbeat,
      onError: options.onError,
    });
    if (joined.has(`${dir}\n${member}`)) {
      throw new TypeError(
        `Cannot join unit ${dir}: member ${member} is joined already in this thread: ` +
          `leave() it first`,
      );
    }
    this.unit = unit;
    this.dir = dir;
    this.member = member;
    this.#runtime = runtime;
    this.#file = `${MEMBER_FILE_PREFIX}${member}`;
    this.#heartbeat = heartbeat;
    this.#report = onError;
    const thread = ownThread(runtime);
    this.#identity = { pid: runtime.pid, starttime: ownStartTime(runtime), thread };
    this.thread = thread !== undefined;
    this.#exit = options.exit ?? !this.thread;
    joined.add(`${dir}\n${member}`);
    this.#write();
    // Without a heartbeat too: its line is written again after the owner's load(), and a
    // draining owner is seen.
    this.#timer = setInterval(() => this.#tick(), heartbeat ? heartbeat.interval : TICK_MS);
    runtime.unrefTimer(this.#timer); // never what keeps the program alive
  }

  set(error: number): void {
    assertErrorCode(error);
    if (this.#done) return;
    this.#error = error;
    this.#write();
  }

  ready(ready: boolean, reason?: string): void {
    assertReadiness(ready, reason);
    if (this.#done || this.#draining) return; // shutting down: stays draining
    this.#readiness = ready
      ? { state: "ready" }
      : { state: "not-ready", ...(reason ? { reason } : {}) };
    this.#write();
  }

  beat(): void {
    if (!this.#heartbeat) {
      throw new TypeError(
        `Cannot beat(): member ${this.member} of unit ${this.dir} has no heartbeat`,
      );
    }
    this.#write();
  }

  onShutdown(handler: (context: ShutdownContext) => unknown): () => void {
    return addShutdownHandler(this.#handlers, handler);
  }

  leave(): Promise<void> {
    if (!this.#done) {
      this.#readiness = { state: "left" };
      this.#write();
      this.#stop();
      this.#directory?.close();
      this.#directory = undefined;
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.leave();
  }

  /**
   * A beat (its line written again, with no beat in it where there is no
   * heartbeat); and the owner's `draining` starts this member's shutdown.
   */
  #tick(): void {
    if (this.#done) return;
    this.#write();
    if (!this.#draining && this.#directory?.read(READY_FILE)?.startsWith("draining")) {
      this.#draining = this.#drain();
    }
  }

  /**
   * The member's shutdown: not ready, its handlers (last added first),
   * `left`, the exit; never the exit of its owner's own process, whose
   * shutdown is still under way.
   */
  async #drain(): Promise<void> {
    this.#readiness = { state: "draining" };
    this.#write();
    const ownersProcess = this.#directory?.read(PID_FILE)?.trim() === String(this.#identity.pid);
    for (const handler of [...this.#handlers].reverse()) {
      try {
        await handler({ signal: undefined });
      } catch (error) {
        this.#trouble(`a shutdown handler threw: ${String(error)}`, error);
      }
    }
    await this.leave();
    if (this.#exit && !ownersProcess) this.#runtime.exit(0);
  }

  /**
   * Writes the member's line, unless a later member (a replacement that
   * runs) holds the slot now: then this one stops writing.
   */
  #write(): void {
    if (this.#done) return;
    const directory = this.#open();
    if (!directory) return;
    const current = parseMember(directory.read(this.#file, MEMBER_MAX_BYTES + 1) ?? "");
    if (current && this.#isLater(current)) {
      this.#trouble(
        `its slot was taken by a later member (pid ${current.pid}): this one writes nothing more`,
      );
      this.#stop();
      return;
    }
    const heartbeat = this.#heartbeat;
    const at = heartbeat && uptime(this.#runtime);
    const state: MemberState = {
      ...this.#identity,
      error: this.#error === undefined ? undefined : String(this.#error),
      beat: heartbeat && at !== undefined ? { at, maxAge: heartbeat.maxAge } : undefined,
      readiness: this.#readiness,
    };
    const writer: Identity = { pid: this.#identity.pid, starttime: this.#identity.starttime };
    try {
      directory.write(this.#file, formatMember(state), writer);
      this.#reported = undefined;
    } catch (error) {
      this.#trouble(`cannot write its state: ${(error as Error).message}`, error);
      if (!isStillCurrent(directory)) this.#close();
    }
  }

  /** Writes nothing more, and frees its id in this thread. */
  #stop(): void {
    if (!this.#done) joined.delete(`${this.dir}\n${this.member}`);
    this.#done = true;
    clearInterval(this.#timer as number);
  }

  /** The unit directory, opened once the owner made it; `undefined` until then. */
  #open(): UnitDirectory | undefined {
    if (this.#directory) return this.#directory;
    try {
      this.#directory = UnitDirectory.open(this.#runtime, this.dir, false);
    } catch (error) {
      this.#trouble(`cannot open the unit directory (is the owner loaded?)`, error);
      return undefined;
    }
    // An id the owner does not declare is judged by no probe: say so once.
    const ids = parseMembers(this.#directory.read(MEMBERS_FILE, MEMBERS_MAX_BYTES) ?? "");
    if (ids && !ids.includes(this.member)) {
      this.#trouble(
        `its owner declares no member ${this.member} (its members: ${ids.join(" ")}): ` +
          `no probe judges this one`,
      );
    }
    return this.#directory;
  }

  #close(): void {
    this.#directory?.close();
    this.#directory = undefined;
  }

  /** Whether `other`, which the slot names, is a later member than this one, and runs. */
  #isLater(other: MemberState): boolean {
    const me = this.#identity;
    if (
      other.pid === me.pid && other.starttime === me.starttime &&
      other.thread?.tid === me.thread?.tid && other.thread?.starttime === me.thread?.starttime
    ) return false;
    // By start time, then the thread's; of two of one tick (clock ticks are 10 ms), the higher
    // pid, then tid: one of them must yield, or they write the slot in turn.
    const [theirs, mine] = [other, me].map(({ pid, starttime, thread }) =>
      [starttime, thread?.starttime, pid, thread?.tid].map((field) => BigInt(field ?? 0))
    );
    const at = theirs.findIndex((field, index) => field !== mine[index]);
    const later = at >= 0 && theirs[at] > mine[at];
    if (!later || isRunning(this.#runtime, other) !== true) return false;
    return other.thread === undefined || threadRuns(this.#runtime, other.pid, other.thread);
  }

  /** Reports `what` once, until a write succeeds. */
  #trouble(what: string, cause?: unknown): void {
    if (this.#reported === what) return;
    this.#reported = what;
    this.#report(
      new LivenessError(`Cannot keep member ${this.member} of unit ${this.dir}: ${what}`, {
        cause,
      }),
    );
  }
}

/** This thread, where it is not its process's main thread and `/proc` tells. */
function ownThread(runtime: Runtime): Thread {
  try {
    const head = runtime.readHead("/proc/thread-self/stat", PROC_MAX_BYTES);
    const stat = head.kind === "file" ? parseProcessStat(head.text) : undefined;
    if (stat === undefined || stat.pid === runtime.pid) return undefined;
    return { tid: stat.pid, starttime: stat.starttime };
  } catch {
    return undefined; // no /proc: told apart by nothing but its process
  }
}

/**
 * Whether `directory` is still the unit directory at its path; `false` where
 * its path cannot be looked up (a rundir replaced by a file): a beat's timer
 * must never throw, in a member's process or in its owner's thread.
 */
function isStillCurrent(directory: UnitDirectory): boolean {
  try {
    return directory.isCurrent();
  } catch {
    return false;
  }
}

/** Whether the thread `thread` of the process `pid` runs. */
function threadRuns(runtime: Runtime, pid: number, thread: NonNullable<Thread>): boolean {
  try {
    const head = runtime.readHead(`/proc/${pid}/task/${thread.tid}/stat`, PROC_MAX_BYTES);
    const stat = head.kind === "file" ? parseProcessStat(head.text) : undefined;
    return stat !== undefined && stat.starttime === thread.starttime && !/[ZX]/.test(stat.state);
  } catch {
    return false;
  }
}

/**
 * The owner's part at `load()`, under the unit's lock and before its pid:
 * removes the member files an earlier owner's members left, then writes the
 * members file (or removes it: no members).
 */
export function writeMembers(
  directory: UnitDirectory,
  ids: readonly string[] | undefined,
  writer: Identity,
): void {
  for (const name of directory.list()) {
    if (name.startsWith(MEMBER_FILE_PREFIX) && directory.lstat(name)?.kind === "file") {
      directory.remove(name);
    }
  }
  if (ids) directory.write(MEMBERS_FILE, formatMembers(ids), writer);
  // A unit without members removes nothing more: its earlier pid stays the last removed.
  else if (directory.lstat(MEMBERS_FILE)) directory.remove(MEMBERS_FILE);
}

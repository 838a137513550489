/**
 * Who owns a unit's state: the process its `pid` and `starttime` files name.
 * One unit belongs to one process at a time: `load()` does not take over the
 * state of a live process, and `reset()` removes only its own.
 *
 * @module
 */
import { ownStartTime, readProcessStat } from "./_proc.ts";
import type { Runtime } from "./_runtime.ts";
import { PID_FILE, readStateNumber, STARTTIME_FILE } from "./_state.ts";

/** The process a unit's state names. */
export interface Owner {
  /** From the pid file. */
  readonly pid: number;
  /** From the starttime file, where there is one. */
  readonly starttime?: string;
}

/** The owner the state in `dir` names; `undefined` without a valid pid file. */
export function readOwner(runtime: Runtime, dir: string): Owner | undefined {
  const pid = readStateNumber(runtime, dir, PID_FILE);
  if (pid === undefined) return undefined;
  return { pid: Number(pid), starttime: readStateNumber(runtime, dir, STARTTIME_FILE) };
}

/** Whether `owner` is this process (its start time, where both are known, agreeing). */
export function isThisProcess(runtime: Runtime, owner: Owner): boolean {
  if (owner.pid !== runtime.pid) return false;
  const starttime = owner.starttime && ownStartTime(runtime);
  return !starttime || starttime === owner.starttime;
}

/**
 * Whether `owner` is another process that is running: its pid is live, not a
 * zombie, and started when the state says. Without a start time (the seed's
 * state, or a writer that could not read `/proc`) nothing proves that, and
 * the state counts as stale.
 */
export function isOtherLiveProcess(runtime: Runtime, owner: Owner): boolean {
  if (owner.pid === runtime.pid || owner.starttime === undefined) return false;
  // Only a /proc of this process's own pid namespace can prove anything.
  if (ownStartTime(runtime) === undefined) return false;
  const stat = statOf(runtime, owner.pid);
  return stat !== undefined && stat.starttime === owner.starttime;
}

/** Whether a process with this pid is running (a zombie is not). */
export function isRunning(runtime: Runtime, pid: number): boolean {
  return statOf(runtime, pid) !== undefined;
}

function statOf(runtime: Runtime, pid: number) {
  try {
    const stat = readProcessStat(runtime, pid);
    return stat && stat.state !== "Z" && stat.state !== "X" ? stat : undefined;
  } catch {
    return undefined; // no /proc, or no permission to read it: nothing proven
  }
}

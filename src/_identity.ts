/**
 * Which process a piece of state names, and whether that process still
 * runs: a pid and, where `/proc` tells it, a start time (a later process
 * with the same pid is another process).
 *
 * @module
 */
import { uptime } from "./_clock.ts";
import { ownStartTime, readProcessStat } from "./_proc.ts";
import type { UnitSettings } from "./_unit_options.ts";
import { LivenessError, StateError } from "./errors.ts";
import type { Runtime } from "./runtime/_runtime.ts";

/** A process, as state names it. */
export interface Identity {
  readonly pid: number;
  /** Field 22 of `/proc/<pid>/stat`; `undefined` where it could not be read. */
  readonly starttime?: string;
}

/** `<pid>.<starttime>`, or `<pid>.-` without a start time: a part of file names. */
export function identityName(identity: Identity): string {
  return `${identity.pid}.${identity.starttime ?? "-"}`;
}

/** The pattern of {@linkcode identityName}, capturing the pid and the start time. */
export const IDENTITY_PATTERN = "([1-9][0-9]{0,9})\\.(0|[1-9][0-9]{0,19}|-)";

/** The identity two captured fields of {@linkcode IDENTITY_PATTERN} name. */
export function parseIdentity(pid: string, starttime: string): Identity {
  return { pid: Number(pid), starttime: starttime === "-" ? undefined : starttime };
}

/** This process. */
export function self(runtime: Runtime): Identity {
  return { pid: runtime.pid, starttime: ownStartTime(runtime) };
}

/** Whether `identity` is this process (its start time, where both are known, agreeing). */
export function isThisProcess(runtime: Runtime, identity: Identity): boolean {
  if (identity.pid !== runtime.pid) return false;
  const starttime = identity.starttime && ownStartTime(runtime);
  return !starttime || starttime === identity.starttime;
}

/**
 * Whether `identity` names a process that runs now (a zombie does not): its
 * pid is live and, where recorded, started when it says. `undefined` where
 * nothing can tell: no `/proc` of this pid namespace, and no `kill(pid, 0)`.
 */
export function isRunning(runtime: Runtime, identity: Identity): boolean | undefined {
  // Only a /proc of this process's own pid namespace can prove anything.
  if (ownStartTime(runtime) === undefined) return runtime.processExists(identity.pid);
  let stat;
  try {
    stat = readProcessStat(runtime, identity.pid);
  } catch {
    return undefined; // no permission to read it: nothing proven
  }
  if (stat === undefined || stat.state === "Z" || stat.state === "X") return false;
  return identity.starttime === undefined || identity.starttime === stat.starttime;
}

/**
 * Whether `owner` is another process that provably runs. Without a start
 * time (a state written without one, or a writer that could not read `/proc`) nothing
 * proves that a live pid is the writer, and the state counts as stale.
 */
export function isOtherLiveOwner(runtime: Runtime, owner: Identity): boolean {
  // A /proc of another pid namespace, or none: a pid alone proves nothing.
  return !isThisProcess(runtime, owner) && owner.starttime !== undefined &&
    ownStartTime(runtime) !== undefined && isRunning(runtime, owner) === true;
}

/**
 * Warns, fails or says nothing (`settings.procfs`) where `/proc` or the
 * clock cannot be read: `me` has no start time, or a heartbeat is asked
 * for without a clock. Throws the {@linkcode StateError} where `procfs` is
 * `"error"`; otherwise tells `settings.onError` what cannot be told.
 */
export function checkProcfs(
  runtime: Runtime,
  dir: string,
  settings: Pick<UnitSettings, "heartbeat" | "procfs" | "onError">,
  me: Identity,
): void {
  const { heartbeat, procfs } = settings;
  const noClock = heartbeat !== undefined && uptime(runtime) === undefined;
  if ((me.starttime !== undefined && !noClock) || procfs === "ignore") return;
  const error = new StateError(
    "open",
    "/proc/self/stat",
    "this process cannot read /proc (not Linux, or Deno without --allow-all)",
    "EACCES",
  );
  if (procfs === "error") throw error;
  const lacks = [
    me.starttime === undefined &&
    "no starttime is written (a later process with the same pid looks like this one) and " +
      "another live owner cannot be seen",
    noClock && "no heartbeat is written (no clock: on Deno, grant --allow-sys=osUptime)",
  ].filter(Boolean).join("; ");
  settings.onError(
    new LivenessError(
      `Cannot tell everything of unit ${dir}: /proc cannot be read: ${lacks}: ` +
        'on Deno, run with --allow-all; silence this with procfs: "ignore"',
      { cause: error },
    ),
  );
}

/**
 * What `/proc/<pid>/stat` and `status` say of a process: its state, its start
 * time, the process a thread belongs to.
 *
 * @module
 */
import type { Runtime } from "./runtime/_runtime.ts";

/** The two fields of `/proc/<pid>/stat` the library and the probes use. */
export interface ProcessStat {
  /** Field 1: the process id, as this `/proc` numbers it. */
  readonly pid: number;
  /** Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ... */
  readonly state: string;
  /** Field 22: start time in clock ticks since boot, as decimal text. */
  readonly starttime: string;
}

/** The stat line, and the status lines up to `Tgid`, are far shorter than this. */
export const PROC_MAX_BYTES = 4096;

/**
 * Reads `/proc/<pid>/stat`, or returns `undefined` when there is no such
 * process. Throws when `/proc` cannot be read (no procfs, or Deno without
 * `--allow-all`).
 */
export function readProcessStat(runtime: Runtime, pid: number | "self"): ProcessStat | undefined {
  const head = runtime.readHead(`/proc/${pid}/stat`, PROC_MAX_BYTES);
  return head.kind === "file" ? parseProcessStat(head.text) : undefined;
}

/**
 * Parses a stat line. The command name (field 2) may hold spaces,
 * parentheses and newlines, so the fields are counted after the last `)`.
 */
export function parseProcessStat(text: string): ProcessStat | undefined {
  const fields = text.slice(text.lastIndexOf(")") + 1).trim().split(" ");
  const [state] = fields;
  const starttime = fields[22 - 3];
  if (!state || !starttime || !/^\d+$/.test(starttime)) return undefined;
  return { pid: Number(text.slice(0, text.indexOf(" "))), state, starttime };
}

/**
 * This process's start time, or `undefined` where `/proc` cannot be read
 * (not Linux; Deno without `--allow-all`) or is not this process's pid
 * namespace's. The probes then fall back to checking the pid
 * alone. Read once per runtime: a process's start time never changes, and
 * `load()` asks for it several times.
 */
export function ownStartTime(runtime: Runtime): string | undefined {
  if (!startTimes.has(runtime)) startTimes.set(runtime, readOwnStartTime(runtime));
  return startTimes.get(runtime);
}

const startTimes = new WeakMap<Runtime, string | undefined>();

function readOwnStartTime(runtime: Runtime): string | undefined {
  try {
    const stat = readProcessStat(runtime, "self");
    // A /proc of another pid namespace (mounted before an unshare, say)
    // numbers this process otherwise: nothing there is about this process.
    return stat?.pid === runtime.pid ? stat.starttime : undefined;
  } catch {
    return undefined;
  }
}

/** The kernel's highest `pid_max` (`PID_MAX_LIMIT`), used where `/proc` does not say. */
export const PID_MAX_FALLBACK = 4194304;

/**
 * The bound of every pid, from the text of `/proc/sys/kernel/pid_max`;
 * {@linkcode PID_MAX_FALLBACK} where the file could not be read
 * (`undefined`) or is odd.
 */
export function parsePidMax(text: string | undefined): number {
  const match = text === undefined ? null : /^([1-9][0-9]{0,9})\n?$/.exec(text);
  return match ? Number(match[1]) : PID_MAX_FALLBACK;
}

/**
 * The `Tgid` line of `/proc/<id>/status`: the process a task belongs to. It
 * equals the id for a process and differs for one of its other threads,
 * whose ids `/proc/<id>` also answers to.
 */
export function parseStatusTgid(text: string): number | undefined {
  const match = /^Tgid:\s*([0-9]+)\s*$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

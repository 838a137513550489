/**
 * The errors the library throws, besides `TypeError` for bad arguments and
 * `LocationError` for a bad unit or rundir.
 *
 * @module
 */

/**
 * `load()` ran every health check and at least one returned `false` or did
 * not finish within the check timeout. Nothing was written.
 *
 * @example Name the failing checks
 * ```ts
 * import { HealthCheckError, load } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * const cacheIsWarm = () => false;
 * await assert.rejects(load([() => true, cacheIsWarm], { unit: "api", rundir }), (error) => {
 *   assert(error instanceof HealthCheckError);
 *   assert.deepEqual(error.failed, ["#2 cacheIsWarm"]);
 *   assert.deepEqual(error.timedOut, []);
 *   return true;
 * });
 * ```
 */
export class HealthCheckError extends Error {
  /**
   * A label for each failing check, in order: its position (from 1) and its
   * name or specifier. Checks that timed out are here too.
   */
  readonly failed: readonly string[];
  /** The labels of the checks that did not finish in time: a subset of `failed`. */
  readonly timedOut: readonly string[];
  /** How many checks ran. */
  readonly total: number;

  /**
   * Builds the error from the labels of the failing checks; `timedOut` names
   * those that did not finish within `timeout` milliseconds.
   */
  constructor(
    failed: readonly string[],
    total: number,
    { timedOut = [], timeout }: { timedOut?: readonly string[]; timeout?: number } = {},
  ) {
    const describe = (label: string) =>
      timedOut.includes(label) ? `${label} did not finish in ${timeout} ms` : label;
    super(
      `${failed.length} of ${total} health checks failed: ${failed.map(describe).join(", ")}. ` +
        "No state was written; fix what these checks test, then start again.",
    );
    this.name = "HealthCheckError";
    this.failed = failed;
    this.timedOut = timedOut;
    this.total = total;
  }
}

/** What {@linkcode StateError} was doing. */
export type StateOperation = "create" | "write" | "replace" | "remove" | "list" | "lock";

/**
 * Writing or removing a state file under `<rundir>/<unit>` failed. No
 * temporary file is left behind, and the unit is never left looking
 * healthier than the file system allows: a failed `set(0)` keeps the
 * previous state, a failed `set(error)` with another code removes the error
 * file (or writes over it where it cannot be removed; only a read-only file
 * system keeps the old code, and then the program should exit), and a failed
 * `load()` leaves no error file.
 *
 * @example Handle a read-only rundir
 * ```ts
 * import { createLiveness, StateError } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness = createLiveness({ unit: "api", rundir: "/proc" });
 * await assert.rejects(liveness.load([]), StateError);
 * ```
 */
export class StateError extends Error {
  /** The file or directory the operation was on. */
  readonly path: string;
  /** What was being done: `"create"` a directory, `"write"` or `"replace"` a file, ... */
  readonly operation: StateOperation;
  /** The POSIX error code (`"EACCES"`, `"ENOSPC"`, ...), when the runtime gave one. */
  readonly code: string | undefined;

  /** Builds the error from the failed operation and the runtime's error. */
  constructor(operation: StateOperation, path: string, cause: unknown, code?: string) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot ${operation} liveness state ${path}: ${reason}. ${hint(code, path)}`,
      { cause },
    );
    this.name = "StateError";
    this.path = path;
    this.operation = operation;
    this.code = code;
  }
}

/**
 * `set()` was called for a unit this process has not loaded (or has reset).
 * Usually `load()` and `set()` were given different options: use one
 * {@linkcode createLiveness} object for both.
 *
 * @example
 * ```ts
 * import { NotLoadedError, set } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => set(0, { unit: "never-loaded", rundir: "/tmp" }), NotLoadedError);
 * ```
 */
export class NotLoadedError extends Error {
  /** The state directory `set()` was called for. */
  readonly dir: string;

  /** Builds the error for the unit directory `dir`. */
  constructor(dir: string) {
    super(
      `Unit ${dir} was not loaded by this process: call load() before set(), ` +
        "with the same unit and rundir (one createLiveness() object keeps them together).",
    );
    this.name = "NotLoadedError";
    this.dir = dir;
  }
}

/**
 * `load()` found the unit's state owned by another process that is still
 * running (its pid is live and started when the state says). One unit
 * belongs to one process: give this one a unit of its own, or stop the
 * other first. Nothing was written.
 *
 * @example Start a second process of the same program beside the first
 * ```ts
 * import { createLiveness, UnitInUseError } from "@cic/liveness";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * try {
 *   await liveness.load([]);
 * } catch (error) {
 *   if (!(error instanceof UnitInUseError)) throw error;
 *   console.error(`unit api is process ${error.pid}'s: run this one as another unit`);
 * }
 * liveness.reset();
 * ```
 */
export class UnitInUseError extends Error {
  /** The unit directory. */
  readonly dir: string;
  /** The process that owns it. */
  readonly pid: number;

  /** Builds the error for the unit directory `dir`, owned by `pid`. */
  constructor(dir: string, pid: number) {
    super(
      `Unit ${dir} belongs to process ${pid}, which is still running. ` +
        "Give this process a unit of its own (options.unit or $LIVENESS_UNIT_NAME), " +
        `or stop process ${pid} first.`,
    );
    this.name = "UnitInUseError";
    this.dir = dir;
    this.pid = pid;
  }
}

function hint(code: string | undefined, path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `Give this process write access to ${dir} (on Deno: --allow-read and --allow-write for it), or choose another rundir.`;
    case "EROFS":
      return `${dir} is on a read-only file system: mount a writable volume there, or choose another rundir.`;
    case "ENOSPC":
    case "EDQUOT":
      return `Free space on the file system that holds ${dir}.`;
    case "ENOTDIR":
      return `A part of ${dir} is a file, not a directory: remove it or choose another rundir.`;
    default:
      return "Check that the rundir is a writable directory.";
  }
}

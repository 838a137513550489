/**
 * Every error the library defines. All but {@linkcode LocationError} (a
 * `TypeError`, as bad arguments are) extend {@linkcode LivenessError}.
 *
 * @module
 */

/**
 * The base of the library's errors: `catch (e) { if (e instanceof
 * LivenessError) ... }` tells them from the program's own.
 *
 * @example
 * ```ts
 * import { LivenessError, NotLoadedError } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new NotLoadedError("/run/api") instanceof LivenessError);
 * ```
 */
export class LivenessError extends Error {
  /** Builds the error; `name` is the subclass's name. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

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
export class HealthCheckError extends LivenessError {
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
      `Cannot load: ${failed.length} of ${total} health checks failed: ${
        failed.map(describe).join(", ")
      }: fix what these checks test, then start again (no state was written)`,
    );
    this.failed = failed;
    this.timedOut = timedOut;
    this.total = total;
  }
}

/** What {@linkcode StateError} was doing. */
export type StateOperation =
  | "create"
  | "open"
  | "write"
  | "replace"
  | "remove"
  | "list"
  | "lock"
  | "truncate";

/**
 * Writing or removing a state file under `<rundir>/<unit>` failed. No
 * temporary file is left behind, and the unit is never left looking
 * healthier than the file system allows: a failed `set(0)` keeps the
 * previous state, a failed `set(error)` with another code removes the error
 * file (or writes over it where it cannot be removed; only a read-only file
 * system keeps the old code, and then the program should exit), and a failed
 * `load()` leaves no error file. `load()` and `reset()` throw it; once
 * loaded, `set()`, `ready()` and `beat()` report it to `onError` instead.
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
export class StateError extends LivenessError {
  /** The file or directory the operation was on. */
  readonly path: string;
  /** What was being done: `"create"` a directory, `"write"` or `"replace"` a file, ... */
  readonly operation: StateOperation;
  /** The POSIX error code (`"EACCES"`, `"ENOSPC"`, ...), when the runtime gave one. */
  readonly code: string | undefined;

  /** Builds the error from the failed operation and the runtime's error. */
  constructor(operation: StateOperation, path: string, cause: unknown, code?: string) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot ${operation} liveness state ${path}: ${reason}: ${hint(code, path)}`, { cause });
    this.path = path;
    this.operation = operation;
    this.code = code;
  }
}

/**
 * `set()`, `ready()` or `beat()` was called for a unit this process has not
 * loaded (or has reset). Usually `load()` and `set()` were given different
 * options: use one {@linkcode createLiveness} object for both. Where the
 * owner's last `load()` failed, the message says why, and `cause` is what
 * that `load()` threw.
 *
 * @example
 * ```ts
 * import { NotLoadedError, set } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => set(0, { unit: "never-loaded", rundir: "/tmp" }), NotLoadedError);
 * ```
 *
 * @example After a refused load()
 * ```ts
 * import { createLiveness, NotLoadedError } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * const databaseIsUp = () => false;
 * await assert.rejects(liveness.load([databaseIsUp]));
 * assert.throws(() => liveness.set(0), (error) => {
 *   assert(error instanceof NotLoadedError);
 *   assert.match(error.message, /^Cannot set\(\): unit .* is not loaded: load\(\) failed: Cannot load: 1 of 1/);
 *   return true;
 * });
 * await liveness.close();
 * ```
 */
export class NotLoadedError extends LivenessError {
  /** The state directory the call was for. */
  readonly dir: string;

  /**
   * Builds the error for the unit directory `dir`; `call` names what was
   * called. A `cause` is what the owner's last `load()` threw.
   */
  constructor(dir: string, call = "set()", options?: { cause?: unknown }) {
    const failed = options !== undefined && "cause" in options;
    super(
      failed
        ? `Cannot ${call}: unit ${dir} is not loaded: load() failed: ${
          describeError(options.cause)
        }`
        : `Cannot ${call}: unit ${dir} is not loaded by this process: call load() first, ` +
          "with the same unit and rundir (one createLiveness() object keeps them together)",
      options,
    );
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
 * await liveness.close();
 * ```
 */
export class UnitInUseError extends LivenessError {
  /** The unit directory. */
  readonly dir: string;
  /** The process that owns it. */
  readonly pid: number;

  /** Builds the error for the unit directory `dir`, owned by `pid`. */
  constructor(dir: string, pid: number) {
    super(
      `Cannot load unit ${dir}: it belongs to process ${pid}, which is still running: ` +
        "give this process a unit of its own (options.unit or $LIVENESS_UNIT_NAME), " +
        `or stop process ${pid} first`,
    );
    this.dir = dir;
    this.pid = pid;
  }
}

/**
 * Reported to `onError` (never thrown) when a loaded unit's state now names
 * another live process, or was lost and could not be restored: this
 * process writes nothing more for the unit until it can own it again, so it
 * never writes over another process's state. The probes judge the state
 * that is there; this process's HTTP answers say 503.
 *
 * @example
 * ```ts
 * import { createLiveness, UnitLostError } from "@cic/liveness";
 *
 * const liveness = createLiveness({
 *   unit: "api",
 *   rundir: await Deno.makeTempDir(),
 *   onError(error) {
 *     if (error instanceof UnitLostError) console.error(`lost to ${error.pid}`);
 *   },
 * });
 * await liveness.close();
 * ```
 */
export class UnitLostError extends LivenessError {
  /** The unit directory. */
  readonly dir: string;
  /** The process the state names now; `undefined` when the state could not be restored. */
  readonly pid: number | undefined;

  /** Builds the error for the unit directory `dir`, now `pid`'s. */
  constructor(dir: string, pid: number | undefined, why?: string) {
    super(
      pid === undefined
        ? `Cannot write unit ${dir}: its state is gone and could not be restored` +
          `${why ? ` (${why})` : ""}: it is restored at the next write that finds the unit free`
        : `Cannot write unit ${dir}: it now belongs to process ${pid}: this process writes ` +
          "nothing more for it while that process owns it; give each process a unit of its own",
    );
    this.dir = dir;
    this.pid = pid;
  }
}

/**
 * A `TypeError` for a bad unit or rundir, from an option or a variable:
 * nothing was written. Its parts also make the probes' one-line reasons.
 *
 * @example
 * ```ts
 * import { createLiveness, LocationError } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => createLiveness({ unit: "../etc" }), (error) => {
 *   assert(error instanceof LocationError && error instanceof TypeError);
 *   assert.equal(error.source, "options.unit");
 *   assert.equal(error.problem, "contains '/'");
 *   return true;
 * });
 * ```
 */
export class LocationError extends TypeError {
  /** `"LocationError"`. */
  override name = "LocationError";
  /** Which value was bad. */
  readonly what: "unit name" | "rundir";
  /** Where it came from: `options.unit`, `$LIVENESS_RUNDIR`, `the host name`, ... */
  readonly source: string;
  /** What is wrong with it, for example `contains '/'`. */
  readonly problem: string;

  /** Builds the error; the message also shows the value and what a good one is. */
  constructor(what: "unit name" | "rundir", source: string, value: unknown, problem: string) {
    const advice = what === "rundir"
      ? "give an absolute directory such as /run, in UTF-8, without '.' or '..' segments"
      : "a unit is one directory name in UTF-8: no '/', no NUL, no leading '.', at most 255 bytes";
    super(`Cannot use the ${what} from ${source}: ${describe(value)} ${problem}: ${advice}`);
    this.what = what;
    this.source = source;
    this.problem = problem;
  }
}

function hint(code: string | undefined, path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `give this process write access to ${dir} (on Deno: --allow-read and --allow-write for it), or choose another rundir`;
    case "EROFS":
      return `${dir} is on a read-only file system: mount a writable volume there, or choose another rundir`;
    case "ENOSPC":
    case "EDQUOT":
      return `free space on the file system that holds ${dir}`;
    case "ENOTDIR":
      return `a part of ${dir} is a file, not a directory: remove it or choose another rundir`;
    case "EISDIR":
    case "ELOOP":
    case "EMLINK":
      return `${path} is not a file the library wrote (a directory, a symbolic link or a hard link): remove it`;
    case "EBUSY":
      return `the process named in ${path} holds it: if it is stopped (SIGSTOP), continue or kill it`;
    default:
      return "check that the rundir is a writable directory";
  }
}

/** What an error says: its message, or the value thrown. */
function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(value: unknown): string {
  if (typeof value !== "string") return String(value);
  // U+FFFD stands for bytes that are not UTF-8 (Deno gives not even those).
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return shown.replace(/\uFFFD/g, "\\ufffd");
}

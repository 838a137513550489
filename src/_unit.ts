/**
 * One unit's life cycle on a given {@linkcode Runtime}: `load`, `set`,
 * `reset`. The public functions in `liveness.ts` run it on the current
 * runtime; tests run it on a fake one.
 *
 * @module
 */
import { type HealthCheck, runChecks } from "./_checks.ts";
import { type LocationOptions, resolveLocation } from "./_location.ts";
import { withUnitLock } from "./_lock.ts";
import { ownStartTime } from "./_proc.ts";
import type { Runtime } from "./_runtime.ts";
import {
  ensureDir,
  ERROR_FILE,
  PID_FILE,
  removeStaleTempFiles,
  removeStateFile,
  STARTTIME_FILE,
  STATE_FILES,
  writeStateFile,
} from "./_state.ts";
import { NotLoadedError, UnitInUseError } from "./errors.ts";
import { isOtherLiveProcess, isRunning, isThisProcess, readOwner } from "./_owner.ts";

/**
 * Options of `load()`: where the state goes, and what the checks receive.
 *
 * @example
 * ```ts
 * import { load, type LoadOptions, reset } from "@cic/liveness";
 *
 * const options: LoadOptions = { unit: "api", rundir: await Deno.makeTempDir(), args: ["primary"] };
 * await load([(role: string) => role === "primary"], options);
 * reset(options);
 * ```
 */
export interface LoadOptions extends LocationOptions {
  /** The arguments every health check is called with. Default: none. */
  args?: readonly unknown[];
}

/**
 * One unit's life cycle, with its location resolved once: what
 * `createLiveness()` returns.
 *
 * @example
 * ```ts
 * import { createLiveness, type Liveness } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness: Liveness = createLiveness({ unit: "api", rundir: "/run" });
 * assert.equal(liveness.dir, "/run/api");
 * ```
 */
export interface Liveness {
  /** The unit's name. */
  readonly unit: string;
  /** The directory that holds unit directories. */
  readonly rundir: string;
  /** `<rundir>/<unit>`: where the state files are. */
  readonly dir: string;
  /**
   * Runs the checks; when all pass, clears what an earlier process left and
   * writes this process's pid. The unit is unhealthy until `set(0)`.
   */
  load(
    checks: Iterable<HealthCheck>,
    options?: { args?: readonly unknown[] },
  ): Promise<void>;
  /** Writes the error state: `0` is healthy, any other safe integer is not. */
  set(error?: number): void;
  /** Removes the unit's state: the probe reports unhealthy. Idempotent. */
  reset(): void;
}

/** The unit directories this process has loaded and not reset. */
const loaded = new Set<string>();

/** Opens the unit the options name, on `runtime`. */
export function openUnit(
  runtime: Runtime,
  options: LocationOptions = {},
): Liveness {
  const { unit, rundir, dir } = resolveLocation(runtime, options);
  const refuseLiveOwner = () => {
    const owner = readOwner(runtime, dir);
    if (owner && isOtherLiveProcess(runtime, owner)) throw new UnitInUseError(dir, owner.pid);
  };
  return {
    unit,
    rundir,
    dir,
    async load(checks, { args = [] } = {}) {
      refuseLiveOwner();
      await runChecks(checks, args, runtime.cwd);
      ensureDir(runtime, dir);
      await withUnitLock(runtime, dir, () => {
        refuseLiveOwner(); // another process may have loaded while the checks ran
        // The error file goes first, so that no moment shows a healthy state.
        for (const name of STATE_FILES) removeStateFile(runtime, dir, name);
        removeStaleTempFiles(
          runtime,
          dir,
          (pid) => pid !== runtime.pid && isRunning(runtime, pid),
        );
        const starttime = ownStartTime(runtime);
        if (starttime) writeStateFile(runtime, dir, STARTTIME_FILE, starttime);
        writeStateFile(runtime, dir, PID_FILE, runtime.pid);
        loaded.add(dir);
      });
    },
    set(error = 0) {
      if (!Number.isSafeInteger(error)) {
        throw new TypeError(
          `set() takes a safe integer error code (0 = healthy), got ${
            typeof error === "string" ? JSON.stringify(error) : String(error)
          }.`,
        );
      }
      if (!loaded.has(dir)) throw new NotLoadedError(dir);
      try {
        writeStateFile(runtime, dir, ERROR_FILE, error);
      } catch (failure) {
        // The old code may be 0: that must not outlive a report of trouble.
        if (error !== 0) invalidateError(runtime, dir, error);
        throw failure;
      }
    },
    reset() {
      loaded.delete(dir);
      // Another process's state stays: this one may never have owned it.
      const owner = readOwner(runtime, dir);
      if (owner && !isThisProcess(runtime, owner)) return;
      for (const name of STATE_FILES) removeStateFile(runtime, dir, name);
    },
  };
}

/**
 * After a failed write of a non-zero `error`: removes the error file, or,
 * where the directory forbids that, writes the code over the file in place.
 * On a read-only file system nothing can change it.
 */
function invalidateError(runtime: Runtime, dir: string, error: number): void {
  const path = `${dir}/${ERROR_FILE}`;
  try {
    runtime.remove(path);
  } catch {
    try {
      runtime.overwrite(path, `${error}\n`);
    } catch {
      // Read-only, or gone: the StateError being thrown says what to do.
    }
  }
}

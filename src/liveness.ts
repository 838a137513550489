/**
 * The life cycle of a unit: `load()` at start-up, `set()` while running,
 * `reset()` at shutdown.
 *
 * @module
 */
import type { HealthCheck } from "./_checks.ts";
import type { LocationOptions } from "./_location.ts";
import { runtime } from "./_runtime_current.ts";
import { type Liveness, type LoadOptions, openUnit } from "./_unit.ts";

/**
 * Holds one unit's life cycle, with its unit and rundir resolved once, so
 * that `load`, `set` and `reset` cannot name different units.
 *
 * @throws {TypeError} when the unit or the rundir is not valid.
 *
 * @example The whole life cycle
 * ```ts
 * import { createLiveness } from "@cic/liveness";
 * import assert from "node:assert/strict";
 * import { readFileSync } from "node:fs";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * await liveness.load([() => true]);
 * liveness.set(0);
 * assert.equal(readFileSync(`${liveness.dir}/error`, "utf8"), "0\n");
 * liveness.reset();
 * ```
 */
export function createLiveness(options?: LocationOptions): Liveness {
  return openUnit(runtime, options);
}

/**
 * Runs the health checks, in order, each with `options.args`. When all
 * return `true`: clears the state an earlier process left in
 * `<rundir>/<unit>`, then writes this process's pid (and start time). The
 * unit stays unhealthy until `set(0)`.
 *
 * @throws {HealthCheckError} naming every check that returned `false`.
 * @throws {TypeError} for a module without a `health` export, a check that
 * returns something other than a boolean, or a bad unit or rundir.
 * @throws {UnitInUseError} when the unit's state belongs to another process
 * that is still running; nothing is written.
 * @throws {StateError} when the state cannot be written; the unit is left
 * without an error file, so the probe says unhealthy.
 * Any exception a check throws reaches the caller untouched.
 *
 * @example
 * ```ts
 * import { load, reset } from "@cic/liveness";
 *
 * const rundir = await Deno.makeTempDir();
 * const database = { health: () => true };
 * await load([database, () => true], { unit: "api", rundir });
 * reset({ unit: "api", rundir });
 * ```
 */
export async function load(
  checks: Iterable<HealthCheck>,
  options: LoadOptions = {},
): Promise<void> {
  await openUnit(runtime, options).load(checks, options);
}

/**
 * Writes the unit's error state: `0` when healthy, any other safe integer
 * when not. Synchronous, so it also works in exit handlers.
 *
 * @throws {TypeError} when `error` is not a safe integer; nothing changes.
 * @throws {NotLoadedError} when this process has not loaded the unit.
 * @throws {StateError} when the file cannot be written. After a failed
 * `set(0)` the previous state stays; after any other failed `set()` the error
 * file is removed (or written over in place), so the probe says unhealthy
 * rather than keep a stale `0`.
 *
 * @example
 * ```ts
 * import { load, reset, set } from "@cic/liveness";
 *
 * const options = { unit: "worker", rundir: await Deno.makeTempDir() };
 * await load([], options);
 * set(0, options); // healthy
 * set(3, options); // unhealthy
 * reset(options);
 * ```
 */
export function set(error: number = 0, options?: LocationOptions): void {
  openUnit(runtime, options).set(error);
}

/**
 * Removes the unit's state, error file first: the probe reports unhealthy.
 * Synchronous and idempotent. State that names another process (one that
 * took the unit over, or owned it when this one's `load()` was refused) is
 * left alone, so a `reset()` in a `finally` block is always safe.
 *
 * @throws {StateError} when a file cannot be removed.
 *
 * @example
 * ```ts
 * import { reset } from "@cic/liveness";
 *
 * const rundir = await Deno.makeTempDir();
 * reset({ unit: "api", rundir });
 * reset({ unit: "api", rundir }); // nothing left to remove: fine
 * ```
 */
export function reset(options?: LocationOptions): void {
  openUnit(runtime, options).reset();
}

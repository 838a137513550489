/**
 * The life cycle of a unit: `createLiveness()` gives the one object that
 * owns it in this process; `load`, `set` and `reset` are also free
 * functions that reach that same object.
 *
 * @module
 */
import { resolveLocation } from "./_location.ts";
import { assertKnownKeys } from "./_options.ts";
import { resetUnit } from "./_held.ts";
import { Unit } from "./_unit.ts";
import { assertErrorCode, OPTION_KEYS } from "./_unit_options.ts";
import { NotLoadedError } from "./errors.ts";
import { runtime } from "./runtime/_current.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import { notifySocket } from "./runtime/_notify_current.ts";
import type { HealthCheck, LoadOptions } from "./check_types.ts";
import type { Liveness, LivenessOptions, LocationOptions } from "./types.ts";

/** The owners of this process, by unit directory: one each. */
const owners = new Map<string, Unit>();
/** The runtime of the owners: with systemd's notify socket, which a probe never loads. */
const ownerRuntime: Runtime = { ...runtime, notifySocket };

/**
 * The one object that owns the unit in this process: `createLiveness` with
 * the same unit and rundir returns the same object, and the free functions
 * reach it too. Give the options (heartbeat, `onError`) on the first call.
 *
 * @throws {TypeError} for an invalid unit or rundir, a bad or unknown
 * option, or other options for a unit that already has an owner.
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
 * liveness.ready(false, "warming");
 * liveness.ready(true);
 * await liveness.close();
 * ```
 */
export function createLiveness(options: LivenessOptions = {}): Liveness {
  assertKnownKeys(options, OPTION_KEYS, "createLiveness()");
  const { dir } = resolveLocation(runtime, options);
  const existing = owners.get(dir);
  const { unit: _unit, rundir: _rundir, ...rest } = options;
  if (existing) {
    if (Object.values(rest).some((value) => value !== undefined)) {
      throw new TypeError(
        `Cannot create a second owner of unit ${dir}: use the object the first createLiveness() returned`,
      );
    }
    return existing;
  }
  const owner = new Unit(ownerRuntime, options, owners);
  owners.set(dir, owner);
  return owner;
}

/**
 * Runs the health checks, in order, each with `options.args`. When all
 * return `true`: clears the state an earlier process left in
 * `<rundir>/<unit>`, then writes this process's pid (and start time,
 * heartbeat and readiness). The unit stays unhealthy until `set(0)`. It
 * reaches the unit's owner, made with default options where there is none.
 *
 * @throws {HealthCheckError} naming every check that returned `false`.
 * @throws {TypeError} for a module without a `health` export, a check that
 * returns something other than a boolean, or a bad unit or rundir.
 * @throws {UnitInUseError} when the unit's state belongs to another process
 * that is still running; nothing is written.
 * @throws {StateError} when the state cannot be written, or the unit
 * directory is a symbolic link; the unit is left without an error file, so
 * the probe says unhealthy.
 * @throws {LivenessError} when the owner was closed, or began shutting
 * down, while the checks ran; nothing is written.
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
  options: LocationOptions & LoadOptions = {},
): Promise<void> {
  assertKnownKeys(options, ["unit", "rundir", "args", "timeout"], "load()");
  const { unit, rundir, args, timeout } = options;
  await createLiveness({ unit, rundir }).load(checks, { args, timeout });
}

/**
 * The owner of the unit that free-function options name, if this process
 * has one; `set` and `reset` never make one.
 */
function ownerOf(options: LocationOptions | undefined, what: string): {
  owner: Liveness | undefined;
  dir: string;
} {
  assertKnownKeys(options, ["unit", "rundir"], what);
  const { dir } = resolveLocation(runtime, { unit: options?.unit, rundir: options?.rundir });
  return { owner: owners.get(dir), dir };
}

/**
 * Writes the unit's error state: `0` when healthy, any other safe integer
 * when not. Synchronous, so it also works in exit handlers. Trouble with the
 * state directory is reported to `onError`, never thrown.
 *
 * @throws {TypeError} when `error` is not a safe integer (`undefined` too:
 * `set(err.errno)` of an error without one must not read as healthy), or
 * an option is unknown; nothing changes.
 * @throws {NotLoadedError} when this process has not loaded the unit.
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
export function set(error: number, options?: LocationOptions): void {
  const { owner, dir } = ownerOf(options, "set()");
  if (owner) return owner.set(error);
  assertErrorCode(error);
  throw new NotLoadedError(dir, "set()");
}

/**
 * Removes the unit's state, error file first: the probe reports unhealthy.
 * Synchronous and idempotent. State that names another process is left
 * alone, so a `reset()` in a `finally` block is always safe. Where this
 * process has no owner of the unit, none is made.
 *
 * @throws {StateError} when a file cannot be removed.
 * @throws {TypeError} for a bad unit or rundir, or an unknown option.
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
  const { owner, dir } = ownerOf(options, "reset()");
  if (owner) owner.reset();
  else resetUnit(runtime, dir);
}

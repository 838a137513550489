/**
 * The public types of health checks: the start-up checks of `load()` and
 * the checks `watch()` keeps running. A leaf: it imports nothing.
 *
 * @module
 */

/**
 * A function that tells whether something the program needs is usable. It
 * receives `load()`'s `args`, and returns `true` or `false` (or a promise of
 * one).
 *
 * A check that declares one parameter more than there are `args` also
 * receives an `AbortSignal` after them, aborted when the check's time is up
 * (see {@linkcode DEFAULT_CHECK_TIMEOUT}): pass it on to `fetch`, a database
 * driver or a timer so that a timed-out check stops. Checks that declare no
 * such parameter are called exactly as before, with `args` alone. The
 * parameter counts as declared the way `Function.length` counts (like
 * Mocha's `done`): a parameter with a default value, or after one, or a rest
 * parameter, does not.
 *
 * A synchronous check cannot be interrupted: while it runs nothing else
 * does, not even the timer. When it returns after its time is up it counts
 * as timed out all the same.
 *
 * @example A check that stops when its time is up
 * ```ts
 * import { type HealthFunction, load, reset } from "@cic/liveness";
 *
 * // args: ["db"], so the second parameter receives the signal.
 * const reachable: HealthFunction = async (host: string, signal: AbortSignal) => {
 *   // A real check passes the signal on: fetch(url, { signal }), a driver's option.
 *   await Promise.resolve();
 *   signal.throwIfAborted();
 *   return host === "db";
 * };
 * const where = { unit: "api", rundir: await Deno.makeTempDir() };
 * await load([reachable], { ...where, args: ["db"] });
 * reset(where);
 * ```
 */
export type HealthFunction = (
  ...args: never[]
) => boolean | Promise<boolean>;

/**
 * A health check: a module specifier (a string or URL; the module exports a
 * `health` function), a function, or an object with a `health` method.
 *
 * @example
 * ```ts
 * import type { HealthCheck } from "@cic/liveness";
 *
 * const cache = { warm: true, health() { return this.warm; } };
 * const checks: HealthCheck[] = ["./checks/db.ts", () => true, cache];
 * ```
 */
export type HealthCheck = string | URL | HealthFunction | {
  health: HealthFunction;
};

/**
 * Options of `load()`: what the checks receive, and how long each may take.
 *
 * @example
 * ```ts
 * import { createLiveness, type LoadOptions } from "@cic/liveness";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * const options: LoadOptions = { args: ["primary"], timeout: 5000 };
 * await liveness.load([(role: string) => role === "primary"], options);
 * await liveness.close();
 * ```
 */
export interface LoadOptions {
  /** The arguments every health check is called with. Default: none. */
  args?: readonly unknown[];
  /** Milliseconds each check may take before the load fails. */
  timeout?: number;
}

/**
 * A check that `watch()` runs in the background: it receives an
 * `AbortSignal`, aborted when its time is up or the checks stop (pass it on
 * to `fetch` or a driver), and returns `true` (passed) or `false` (failed),
 * or a promise of one. Anything else, a throw or a rejection is a failure
 * with its message, never a crash.
 *
 * @example
 * ```ts
 * import type { WatchFunction } from "@cic/liveness";
 *
 * const upstream: WatchFunction = async (signal) =>
 *   (await fetch("http://localhost:8080/", { signal }).catch(() => undefined))?.ok === true;
 * ```
 */
export type WatchFunction = (signal: AbortSignal) => boolean | Promise<boolean>;

/**
 * How a watched check runs and counts, for one check or, given to `watch()`
 * as its options, for all of them.
 *
 * @example
 * ```ts
 * import type { WatchOptions } from "@cic/liveness";
 *
 * const options: WatchOptions = { kind: "live", interval: 10_000, timeout: 2000, threshold: 3 };
 * ```
 */
export interface WatchOptions {
  /**
   * `"ready"` (the default): a failure makes the unit not ready, never
   * restarted. `"live"`: the unit is not live once the check has failed
   * `threshold` times in a row (the files then hold error 69).
   */
  kind?: "ready" | "live";
  /** Milliseconds from one call's start to the next (a call never starts while one runs). Default: 5000. */
  interval?: number;
  /** Milliseconds a call may take: then it is cut (its signal aborted) and fails. Default: 2000. */
  timeout?: number;
  /** Failures in a row that count against the unit. Default: 1 for `"ready"`, 3 for `"live"`. */
  threshold?: number;
}

/**
 * A watched check with settings of its own.
 *
 * @example
 * ```ts
 * import type { WatchedCheck } from "@cic/liveness";
 *
 * const loop: WatchedCheck = { check: () => true, kind: "live", threshold: 5 };
 * ```
 */
export interface WatchedCheck extends WatchOptions {
  /** The check itself. */
  check: WatchFunction;
}

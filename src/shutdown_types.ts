/**
 * The public types of the shutdown: its options, what handlers are given
 * and what it resolves with. A leaf: it imports nothing.
 *
 * @module
 */

/**
 * The shutdown sequence's timing.
 *
 * @example
 * ```ts
 * import type { ShutdownOptions } from "@cic/liveness";
 *
 * const options: ShutdownOptions = { drain: 5000, timeout: 25_000 };
 * ```
 */
export interface ShutdownOptions {
  /**
   * Milliseconds to stay up, not ready, before the handlers run, so that
   * load balancers stop sending traffic. Default: 5000 where
   * `$KUBERNETES_SERVICE_HOST` is set, else 0.
   */
  drain?: number;
  /** Milliseconds for the whole sequence, drain included. Default: 25 000. */
  timeout?: number;
  /**
   * Runs first, when the shutdown begins (at the signal), before readiness
   * fails and before the drain; awaited, within the `timeout`. What it
   * throws goes to `onError` and makes the code 1; the sequence goes on.
   */
  beforeShutdown?: (context: ShutdownContext) => unknown;
  /**
   * Readiness during the drain: `"fail"` (the default) makes the unit not
   * ready (`draining`) at once; `"keep"` leaves it as the program says
   * until the drain ends, then fails it. Liveness holds either way.
   */
  readiness?: "fail" | "keep";
}

/**
 * Options of `handleSignals()`.
 *
 * @example
 * ```ts
 * import type { SignalOptions } from "@cic/liveness";
 *
 * const options: SignalOptions = { signals: ["SIGTERM"], drain: 0 };
 * ```
 */
export interface SignalOptions extends ShutdownOptions {
  /** The signals that start the shutdown. Default: `SIGTERM`, `SIGINT`. */
  signals?: readonly string[];
}

/**
 * What a shutdown handler is given.
 *
 * @example
 * ```ts
 * import type { ShutdownContext } from "@cic/liveness";
 *
 * const handler = ({ signal }: ShutdownContext) => console.log(`stopping on ${signal}`);
 * ```
 */
export interface ShutdownContext {
  /** The signal that started the shutdown; `undefined` for `shutdown()`. */
  readonly signal: string | undefined;
}

/**
 * How a shutdown went.
 *
 * @example
 * ```ts
 * import { createLiveness } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * liveness.onShutdown(() => {});
 * assert.equal((await liveness.shutdown({ drain: 0 })).code, 0);
 * ```
 */
export interface ShutdownResult {
  /**
   * The exit code a signal would end the program with: 0 when every handler
   * finished in time and the state was removed, else 1.
   */
  readonly code: 0 | 1;
  /** The signal that started the shutdown; `undefined` for `shutdown()`. */
  readonly signal: string | undefined;
  /** What the handlers threw, then what the close threw (a `StateError`: the state could not be removed). */
  readonly errors: readonly unknown[];
  /** Whether the timeout cut the handlers short. */
  readonly timedOut: boolean;
}

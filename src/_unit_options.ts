/**
 * What the owner's calls accept, checked for callers in plain JavaScript
 * too: `createLiveness()`'s options beyond the location (the heartbeat,
 * where trouble goes, what to do without `/proc`, the HTTP prefix), and the
 * arguments of `set()` and `ready()`.
 *
 * @module
 */
import { MAX_TIMER_MS } from "./_clock.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { HEARTBEAT_MAX_AGE_LIMIT } from "./_verdict.ts";
import type { LivenessError } from "./errors.ts";
import type { HeartbeatOptions, LivenessOptions } from "./types.ts";

/** Every option `createLiveness()` takes. */
export const OPTION_KEYS = [
  "unit",
  "rundir",
  "heartbeat",
  "onError",
  "procfs",
  "http",
  "notify",
  "members",
];

const DEFAULT_HEARTBEAT = { interval: 1_000, maxAge: 10_000 };
const READY_REASON_MAX_BYTES = 200;

/** The resolved heartbeat: off, or on with its interval (`0`: manual beats only). */
export type Beat = { readonly interval: number; readonly maxAge: number } | undefined;

/** `createLiveness()`'s options beyond the location, checked and resolved. */
export interface UnitSettings {
  readonly heartbeat: Beat;
  /** Where trouble goes: never throws (see {@linkcode guardReporter}). */
  readonly onError: (error: LivenessError) => void;
  readonly procfs: "warn" | "error" | "ignore";
  /** The HTTP answers' prefix, checked by the handler that takes it. */
  readonly prefix: string | undefined;
  /** Whether lightship's `/live`, `/ready` and `/health` are answered too. */
  readonly lightship: boolean;
}

/**
 * The settings `options` give (its keys and its location already checked).
 *
 * @throws {TypeError} for a bad heartbeat, `onError` or `procfs`, or an
 * unknown key of `options.http`.
 */
export function resolveSettings(options: LivenessOptions): UnitSettings {
  const heartbeat = resolveHeartbeat(options.heartbeat);
  const onError = guardReporter(options.onError ?? defaultReporter());
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError(`Cannot create the unit: options.onError must be a function`);
  }
  const procfs = options.procfs ?? "warn";
  if (!["warn", "error", "ignore"].includes(procfs)) {
    throw new TypeError(
      `Cannot create the unit: options.procfs must be "warn", "error" or "ignore"`,
    );
  }
  assertKnownKeys(options.http, ["prefix", "lightship"], "createLiveness() with options.http");
  const lightship = options.http?.lightship ?? false;
  if (typeof lightship !== "boolean") {
    throw new TypeError("Cannot create the unit: options.http.lightship must be a boolean");
  }
  return { heartbeat, onError, procfs, prefix: options.http?.prefix, lightship };
}

/** The heartbeat options, checked. */
function resolveHeartbeat(options: false | HeartbeatOptions | undefined): Beat {
  if (options === false) return undefined;
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("Cannot create the unit: options.heartbeat must be false or an object");
  }
  assertKnownKeys(
    options,
    ["interval", "maxAge", "manual"],
    "createLiveness() with options.heartbeat",
  );
  const manual = options?.manual ?? false;
  const interval = manual ? 0 : options?.interval ?? DEFAULT_HEARTBEAT.interval;
  const maxAge = options?.maxAge ?? Math.max(DEFAULT_HEARTBEAT.maxAge, interval * 3);
  if (!manual && !(Number.isSafeInteger(interval) && interval > 0 && interval <= MAX_TIMER_MS)) {
    throw new TypeError(
      `Cannot create the unit: heartbeat.interval must be a whole number of milliseconds from 1 ` +
        `to ${MAX_TIMER_MS} (the longest a timer waits), got ${describeOption(interval)}`,
    );
  }
  if (!(Number.isSafeInteger(maxAge) && maxAge > interval && maxAge <= HEARTBEAT_MAX_AGE_LIMIT)) {
    throw new TypeError(
      "Cannot create the unit: heartbeat.maxAge must be a whole number of milliseconds longer " +
        "than the interval (else the unit would read stale between two beats) and at most " +
        `${HEARTBEAT_MAX_AGE_LIMIT} (the most the probes read), got ${describeOption(maxAge)}`,
    );
  }
  return { interval, maxAge };
}

/** Without `onError`: each trouble once on standard error, so it is never silent. */
function defaultReporter(): (error: LivenessError) => void {
  return (error) => console.error(`@cic/liveness: ${error.message}`);
}

/**
 * `report`, made safe to call from a timer, a write or the shutdown: what it
 * throws goes to standard error with the report, never up to the caller (an
 * uncaught exception, a `shutdown()` that rejects).
 */
function guardReporter(report: (error: LivenessError) => void): (error: LivenessError) => void {
  return (error) => {
    try {
      report(error);
    } catch (thrown) {
      console.error(`@cic/liveness: ${error.message} (onError threw: ${String(thrown)})`);
    }
  };
}

/**
 * Throws a `TypeError` unless `error` is a safe integer: `set()` of nothing
 * (an `errno` that is `undefined`) must not read as healthy.
 */
export function assertErrorCode(error: unknown): asserts error is number {
  if (Number.isSafeInteger(error)) return;
  throw new TypeError(
    `Cannot set(): the error code must be a safe integer (0 = healthy), got ${
      typeof error === "string" ? JSON.stringify(error) : String(error)
    }`,
  );
}

/** Throws a `TypeError` unless `ready()` was given a boolean and, if any, a short printable reason. */
export function assertReadiness(ready: unknown, reason: unknown): void {
  if (typeof ready !== "boolean") {
    throw new TypeError(
      `Cannot ready(): the first argument must be true or false, got ${String(ready)}`,
    );
  }
  if (reason !== undefined && (typeof reason !== "string" || !isReason(reason))) {
    throw new TypeError(
      `Cannot ready(): the reason must be printable ASCII text of at most ${READY_REASON_MAX_BYTES} bytes`,
    );
  }
}

function isReason(reason: string): boolean {
  return reason.length <= READY_REASON_MAX_BYTES && /^[\x20-\x7e]*$/.test(reason);
}

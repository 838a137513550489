/**
 * What `watch()` is given, checked: the checks' names, functions and
 * settings, with the defaults of the call and of the library.
 *
 * @module
 */
import { MAX_TIMER_MS } from "./_clock.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { printable } from "./_verdict.ts";
import type { WatchedCheck, WatchFunction, WatchOptions } from "./check_types.ts";

/** The defaults of a watched check: every 5 s, cut after 2 s; 1 failure for readiness, 3 for liveness. */
export const WATCH_DEFAULTS = { interval: 5_000, timeout: 2_000, ready: 1, live: 3 } as const;

/** The parts every answer has: no check may take their names. */
const RESERVED = ["pid", "error", "heartbeat", "ready"];
/** A check's name: what `?exclude=` names and the ready file shows. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TIMING_KEYS = ["interval", "timeout", "threshold"] as const;

/** A check's settings, checked. */
export interface WatchSettings {
  readonly kind: "ready" | "live";
  readonly interval: number;
  readonly timeout: number;
  readonly threshold: number;
}

/** One check `watch()` was given, checked. */
export interface WatchSpec {
  readonly name: string;
  readonly check: WatchFunction;
  readonly settings: WatchSettings;
}

/**
 * The checks of one `watch(checks, options)` call, checked; `isWatched`
 * tells a name already taken.
 *
 * @throws {TypeError} naming a bad or taken name, a bad check or option.
 */
export function watchSpecs(
  checks: unknown,
  options: WatchOptions | undefined,
  isWatched: (name: string) => boolean,
): WatchSpec[] {
  assertKnownKeys(options, ["kind", ...TIMING_KEYS], "watch()");
  resolve(options ?? {}, "options", undefined); // checked here, applied to each check
  const defaults = options ?? {};
  if (typeof checks !== "object" || checks === null || Array.isArray(checks)) {
    throw new TypeError(
      `Cannot call watch(): its checks must be an object of named checks ({ db: () => ... }), got ${
        describeOption(checks)
      }`,
    );
  }
  const entries = Object.entries(checks);
  if (entries.length === 0) {
    throw new TypeError("Cannot call watch(): it was given no check: name at least one");
  }
  return entries.map(([name, value]) => {
    const what = `check ${JSON.stringify(printable(name, 64))}`;
    if (!NAME.test(name) || RESERVED.includes(name)) {
      throw new TypeError(
        `Cannot call watch(): ${what} is not a name a check can have: 1 to 63 letters, digits ` +
          `and ._- (starting with a letter or digit), none of ${RESERVED.join(", ")}`,
      );
    }
    if (isWatched(name)) {
      throw new TypeError(`Cannot call watch(): ${what} is already watched: stop it first`);
    }
    const spec = (typeof value === "function" ? { check: value } : value) as WatchedCheck;
    if (typeof spec !== "object" || spec === null || typeof spec.check !== "function") {
      throw new TypeError(
        `Cannot call watch(): ${what} must be a function or an object with a check() function, got ${
          describeOption(value)
        }`,
      );
    }
    assertKnownKeys(spec, ["check", "kind", ...TIMING_KEYS], `watch() with ${what}`);
    return { name, check: spec.check.bind(spec), settings: resolve(spec, what, defaults) };
  });
}

/** A check's (or the defaults') settings, checked; `what` names it in messages. */
function resolve(
  spec: WatchOptions,
  what: string,
  defaults: WatchOptions | undefined,
): WatchSettings {
  const kind = spec.kind ?? defaults?.kind ?? "ready";
  if (kind !== "ready" && kind !== "live") {
    throw new TypeError(
      `Cannot call watch(): ${what}.kind must be "ready" or "live", got ${describeOption(kind)}`,
    );
  }
  const number = (key: (typeof TIMING_KEYS)[number], fallback: number, most: number) => {
    const value = spec[key] ?? defaults?.[key] ?? fallback;
    if (Number.isSafeInteger(value) && value >= 1 && value <= most) return value;
    throw new TypeError(
      `Cannot call watch(): ${what}.${key} must be a whole number ${
        key === "threshold" ? "of failures" : "of milliseconds"
      } from 1 to ${most}, got ${describeOption(value)}`,
    );
  };
  return {
    kind,
    interval: number("interval", WATCH_DEFAULTS.interval, MAX_TIMER_MS),
    timeout: number("timeout", WATCH_DEFAULTS.timeout, MAX_TIMER_MS),
    threshold: number("threshold", WATCH_DEFAULTS[kind], Number.MAX_SAFE_INTEGER),
  };
}

/**
 * Checks that keep running: the named readiness and liveness checks
 * `watch()` runs in the background, each on its interval and within its
 * timeout, one call at a time, with its last result and when it came. A
 * {@linkcode Watch} combines them with what the program said (`set()`,
 * `ready()`): it gives the owner the state to write, which every probe
 * reads, and the parts the HTTP answers list.
 *
 * @module
 */
import { describeOption } from "./_options.ts";
import { type HealthPart, heldParts, type HeldState } from "./_health.ts";
import type { HeldUnit } from "./_held.ts";
import {
  formatReadiness,
  formatSeconds,
  judgeReadiness,
  printable,
  type Readiness,
} from "./_verdict.ts";
import { type WatchSettings, watchSpecs } from "./_watch_options.ts";
import { LivenessError } from "./errors.ts";
import type { WatchOptions } from "./check_types.ts";

/**
 * The error code written while a liveness check has failed its threshold
 * and the program said `set(0)`: 69, `EX_UNAVAILABLE` of `sysexits.h`.
 */
export const CHECK_ERROR = 69;

/** The most of a result kept: the ready file holds `not-ready check NAME: RESULT` in 256 bytes. */
const RESULT_MAX_BYTES = 150;
const READY: Readiness = { state: "ready" };

/** What a {@linkcode Watch} needs of its owner. */
export interface WatchHost {
  /** A monotonic clock in milliseconds (`Runtime.now()`). */
  now(): number;
  /** Lets the program exit while `timer` is pending. */
  unrefTimer(timer: unknown): void;
  /** Where the combined state is written. */
  readonly held: Pick<HeldUnit, "loaded" | "readiness" | "set" | "setReadiness">;
  /** Where trouble goes (`onError`). */
  report(error: LivenessError): void;
  /** Told after the checks' verdict was written, where it changed. */
  changed?(): void;
}

/** One result of a check: whether it passed, what it said, and when (monotonic and wall clock). */
interface Result {
  readonly ok: boolean;
  readonly text: string;
  readonly at: number;
  readonly time: number;
}

/** The call of a check that has not ended yet. */
interface Call {
  readonly started: number;
  readonly controller: AbortController;
  /** Whether its timeout cut it: its late result is nobody's. */
  cut: boolean;
}

/** One watched check: its timer, the call in flight, its last result. */
class Watched {
  readonly name: string;
  readonly settings: WatchSettings;
  readonly #check: (signal: AbortSignal) => unknown;
  readonly #host: WatchHost;
  readonly #changed: () => void;
  last: Result | undefined;
  /** Failures in a row, since the last success. */
  failures = 0;
  #passed = false; // whether a call ever passed: a readiness check never seen passing is failing
  #call: Call | undefined;
  #timer: unknown;
  #deadline: unknown;
  #stopped = false;

  constructor(
    name: string,
    check: (signal: AbortSignal) => unknown,
    settings: WatchSettings,
    host: WatchHost,
    changed: () => void,
  ) {
    this.name = name;
    this.#check = check;
    this.settings = settings;
    this.#host = host;
    this.#changed = changed;
  }

  /** The first call at once, then one tick every interval. */
  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.settings.interval);
    this.#host.unrefTimer(this.#timer); // never what keeps the program alive
    this.#tick();
  }

  /** No more calls; the call in flight has its signal aborted and its result ignored. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer as number);
    clearTimeout(this.#deadline as number);
    this.#call?.controller.abort(new DOMException("The check was stopped", "AbortError"));
    this.#call = undefined;
  }

  /** Whether the check counts against the unit now: failed its threshold, or (readiness) never passed. */
  get failing(): boolean {
    if (this.settings.kind === "ready" && !this.#passed) return true;
    return this.failures >= this.settings.threshold;
  }

  /** `check db: timed out after 2000ms`: the reason the ready file and the answers give. */
  get reason(): string {
    return `check ${this.name}: ${this.last?.text ?? "not run yet"}`;
  }

  /**
   * One tick: a call, unless the last one has not ended. Then no second
   * call starts (no pile-up); once that call is past its timeout, each tick
   * counts one more failure, so that a check that never ends reaches its
   * threshold.
   */
  #tick(): void {
    if (this.#stopped) return;
    const call = this.#call;
    if (call === undefined) return this.#run();
    if (!call.cut) return;
    this.#record(false, `timed out after ${this.settings.timeout}ms, and still running`);
  }

  #run(): void {
    const { timeout } = this.settings;
    const call: Call = { started: this.#host.now(), controller: new AbortController(), cut: false };
    this.#call = call;
    this.#deadline = setTimeout(() => this.#cut(call), timeout);
    this.#host.unrefTimer(this.#deadline);
    // Called in a microtask: a check that throws at once fails like one that rejects.
    Promise.resolve().then(() => this.#check(call.controller.signal)).then(
      (value) =>
        this.#settled(
          call,
          value === true
            ? undefined
            : value === false
            ? "returned false"
            : `returned ${
              describeOption(value)
            }: a check returns true or false (or a promise of one)`,
        ),
      (error) => this.#settled(call, describeThrown(error)),
    );
  }

  /** The timeout: the call's signal is aborted and the check fails, named. */
  #cut(call: Call): void {
    if (this.#call !== call || call.cut) return;
    call.cut = true;
    const { timeout } = this.settings;
    call.controller.abort(
      new DOMException(`The check did not finish in ${timeout} ms`, "TimeoutError"),
    );
    this.#record(false, `timed out after ${timeout}ms`);
  }

  #settled(call: Call, failure: string | undefined): void {
    if (this.#call !== call) return; // stopped
    // A synchronous check blocks the timer: late is timed out all the same.
    if (this.#host.now() - call.started > this.settings.timeout) this.#cut(call);
    clearTimeout(this.#deadline as number);
    this.#call = undefined;
    if (!call.cut) this.#record(failure === undefined, failure ?? "passed");
  }

  #record(ok: boolean, text: string): void {
    if (this.#stopped) return;
    const [failing, reason] = [this.failing, this.reason];
    this.last = {
      ok,
      text: printable(text, RESULT_MAX_BYTES),
      at: this.#host.now(),
      time: Date.now(),
    };
    this.failures = ok ? 0 : this.failures + 1;
    this.#passed ||= ok;
    // Only a change of the verdict goes on: many checks, each looking at all, is quadratic.
    if (this.failing !== failing || (failing && this.reason !== reason)) this.#changed();
  }

  /** The check as a part of the answers, with its last result's age under `?verbose`. */
  part(now: number): HealthPart {
    const { kind, threshold } = this.settings;
    const last = this.last;
    const age = last && `${formatSeconds(Math.round((now - last.at) / 100) * 100)}s ago`;
    const inRow = this.failures > 1 ? `, ${this.failures} failures in a row` : "";
    const at = last && { at: last.time };
    if (this.failing) {
      return {
        name: this.name,
        ok: false,
        status: kind === "ready" ? "not-ready" : "unhealthy",
        reason: kind === "ready"
          ? judgeReadiness({ kind: "value", value: { state: "not-ready", reason: this.reason } })!
            .reason
          : this.reason,
        ...(age ? { detail: `${age}${inRow}` } : {}),
        ...at,
      };
    }
    const detail = last === undefined
      ? "not run yet"
      : last.ok
      ? `passed ${age}`
      : `${this.failures} of ${threshold} failures in a row, the last ${age}: ${last.text}`;
    return { name: this.name, ok: true, status: "healthy", reason: "ok", detail, ...at };
  }
}

/** A thrown value as a result: an error's message, else the value; always a string. */
function describeThrown(error: unknown): string {
  try {
    // A message may be any value (a symbol, an object whose toString throws): String() or catch.
    if (error instanceof Error) return String(error.message || error.name);
    return `threw ${typeof error === "string" ? JSON.stringify(error) : String(error)}`;
  } catch {
    return "threw a value that cannot be shown";
  }
}

/**
 * The checks an owner watches, and what the program said, combined: not
 * ready when the program or a failing readiness check says so; error
 * {@linkcode CHECK_ERROR} when the program said `0` and a liveness check has
 * failed its threshold.
 */
export class Watch {
  readonly #host: WatchHost;
  readonly #checks = new Map<string, Watched>();
  /** What the program said since its last `load()`. */
  #said: { error: number | undefined; readiness: Readiness } = {
    error: undefined,
    readiness: READY,
  };
  /** The error code last given to the held unit. */
  #written: number | undefined;
  #ended = false;

  constructor(host: WatchHost) {
    this.#host = host;
  }

  /**
   * Starts `checks` (see `Liveness.watch()`) unless stopped for good; returns what stops them.
   *
   * @throws {TypeError} naming a bad or taken name, a bad check or option.
   */
  add(checks: unknown, options: WatchOptions | undefined): () => void {
    const added = watchSpecs(checks, options, (name) => this.#checks.has(name)).map(
      ({ name, check, settings }) =>
        new Watched(name, check, settings, this.#host, () => this.sync()),
    );
    if (this.#ended) return () => {}; // stopped for good: nothing starts
    for (const check of added) this.#checks.set(check.name, check);
    this.sync(); // a readiness check not run yet is not ready
    for (const check of added) check.start();
    return () => {
      if (this.#ended) return; // stopped at the shutdown or close(): the last verdict stays
      for (const check of added) {
        if (this.#checks.get(check.name) !== check) continue;
        check.stop();
        this.#checks.delete(check.name);
      }
      this.sync();
    };
  }

  /** `set(code)`: remembers it; returns the code to write. */
  error(code: number): number {
    this.#said.error = code;
    return (this.#written = this.#error()!);
  }

  /** `ready()`: remembers it; returns the readiness to write. */
  readiness(readiness: Readiness): Readiness {
    this.#said.readiness = readiness;
    return this.#readiness();
  }

  /** At `load()`: nothing said yet; returns the readiness to write first. */
  loaded(): Readiness {
    this.#said = { error: undefined, readiness: READY };
    this.#written = undefined;
    return this.#readiness();
  }

  /** Writes the combined state where it changed (never over `draining`). Never throws. */
  sync(): void {
    const held = this.#host.held;
    if (this.#ended || !held.loaded) return;
    try {
      const readiness = this.#readiness();
      if (
        held.readiness.state !== "draining" &&
        formatReadiness(readiness) !== formatReadiness(held.readiness)
      ) held.setReadiness(readiness);
      const error = this.#error();
      if (error !== undefined && error !== this.#written) {
        this.#written = error;
        held.set(error);
      }
      this.#host.changed?.();
    } catch (error) {
      this.#host.report(
        new LivenessError(`Cannot write the checks' verdict: ${String(error)}`, { cause: error }),
      );
    }
  }

  /**
   * The parts of the answers: the held state's, judged on what the program
   * said (so that `?exclude=` of a check leaves it out), with the liveness
   * checks after `heartbeat`, and for readiness the readiness checks after
   * `ready`.
   */
  parts(state: HeldState, kind: "live" | "ready"): HealthPart[] {
    if (this.#checks.size === 0) return heldParts(state, kind);
    const said = this.#said;
    const base = heldParts({
      ...state,
      error: state.error === CHECK_ERROR && said.error === 0 ? 0 : state.error,
      readiness: state.readiness.state === "draining" ? state.readiness : said.readiness,
    }, kind);
    const now = this.#host.now();
    const checks = [...this.#checks.values()];
    const live = checks.filter((check) => check.settings.kind === "live").map((c) => c.part(now));
    if (kind === "live") return [...base, ...live];
    const ready = checks.filter((check) => check.settings.kind === "ready").map((c) => c.part(now));
    return [...base.slice(0, -1), ...live, base.at(-1)!, ...ready];
  }

  /**
   * Stops the checks for good, their state kept: those of `kind` only (the
   * liveness checks as the shutdown begins: liveness holds through it), or
   * every one (as readiness fails, and at `close()`).
   */
  stop(kind?: "live"): void {
    this.#ended ||= kind === undefined;
    for (const check of this.#checks.values()) {
      if (kind === undefined || check.settings.kind === kind) check.stop();
    }
  }

  #readiness(): Readiness {
    if (this.#said.readiness.state !== "ready") return this.#said.readiness;
    for (const check of this.#checks.values()) {
      if (check.settings.kind === "ready" && check.failing) {
        return { state: "not-ready", reason: check.reason };
      }
    }
    return READY;
  }

  #error(): number | undefined {
    const said = this.#said.error;
    if (said !== 0) return said;
    for (const check of this.#checks.values()) {
      if (check.settings.kind === "live" && check.failing) return CHECK_ERROR;
    }
    return 0;
  }
}

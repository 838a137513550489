/**
 * An owner's shutdown: its handlers, the signals that start it, and the
 * sequence: not ready (`draining`) at once, the drain, the program's
 * servers closed, the handlers (last registered first), then the owner's
 * close, all within a deadline; a signal's sequence ends in the process's
 * exit. What each step does to the unit is the owner's, given as
 * {@linkcode ShutdownSteps}.
 *
 * @module
 */
import { MAX_TIMER_MS } from "./_clock.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import type { ServersClosed } from "./_servers.ts";
import { type ShutdownStart, START_KEYS, startOf, startSequence } from "./_shutdown_start.ts";
import { LivenessError } from "./errors.ts";
import { CATCHABLE_SIGNALS, type Runtime } from "./runtime/_runtime.ts";
import type {
  ShutdownContext,
  ShutdownOptions,
  ShutdownResult,
  SignalOptions,
} from "./shutdown_types.ts";

const DEFAULT_TIMEOUT_MS = 25_000;
const KUBERNETES_DRAIN_MS = 5_000;
const SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** The shutdown sequences signals started in this process: it exits when all have ended. */
const shutdowns = new Set<Promise<ShutdownResult>>();
/** Whether a signal began this process's exit: from then on no `load()` writes, or settles. */
let exiting = false;

/**
 * Adds `handler` to `handlers` (`onShutdown()` of the owner and of a
 * member); returns what removes it.
 *
 * @throws {TypeError} unless `handler` is a function.
 */
export function addShutdownHandler(
  handlers: ((context: ShutdownContext) => unknown)[],
  handler: (context: ShutdownContext) => unknown,
): () => void {
  if (typeof handler !== "function") {
    throw new TypeError("Cannot onShutdown(): the handler must be a function");
  }
  handlers.push(handler);
  return () => {
    const index = handlers.indexOf(handler);
    if (index >= 0) handlers.splice(index, 1);
  };
}

/** Whether a signal began this process's exit. */
export function isExiting(): boolean {
  return exiting;
}

/** What never settles: the signal's sequence ends in an exit. */
export function untilExit(): Promise<never> {
  return new Promise<never>(() => {});
}

/** What the sequence does to the owner, step by step. */
export interface ShutdownSteps {
  /** Throws unless the owner is open: `call` names what was called. */
  assertOpen(call: string): void;
  /** At the start, before the hook: what could fail liveness stops (the watched liveness checks). */
  begin(): void;
  /** At once: not ready (`draining`). */
  drain(): void;
  /** After the drain: closes the program's servers, cutting what is left at `deadline`. */
  closeServers(deadline: Promise<unknown>, timeout: number): Promise<ServersClosed>;
  /** At the end: the owner's close. What it throws is the sequence's last error. */
  close(): Promise<void>;
  /** Where each trouble of the sequence goes. */
  report(error: LivenessError): void;
}

/** The drain and the timeout of one sequence, checked. */
interface Timing {
  readonly drain: number;
  readonly timeout: number;
  /** The hook at the signal, and whether readiness fails at once. */
  readonly start: ShutdownStart;
}

/** One owner's shutdown. */
export class Shutdown {
  readonly #runtime: Runtime;
  readonly #steps: ShutdownSteps;
  readonly #handlers: ((context: ShutdownContext) => unknown)[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #sequence: Promise<ShutdownResult> | undefined;
  #running = false;
  /** The signal that started the sequence: the program exits at its end, listeners kept till then. */
  #signalled: string | undefined;

  /** The shutdown of the owner whose steps are `steps`, on `runtime`. */
  constructor(runtime: Runtime, steps: ShutdownSteps) {
    this.#runtime = runtime;
    this.#steps = steps;
  }

  /** Whether the sequence began (it may have ended). */
  get started(): boolean {
    return this.#sequence !== undefined || this.#running; // running: from its first step
  }

  /** Whether the sequence runs and has not reached its close: the owner's `close()` leaves that to it. */
  get running(): boolean {
    return this.#running;
  }

  /** See `Liveness.onShutdown()`. */
  onShutdown(handler: (context: ShutdownContext) => unknown): () => void {
    return addShutdownHandler(this.#handlers, handler);
  }

  /** See `Liveness.handleSignals()`. */
  handleSignals(options: SignalOptions): void {
    assertKnownKeys(options, ["drain", "timeout", "signals", ...START_KEYS], "handleSignals()");
    this.#steps.assertOpen("handleSignals()");
    const timing = this.#timing(options);
    const signals = options.signals ?? SIGNALS;
    if (!Array.isArray(signals) || signals.some((signal) => typeof signal !== "string")) {
      throw new TypeError(
        "Cannot handleSignals(): options.signals must be a list of signal names",
      );
    }
    // Every name is checked before any is subscribed, the same on every runtime.
    for (const signal of signals) assertCatchable(signal);
    // Called again, it replaces the signals and the timing.
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const signal of new Set<string>(signals)) {
      this.#unsubscribe.push(this.#runtime.onSignal(signal, () => this.#onSignal(signal, timing)));
    }
  }

  /** See `Liveness.shutdown()`. */
  shutdown(options: ShutdownOptions): Promise<ShutdownResult> {
    assertKnownKeys(options, ["drain", "timeout", ...START_KEYS], "shutdown()");
    return this.#run(this.#timing(options), undefined);
  }

  /**
   * Stops listening to signals, at the owner's close; not while a signal's
   * sequence runs to its exit, so that a second signal exits 1 and does not
   * kill.
   */
  release(): void {
    if (this.#signalled !== undefined) return;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  #timing(options: ShutdownOptions): Timing {
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const drain = options.drain ??
      (this.#runtime.env("KUBERNETES_SERVICE_HOST") ? KUBERNETES_DRAIN_MS : 0);
    for (const [name, value] of [["drain", drain], ["timeout", timeout]] as const) {
      // Past the longest a timer waits, it would fire at once and cut the handlers short.
      if (!(typeof value === "number" && value >= 0 && value <= MAX_TIMER_MS)) {
        throw new TypeError(
          `Cannot shut down: options.${name} must be a number of milliseconds from 0 to ` +
            `${MAX_TIMER_MS} (the longest a timer waits), got ${describeOption(value)}`,
        );
      }
    }
    if (drain > timeout) {
      throw new TypeError(
        `Cannot shut down: the drain (${drain} ms) is longer than the timeout (${timeout} ms), which counts it`,
      );
    }
    return { drain, timeout, start: startOf(options) };
  }

  /**
   * A signal handled: the first starts the shutdown sequence, then exits; a
   * second exits 1 at once, and says why.
   */
  #onSignal(signal: string, timing: Timing): void {
    const first = this.#signalled;
    if (first !== undefined) {
      const which = signal === first ? `a second ${signal}` : `${signal} (after ${first})`;
      try {
        this.#steps.report(
          new LivenessError(
            `Cannot shut down cleanly: ${which} during the shutdown: exiting at once with 1`,
          ),
        );
      } finally {
        this.#runtime.exit(1);
      }
    }
    this.#signalled = signal;
    exiting = true;
    void this.#shutDownAndExit(signal, timing);
  }

  /** Runs the sequence, then exits with the highest code of the process's sequences: always exits. */
  async #shutDownAndExit(signal: string, timing: Timing) {
    let code = 1;
    try {
      const run = this.#run(timing, signal);
      shutdowns.add(run);
      await run;
      // Every unit of the process that handles signals finishes before the exit.
      const results = await Promise.allSettled(shutdowns);
      code = Math.max(
        ...results.map((result) => result.status === "fulfilled" ? result.value.code : 1),
      );
    } finally {
      this.#runtime.exit(code);
    }
  }

  /** The sequence, started once: it always resolves, what failed in its `errors`. */
  #run(timing: Timing, signal: string | undefined): Promise<ShutdownResult> {
    return this.#sequence ??= this.#runSequence(timing, signal);
  }

  async #runSequence(timing: Timing, signal: string | undefined): Promise<ShutdownResult> {
    this.#running = true;
    let timer: unknown;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timing.timeout);
    });
    const failures: { label: string; error: unknown }[] = [];
    /** The handler the deadline cut, if any. */
    let cut: string | undefined;
    /** What the deadline cut of the servers, unless the start of the sequence reached it. */
    let serversCut: string | undefined;
    try {
      // The hook at the signal, readiness, the drain (`_shutdown_start.ts`).
      const begun = await startSequence(timing.start, { signal }, deadline, timing, this.#steps);
      if (begun.outcome === "failed") failures.push({ label: "", error: begun.error });
      if (begun.outcome === "timeout") cut = "";
      // The servers next, their answers given: the handlers may close what those need.
      const servers = await this.#steps.closeServers(deadline, timing.timeout);
      failures.push(...servers.failures);
      if (cut === undefined && servers.cut !== undefined) [serversCut, cut] = [servers.cut, ""];
      // Last registered first; each named by its place in registration order.
      const handlers = this.#handlers.map((handler, index) => ({ handler, index }));
      for (const { handler, index } of cut === undefined ? handlers.reverse() : []) {
        const label = `the shutdown handler ${handlerLabel(handler, index)}`;
        const outcome = await Promise.race([
          (async () => await handler({ signal }))().then(() => "done", (error) => {
            failures.push({ label, error });
            return "failed";
          }),
          deadline,
        ]);
        if (outcome === "timeout") {
          cut = label;
          break;
        }
      }
    } finally {
      clearTimeout(timer as number);
      this.#running = false;
    }
    let closeFailure: { error: unknown } | undefined;
    try {
      await this.#steps.close();
    } catch (error) {
      closeFailure = { error }; // the state could not be removed: still an end, with code 1
    }
    for (const { label, error } of failures) {
      if (label === "") continue; // the hook's: reported when it failed
      this.#steps.report(
        new LivenessError(
          `Cannot shut down cleanly: ${label} failed: ${String(error)}`,
          { cause: error },
        ),
      );
    }
    if (cut) {
      this.#steps.report(
        new LivenessError(
          `Cannot shut down cleanly: ${cut} did not finish within ` +
            `${timing.timeout} ms`,
        ),
      );
    }
    if (serversCut) {
      this.#steps.report(new LivenessError(`Cannot shut down cleanly: ${serversCut}`));
    }
    const errors = failures.map(({ error }) => error);
    const timedOut = cut !== undefined;
    if (closeFailure) {
      const { error } = closeFailure;
      errors.push(error);
      this.#steps.report(
        error instanceof LivenessError
          ? error
          : new LivenessError(`Cannot shut down cleanly: ${String(error)}`, { cause: error }),
      );
    }
    return { code: errors.length === 0 && !timedOut ? 0 : 1, signal, errors, timedOut };
  }
}

/**
 * `#2 (closeDatabase)`: a handler's place in registration order (from 1),
 * and its name where it has one.
 */
function handlerLabel(handler: { readonly name: string }, index: number): string {
  return `#${index + 1}${handler.name ? ` (${handler.name})` : ""}`;
}

/** Throws a `TypeError` unless a program can handle `signal` on every runtime. */
function assertCatchable(signal: string): void {
  if (CATCHABLE_SIGNALS.includes(signal)) return;
  const why = ["SIGKILL", "SIGSTOP"].includes(signal)
    ? "no program can catch it"
    : ["SIGILL", "SIGFPE", "SIGSEGV"].includes(signal)
    ? "it reports a fault of the process itself, which Deno lets no program handle"
    : "it is not the name of a signal every runtime can handle";
  throw new TypeError(
    `Cannot handleSignals(): ${JSON.stringify(signal)} cannot start a shutdown: ${why}; ` +
      `the signals are ${CATCHABLE_SIGNALS.join(", ")}`,
  );
}

/**
 * systemd's notify protocol (`sd_notify(3)`), spoken by an owner when
 * `NOTIFY_SOCKET` is set: `READY=1` once the unit is first live and ready,
 * `STATUS=` with the readiness line whenever it changes, `WATCHDOG=1` every
 * half of `WATCHDOG_USEC` while the unit is live (where `WATCHDOG_PID` is
 * unset or this process), and `STOPPING=1` when the shutdown begins. The
 * watchdog is a timer of the event loop: a loop that hangs sends nothing,
 * nor does a unit that `set()` an error, so that systemd restarts it. The
 * variables are removed from the environment when the owner takes them, as
 * `sd_notify(3)` does with `unset_environment`: a child never speaks for
 * this process. What to send when is decided here, from what the owner
 * holds; the datagrams are the runtime's (`Runtime.notifySocket`).
 *
 * @module
 */
import { MAX_TIMER_MS } from "./_clock.ts";
import { type HealthPart, partsVerdict } from "./_health.ts";
import { describeOption } from "./_options.ts";
import { printable } from "./_verdict.ts";
import { LivenessError } from "./errors.ts";
import type { NotifySocket, Runtime } from "./runtime/_runtime.ts";

/** The variables systemd sets for the protocol; the owner removes them from the environment. */
export const NOTIFY_VARIABLES: readonly string[] = [
  "NOTIFY_SOCKET",
  "WATCHDOG_USEC",
  "WATCHDOG_PID",
];

/** How long after a failed send it is sent again, where no change or tick comes first. */
const RETRY_MS = 1000;

/** The longest `STATUS=` line sent, in bytes. */
const STATUS_MAX_BYTES = 200;

/** What the environment asks of this process. */
export interface NotifyEnvironment {
  /** `NOTIFY_SOCKET`: `/path`, or `@name` for an abstract socket. */
  readonly address: string;
  /** Milliseconds between two `WATCHDOG=1`; `undefined`: no watchdog for this process. */
  readonly interval: number | undefined;
  /** Why a variable set was not taken (a bad `WATCHDOG_USEC`), to report. */
  readonly problems: readonly string[];
}

/**
 * What `env` asks of the process `pid`, as `sd_notify(3)` and
 * `sd_watchdog_enabled(3)` read it; `undefined` without `NOTIFY_SOCKET`. A
 * pure function.
 */
export function readNotifyEnvironment(
  env: (name: string) => string | undefined,
  pid: number,
): NotifyEnvironment | undefined {
  const address = env("NOTIFY_SOCKET");
  if (!address) return undefined;
  const usec = env("WATCHDOG_USEC");
  const watchdogPid = env("WATCHDOG_PID");
  const problems: string[] = [];
  const number = (value: string) => /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : undefined;
  let interval: number | undefined;
  if (usec !== undefined && usec !== "") {
    const microseconds = number(usec);
    const owner = watchdogPid === undefined || watchdogPid === "" ? pid : number(watchdogPid);
    if (microseconds === undefined) {
      problems.push(
        `Cannot keep systemd's watchdog: WATCHDOG_USEC must be a positive whole number of ` +
          `microseconds, got ${JSON.stringify(usec)}: no WATCHDOG=1 is sent`,
      );
    } else if (owner === undefined) {
      problems.push(
        `Cannot keep systemd's watchdog: WATCHDOG_PID must be a process id, got ` +
          `${JSON.stringify(watchdogPid)}: no WATCHDOG=1 is sent`,
      );
    } else if (owner === pid) {
      // Half the period, as sd_watchdog_enabled(3) advises; a timer takes whole milliseconds.
      interval = Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(microseconds / 2000)));
    }
  }
  return { address, interval, problems };
}

/** What an owner's state says to systemd: a pure function of what it holds. */
export interface NotifyView {
  /** Whether the liveness verdict passes: the watchdog is kept. */
  readonly live: boolean;
  /** Whether the readiness verdict passes. */
  readonly ready: boolean;
  /** The readiness verdict's status (`healthy`, `unhealthy`, `stale`, `not-ready`, ...). */
  readonly status: string;
  /** The `STATUS=` line: the probes' line for readiness (`unit api: error 3`). */
  readonly line: string;
}

/** {@linkcode NotifyView} of what the owner of `unit` (process `pid`) holds. */
export function notifyView(
  unit: string,
  pid: number,
  parts: (kind: "live" | "ready") => readonly HealthPart[],
): NotifyView {
  const live = partsVerdict(parts("live"), pid, false);
  const ready = partsVerdict(parts("ready"), pid, true);
  return {
    live: live.status === "healthy",
    ready: ready.status === "healthy",
    status: ready.status,
    // One line: nothing in it can start another assignment.
    line: printable(`unit ${unit}: ${ready.reason}`, STATUS_MAX_BYTES),
  };
}

/** Throws a `TypeError` unless `notify` is a boolean or `undefined`. */
export function assertNotifyOption(notify: unknown): asserts notify is boolean | undefined {
  if (notify === undefined || typeof notify === "boolean") return;
  throw new TypeError(
    `Cannot create the unit: options.notify must be true or false, got ${describeOption(notify)}`,
  );
}

/** One owner's side of the protocol. */
export class Notifier {
  readonly #runtime: Runtime;
  readonly #socket: NotifySocket;
  readonly #address: string;
  readonly #interval: number | undefined;
  readonly #view: () => NotifyView;
  readonly #report: (error: LivenessError) => void;
  #timer: unknown;
  /** The send again after a failure: `READY=1` must reach systemd, or it stops the service. */
  #retry: unknown;
  /** Between the unit's load and its unload. */
  #active = false;
  #readySent = false;
  #stopping = false;
  #stoppingSent = false;
  #live = false;
  /** The `STATUS=` line and verdict status last sent. */
  #line: string | undefined;
  #status: string | undefined;
  /** The last failure reported, so that each is reported once. */
  #failure: string | undefined;

  private constructor(
    runtime: Runtime,
    socket: NotifySocket,
    environment: NotifyEnvironment,
    view: () => NotifyView,
    report: (error: LivenessError) => void,
  ) {
    this.#runtime = runtime;
    this.#socket = socket;
    this.#address = environment.address;
    this.#interval = environment.interval;
    this.#view = view;
    this.#report = report;
  }

  /**
   * The notifier of an owner, where `enabled` and `NOTIFY_SOCKET` is set,
   * else `undefined`. Takes the variables out of the environment: the first
   * owner of the process speaks for it, no later one. What cannot be had is
   * reported, never thrown.
   */
  static open(
    runtime: Runtime,
    enabled: boolean | undefined,
    view: () => NotifyView,
    report: (error: LivenessError) => void,
  ): Notifier | undefined {
    assertNotifyOption(enabled);
    if (enabled === false) return undefined;
    let found: NotifyEnvironment | undefined;
    try {
      found = readNotifyEnvironment((name) => runtime.env(name), runtime.pid);
    } catch {
      return undefined; // Deno without --allow-env for them: as if unset (docs/deno-permissions.md)
    }
    if (!found) return undefined;
    try {
      for (const name of NOTIFY_VARIABLES) runtime.unsetEnv?.(name);
    } catch (error) {
      report(
        new LivenessError(
          `Cannot remove NOTIFY_SOCKET from the environment: ${String(error)}: the programs this ` +
            "one starts could speak for it to systemd (on Deno, grant --allow-env)",
          { cause: error },
        ),
      );
    }
    for (const problem of found.problems) report(new LivenessError(problem));
    const environment = found;
    let socket: NotifySocket | undefined;
    try {
      socket = runtime.notifySocket?.(environment.address);
    } catch (error) {
      const denied = (error as { name?: string }).name === "NotCapable";
      report(
        new LivenessError(
          `Cannot notify systemd at ${environment.address}: ${String(error)}${
            denied ? ": on Deno, grant --allow-ffi (libc's socket is reached by FFI)" : ""
          }`,
          { cause: error },
        ),
      );
      return undefined;
    }
    return socket && new Notifier(runtime, socket, environment, view, report);
  }

  /** The unit is loaded: says its state, and keeps the watchdog while it is live. */
  start(): void {
    this.stop();
    this.#active = true;
    this.#live = false;
    this.#line = this.#status = undefined;
    this.update();
    if (this.#interval === undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#interval);
    this.#runtime.unrefTimer(this.#timer);
  }

  /** After a change of the state: `READY=1` the first time, `STATUS=` when the line changed. */
  update(): void {
    if (this.#active) this.#say(false);
  }

  /** The shutdown began: `STOPPING=1`, once. */
  stopping(): void {
    this.#stopping = true;
    this.update();
  }

  /** The unit is unloaded: nothing more is sent, the watchdog neither. */
  stop(): void {
    this.#active = false;
    if (this.#timer !== undefined) clearInterval(this.#timer as number);
    if (this.#retry !== undefined) clearTimeout(this.#retry as number);
    this.#timer = this.#retry = undefined;
  }

  /** The owner closes: the socket too, once what was sent is delivered. */
  close(): Promise<void> {
    this.stop();
    return this.#socket.close();
  }

  #tick(): void {
    if (this.#active) this.#say(true);
  }

  /**
   * Sends what the state asks for, in one datagram. From the watchdog's
   * timer, `WATCHDOG=1` while live, and `STATUS=` only for a new status (a
   * stale heartbeat's line changes every second); otherwise `WATCHDOG=1`
   * only where the unit has just become live.
   */
  #say(fromTimer: boolean): void {
    const view = this.#view();
    const lines: string[] = [];
    const stopping = this.#stopping && !this.#stoppingSent;
    if (stopping) lines.push("STOPPING=1");
    const ready = !this.#readySent && !this.#stopping && view.live && view.ready;
    if (ready) lines.push("READY=1");
    const status = fromTimer ? view.status !== this.#status : view.line !== this.#line;
    if (status) lines.push(`STATUS=${view.line}`);
    if (this.#interval !== undefined && view.live && (fromTimer || !this.#live)) {
      lines.push("WATCHDOG=1");
    }
    this.#live = view.live;
    if (lines.length === 0) return;
    try {
      this.#socket.send(lines.join("\n"), (error) => this.#fail(error));
    } catch (error) {
      this.#fail(error); // sent again at the next change, tick or retry
      return;
    }
    if (stopping) this.#stoppingSent = true;
    if (ready) this.#readySent = true;
    if (status) {
      this.#line = view.line;
      this.#status = view.status;
    }
  }

  /**
   * A send failed, at once or (through Node's helper) later: what it said is
   * taken as unsaid, and said again at the next change, tick or retry. Each
   * line means the same said twice.
   */
  #fail(error: unknown): void {
    this.#readySent = this.#stoppingSent = false;
    this.#line = this.#status = undefined;
    if (this.#active && this.#retry === undefined) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.update();
      }, RETRY_MS);
      this.#runtime.unrefTimer(this.#retry);
    }
    const failure = error instanceof Error && error.message.startsWith("Cannot notify systemd")
      ? new LivenessError(error.message, { cause: error })
      : new LivenessError(`Cannot notify systemd at ${this.#address}: ${String(error)}`, {
        cause: error,
      });
    if (this.#failure === failure.message) return;
    this.#failure = failure.message;
    this.#report(failure);
  }
}

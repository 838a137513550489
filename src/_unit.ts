/**
 * The owner of one unit in this process: its state, its heartbeat timer,
 * its signal listeners, its shutdown handlers and servers. `createLiveness()`
 * returns one per unit directory; the free functions reach the same one.
 *
 * @module
 */
import { type HealthCheck, runChecks } from "./_checks.ts";
import { MAX_TIMER_MS, uptime } from "./_clock.ts";
import { type Identity, isOtherLiveOwner, isThisProcess, self } from "./_identity.ts";
import {
  createFetchHandler,
  createNodeListener,
  type HealthFetchHandler,
  type HealthPart,
  type HealthServer,
  type NodeListener,
  serve as serveHttp,
  type ServeOptions,
} from "./http.ts";
import { resolveLocation } from "./_location.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { LockBusy, withUnitLock, withUnitLockSync } from "./_lock.ts";
import { CATCHABLE_SIGNALS, type Runtime } from "./_runtime.ts";
import type { HeldFile } from "./_state_fs.ts";
import {
  ERROR_FILE,
  HEARTBEAT_FILE,
  PID_FILE,
  readOwner,
  READY_FILE,
  STARTTIME_FILE,
  STATE_FILES,
  UnitDirectory,
} from "./_state.ts";
import {
  formatHeartbeat,
  formatReadiness,
  healthyVerdict,
  HEARTBEAT_MAX_AGE_LIMIT,
  judgeError,
  judgeHeartbeat,
  judgeReadiness,
  noPidVerdict,
  type Readiness,
  type Verdict,
} from "./_verdict.ts";
import {
  LivenessError,
  NotLoadedError,
  StateError,
  UnitInUseError,
  UnitLostError,
} from "./errors.ts";
import type {
  HeartbeatOptions,
  Liveness,
  LivenessOptions,
  LoadOptions,
  ShutdownContext,
  ShutdownOptions,
  ShutdownResult,
  SignalOptions,
} from "./liveness.ts";

/** The parts of the verdict, as the HTTP answers name them. */
type PartName = "pid" | "error" | "heartbeat" | "ready";

const DEFAULT_HEARTBEAT = { interval: 1_000, maxAge: 10_000 };
const DEFAULT_TIMEOUT_MS = 25_000;
const KUBERNETES_DRAIN_MS = 5_000;
const READY_REASON_MAX_BYTES = 200;
const SIGNALS = ["SIGTERM", "SIGINT"] as const;
/** Every option `createLiveness()` takes. */
export const OPTION_KEYS = ["unit", "rundir", "heartbeat", "onError", "procfs", "http"];

/** The shutdown sequences signals started in this process: it exits when all have ended. */
const shutdowns = new Set<Promise<ShutdownResult>>();
/** Whether a signal began this process's exit: from then on no `load()` writes, or settles. */
let exiting = false;

/** What never settles: the signal's sequence ends in an exit. */
function untilExit(): Promise<never> {
  return new Promise<never>(() => {});
}

/** The resolved heartbeat: off, or on with its interval (`0`: manual beats only). */
type Beat = { readonly interval: number; readonly maxAge: number } | undefined;

/** The unit this process owns, on `runtime`. */
export class Unit implements Liveness {
  readonly unit: string;
  readonly rundir: string;
  readonly dir: string;
  readonly fetch: HealthFetchHandler;
  readonly listener: NodeListener;
  readonly #runtime: Runtime;
  readonly #heartbeat: Beat;
  readonly #onError: (error: LivenessError) => void;
  readonly #procfs: "warn" | "error" | "ignore";
  /** The owners of the process by unit directory, where this one is registered. */
  readonly #owners: Map<string, Unit> | undefined;
  #directory: UnitDirectory | undefined;
  /** The pid file this process wrote, held open: its link count tells whether it is still ours. */
  #pidFile: HeldFile | undefined;
  #loaded = false;
  /** What the error file holds, as far as this process wrote it. */
  #error: number | undefined;
  #readiness: Readiness = { state: "ready" };
  /** `performance.now()` of the last beat written. */
  #lastBeat = 0;
  #timer: unknown;
  /** Why the unit is not this process's now, while it is not. */
  #lost: UnitLostError | undefined;
  /** The last write that failed, until one succeeds. */
  #failure: LivenessError | undefined;
  readonly #handlers: ((context: ShutdownContext) => unknown)[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  readonly #closers = new Set<() => Promise<void>>();
  #shutdown: Promise<ShutdownResult> | undefined;
  /** Whether the shutdown sequence runs and has not reached its close: `close()` leaves that to it. */
  #inSequence = false;
  /** Whether a signal started the shutdown: the program exits at its end, listeners kept till then. */
  #signalled = false;
  #closing: Promise<void> | undefined;
  /** Set when the close begins: from then on nothing of this owner writes. */
  #closed = false;

  /**
   * The owner of the unit `options` name; `owners` is the registry it is
   * kept in by unit directory (it leaves it when closed).
   */
  constructor(runtime: Runtime, options: LivenessOptions = {}, owners?: Map<string, Unit>) {
    assertKnownKeys(options, OPTION_KEYS, "createLiveness()");
    const { unit, rundir, dir } = resolveLocation(runtime, options);
    this.unit = unit;
    this.rundir = rundir;
    this.dir = dir;
    this.#runtime = runtime;
    this.#heartbeat = resolveHeartbeat(options.heartbeat);
    this.#onError = guardReporter(options.onError ?? defaultReporter());
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`Cannot create the unit: options.onError must be a function.`);
    }
    this.#procfs = options.procfs ?? "warn";
    if (!["warn", "error", "ignore"].includes(this.#procfs)) {
      throw new TypeError(
        `Cannot create the unit: options.procfs must be "warn", "error" or "ignore".`,
      );
    }
    this.#owners = owners;
    assertKnownKeys(options.http, ["prefix"], "createLiveness() with options.http");
    this.fetch = createFetchHandler(
      (kind) => ({ unit: this.unit, parts: this.health(kind) }),
      { prefix: options.http?.prefix },
    );
    this.listener = createNodeListener(this.fetch);
  }

  /** Whether this process has loaded the unit and not reset it. */
  get loaded(): boolean {
    return this.#loaded;
  }

  async load(checks: Iterable<HealthCheck>, options: LoadOptions = {}): Promise<void> {
    assertKnownKeys(options, ["args", "timeout"], "load()");
    if (exiting) return await untilExit();
    if (this.#closed || this.#shutdown) {
      throw new TypeError(
        `Cannot load(): unit ${this.dir} ${
          this.#closed ? "was closed; create another owner" : "is shutting down"
        }.`,
      );
    }
    const runtime = this.#runtime;
    const me = self(runtime);
    this.#checkProcfs(me);
    const existing = this.#openExisting();
    try {
      this.#refuseLiveOwner(existing);
    } finally {
      existing?.close();
    }
    await runChecks(checks, options.args ?? [], runtime.cwd, { timeout: options.timeout });
    await this.#refuseLate();
    const directory = UnitDirectory.open(runtime, this.dir, true);
    let late = false;
    try {
      await withUnitLock(directory, me, () => {
        // The lock may have been waited for.
        if ((late = this.#isLate())) return;
        this.#refuseLiveOwner(directory); // another process may have loaded while the checks ran
        // The error file goes first, so that no moment shows a healthy state.
        for (const name of STATE_FILES) directory.remove(name);
        directory.removeStaleTempFiles();
        const pidFile = this.#writeOwner(directory, me, { state: "ready" });
        // Taken over with the writes, in one turn: no close() comes in between.
        this.#release();
        this.#directory = directory;
        this.#pidFile = pidFile;
        this.#loaded = true;
        this.#error = undefined;
        this.#readiness = { state: "ready" };
        this.#lost = undefined;
        this.#failure = undefined;
        this.#startHeartbeat();
      });
    } catch (error) {
      if (this.#directory !== directory) directory.close();
      throw error;
    }
    if (late) {
      directory.close();
      await this.#refuseLate();
    }
  }

  set(error: number): void {
    assertErrorCode(error);
    const directory = this.#owned("set()");
    if (!directory) return;
    try {
      directory.write(ERROR_FILE, String(error), self(this.#runtime));
      this.#error = error;
      this.#succeeded();
    } catch (failure) {
      // The old code may be 0: that must not outlive a report of trouble.
      if (error !== 0) this.#invalidateError(directory, error);
      this.#fail(failure);
    }
  }

  ready(ready: boolean, reason?: string): void {
    if (typeof ready !== "boolean") {
      throw new TypeError(
        `Cannot ready(): the first argument must be true or false, got ${String(ready)}.`,
      );
    }
    if (reason !== undefined && (typeof reason !== "string" || !isReason(reason))) {
      throw new TypeError(
        `Cannot ready(): the reason must be printable ASCII text of at most ${READY_REASON_MAX_BYTES} bytes.`,
      );
    }
    if (!this.#loaded) throw new NotLoadedError(this.dir, "ready()");
    if (this.#readiness.state === "draining") return; // shutting down: stays draining
    this.#writeReadiness(
      ready ? { state: "ready" } : { state: "not-ready", reason: reason || undefined },
    );
  }

  beat(): void {
    if (!this.#loaded) throw new NotLoadedError(this.dir, "beat()");
    if (this.#heartbeat === undefined) {
      throw new TypeError(
        `Cannot beat(): unit ${this.dir} has its heartbeat off (heartbeat: false).`,
      );
    }
    const directory = this.#owned("beat()");
    if (directory) this.#writeBeat(directory);
  }

  reset(): void {
    if (this.#closed) return; // nothing of a closed owner writes: the unit may be a later owner's
    this.#unload();
  }

  onShutdown(handler: (context: ShutdownContext) => unknown): () => void {
    if (typeof handler !== "function") {
      throw new TypeError("Cannot onShutdown(): the handler must be a function.");
    }
    this.#handlers.push(handler);
    return () => {
      const index = this.#handlers.indexOf(handler);
      if (index >= 0) this.#handlers.splice(index, 1);
    };
  }

  handleSignals(options: SignalOptions = {}): void {
    assertKnownKeys(options, ["drain", "timeout", "signals"], "handleSignals()");
    if (this.#closed) throw new TypeError(`Cannot handleSignals(): unit ${this.dir} was closed.`);
    const timing = this.#timing(options);
    const signals = options.signals ?? SIGNALS;
    if (!Array.isArray(signals) || signals.some((signal) => typeof signal !== "string")) {
      throw new TypeError(
        "Cannot handleSignals(): options.signals must be a list of signal names.",
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

  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    assertKnownKeys(options, ["drain", "timeout"], "shutdown()");
    return this.#run(this.#timing(options), undefined);
  }

  close(): Promise<void> {
    // During the shutdown sequence the unit stays live: the sequence closes it at its end.
    if (this.#inSequence) return Promise.resolve();
    return this.#close();
  }

  async serve(options: ServeOptions = {}): Promise<HealthServer> {
    if (this.#closed) throw new TypeError(`Cannot serve(): unit ${this.dir} was closed.`);
    const server = await serveHttp(this.fetch, options);
    if (this.#closed) {
      await server.close(); // closed while it started: nothing would close it later
      throw new TypeError(`Cannot serve(): unit ${this.dir} was closed while its server started.`);
    }
    const close = () => server.close();
    const forget = this.own(close);
    return {
      port: server.port,
      hostname: server.hostname,
      close: () => {
        forget();
        return close();
      },
    };
  }

  /** `await using liveness = createLiveness(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Keeps `close` to be awaited by {@linkcode close} (a server's); returns what forgets it. */
  own(close: () => Promise<void>): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }

  /**
   * The verdict of the state this process last wrote, judged now: the parts
   * of liveness (`pid`, `error`, `heartbeat`) or of readiness (those, then
   * `ready`). What `probe()` would say of the files, from memory.
   */
  health(kind: "live" | "ready"): readonly HealthPart[] {
    const part = (name: PartName, verdict: Verdict | undefined): HealthPart => ({
      name,
      ok: verdict === undefined,
      ...(verdict ?? { status: "healthy", reason: "ok" }),
    });
    const parts: HealthPart[] = [];
    const pid = this.#runtime.pid;
    parts.push(part("pid", this.#pidVerdict()));
    parts.push(part(
      "error",
      this.#failure ? { status: "failed", reason: this.#failure.message } : judgeError(
        this.#error === undefined
          ? { kind: "missing" }
          : { kind: "value", value: String(this.#error) },
      ),
    ));
    if (this.#heartbeat) {
      const age = this.#loaded ? Math.floor((performance.now() - this.#lastBeat) / 10) : 0;
      const beat = { at: 0, maxAge: this.#heartbeat.maxAge, pid, starttime: undefined };
      parts.push(part("heartbeat", judgeHeartbeat(beat, age)));
    }
    if (kind === "ready") {
      parts.push(part("ready", judgeReadiness({ kind: "value", value: this.#readiness })));
    }
    return parts;
  }

  /** The line `probe()` would print for {@linkcode health}'s parts. */
  verdict(kind: "live" | "ready"): Verdict {
    const failed = this.health(kind).find((part) => !part.ok);
    return failed ?? healthyVerdict(this.#runtime.pid, kind === "ready");
  }

  // --- ownership ---------------------------------------------------------

  /**
   * The unit directory when this process still owns the unit (restoring the
   * state where it was lost and nobody else owns the unit), else
   * `undefined`, the loss reported. Throws only {@linkcode NotLoadedError}.
   */
  #owned(call: string): UnitDirectory | undefined {
    if (!this.#loaded) throw new NotLoadedError(this.dir, call);
    if (!this.#lost && this.#holdsPidFile()) return this.#directory!;
    return this.#reclaim();
  }

  /**
   * Whether the pid file this process wrote is still the unit's. Cheap: one
   * `fstat` of the file held open; a rename over it or a removal unlinks it.
   */
  #holdsPidFile(): boolean {
    try {
      return this.#pidFile !== undefined && this.#pidFile.links() > 0;
    } catch {
      return false; // not open any more
    }
  }

  /**
   * The `pid` part of the answers, from memory and {@linkcode #holdsPidFile}:
   * the files are read only when the pid file is no longer this process's,
   * to name the process that took the unit over.
   */
  #pidVerdict(): Verdict | undefined {
    if (!this.#loaded) return noPidVerdict(this.dir);
    if (!this.#lost && this.#holdsPidFile()) return undefined;
    try {
      const owner = this.#lost ? undefined : readOwner(this.#directory!);
      if (owner && isOtherLiveOwner(this.#runtime, owner)) {
        this.#loseTo(new UnitLostError(this.dir, owner.pid));
      }
    } catch {
      // Unreadable: the answer says the pid file is not ours all the same.
    }
    return {
      status: "failed",
      reason: this.#lost?.message ?? "the pid file this process wrote was removed or replaced",
    };
  }

  /** The slow path of {@linkcode #owned}: who owns the unit now? */
  #reclaim(): UnitDirectory | undefined {
    const runtime = this.#runtime;
    let directory = this.#directory!;
    try {
      if (!directory.isCurrent()) {
        // The directory was removed (an operator cleaning /run) or replaced.
        const current = UnitDirectory.open(runtime, this.dir, true);
        directory.close();
        directory = this.#directory = current;
      }
      const me = self(runtime);
      const result = withUnitLockSync(directory, me, () => {
        const owner = readOwner(directory);
        if (owner && isOtherLiveOwner(runtime, owner)) return owner;
        for (const name of STATE_FILES) directory.remove(name);
        const pidFile = this.#writeOwner(directory, me, this.#readiness);
        this.#closePidFile();
        this.#pidFile = pidFile;
        return undefined;
      });
      if (result instanceof LockBusy) {
        return this.#loseTo(
          new UnitLostError(this.dir, undefined, "another process holds its lock"),
        );
      }
      if (result) return this.#loseTo(new UnitLostError(this.dir, result.pid));
      this.#lost = undefined;
      this.#error = undefined;
      return directory;
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  #loseTo(error: UnitLostError): undefined {
    if (this.#lost?.message !== error.message) this.#onError(error);
    this.#lost = error;
    return undefined;
  }

  /** Writes the owner's files, pid last; returns the pid file's descriptor. */
  #writeOwner(directory: UnitDirectory, me: Identity, readiness: Readiness): HeldFile | undefined {
    if (me.starttime) directory.write(STARTTIME_FILE, me.starttime, me);
    if (this.#heartbeat) this.#writeBeat(directory, true);
    directory.write(READY_FILE, formatReadiness(readiness), me);
    return directory.write(PID_FILE, String(me.pid), me, true);
  }

  /** Whether a close or a shutdown began while `load()` waited: then it writes nothing. */
  #isLate(): boolean {
    return exiting || this.#closed || this.#shutdown !== undefined;
  }

  /**
   * After a wait in `load()`: where it came too late ({@linkcode #isLate}),
   * it never settles while a signal ends the process (a rejection would end
   * a program's `await load()` before its shutdown handlers ran), and
   * otherwise rejects.
   */
  async #refuseLate(): Promise<void> {
    if (!this.#isLate()) return;
    if (exiting) await untilExit();
    throw new LivenessError(
      `Cannot load(): unit ${this.dir} ${
        this.#closed ? "was closed" : "began shutting down"
      } while load() ran its checks: nothing was written.`,
    );
  }

  #refuseLiveOwner(directory: UnitDirectory | undefined): void {
    const owner = directory && readOwner(directory);
    if (owner && isOtherLiveOwner(this.#runtime, owner)) {
      throw new UnitInUseError(this.dir, owner.pid);
    }
  }

  /** The unit directory where it exists (for `reset()` and the first owner check), else `undefined`. */
  #openExisting(): UnitDirectory | undefined {
    return openExisting(this.#runtime, this.dir);
  }

  /** Whether this owner is still the one its registry holds for the unit (always, unregistered). */
  #isRegistered(): boolean {
    return this.#owners === undefined || this.#owners.get(this.dir) === this;
  }

  #checkProcfs(me: Identity): void {
    const noClock = this.#heartbeat !== undefined && uptime(this.#runtime) === undefined;
    if ((me.starttime !== undefined && !noClock) || this.#procfs === "ignore") return;
    const error = new StateError(
      "open",
      "/proc/self/stat",
      "this process cannot read /proc (not Linux, or Deno without --allow-all)",
      "EACCES",
    );
    if (this.#procfs === "error") throw error;
    const lacks = [
      me.starttime === undefined &&
      "no starttime is written (a later process with the same pid looks like this one) and " +
        "another live owner cannot be seen",
      noClock && "no heartbeat is written (no clock: on Deno, grant --allow-sys=osUptime)",
    ].filter(Boolean).join("; ");
    this.#onError(
      new LivenessError(
        `Cannot tell everything of unit ${this.dir}: /proc cannot be read: ${lacks} ` +
          '(on Deno: run with --allow-all; silence this with procfs: "ignore").',
        { cause: error },
      ),
    );
  }

  // --- writes ------------------------------------------------------------

  #writeBeat(directory: UnitDirectory, rethrow = false): void {
    const runtime = this.#runtime;
    const heartbeat = this.#heartbeat!;
    const at = uptime(runtime);
    if (at === undefined) {
      this.#lastBeat = performance.now(); // no clock, no file (load() said so): the loop turns
      return;
    }
    try {
      const me = self(runtime);
      const line = formatHeartbeat({
        at,
        maxAge: heartbeat.maxAge,
        pid: me.pid,
        starttime: me.starttime,
      });
      directory.write(HEARTBEAT_FILE, line, me);
      this.#lastBeat = performance.now();
    } catch (error) {
      if (rethrow) throw error;
      this.#fail(error);
    }
  }

  #writeReadiness(readiness: Readiness): void {
    this.#readiness = readiness;
    const directory = this.#owned("ready()");
    if (!directory) return;
    try {
      directory.write(READY_FILE, formatReadiness(readiness), self(this.#runtime));
      this.#succeeded();
    } catch (failure) {
      if (readiness.state !== "ready") {
        // An empty file is not ready: a failed "not ready" never reads as ready.
        try {
          directory.overwrite(READY_FILE, "");
        } catch {
          // Read-only: the failure reported says so.
        }
      }
      this.#fail(failure);
    }
  }

  /**
   * After a failed write of a non-zero `error`: removes the error file, or,
   * where the directory forbids that, writes the code over the file in place
   * (never through a link). On a read-only file system nothing can change it.
   */
  #invalidateError(directory: UnitDirectory, error: number): void {
    try {
      directory.remove(ERROR_FILE);
      this.#error = undefined;
    } catch {
      try {
        directory.overwrite(ERROR_FILE, `${error}\n`);
        this.#error = error;
      } catch {
        // Read-only, or not ours: the failure reported says what to do.
      }
    }
  }

  #succeeded(): void {
    this.#failure = undefined;
  }

  #fail(error: unknown): void {
    const failure = error instanceof LivenessError
      ? error
      : new LivenessError(`Cannot write unit ${this.dir}: ${String(error)}`, { cause: error });
    // Each new trouble is reported once, not on every call while it lasts.
    if (this.#failure?.message !== failure.message) this.#onError(failure);
    this.#failure = failure;
  }

  // --- heartbeat ---------------------------------------------------------

  #startHeartbeat(): void {
    this.#stopHeartbeat();
    const heartbeat = this.#heartbeat;
    this.#lastBeat = performance.now();
    if (!heartbeat || heartbeat.interval === 0) return;
    this.#timer = setInterval(() => {
      // Only an open owner still registered beats: never over a later owner's state.
      if (this.#closed || !this.#isRegistered()) return this.#stopHeartbeat();
      const directory = this.#loaded ? this.#owned("beat()") : undefined;
      if (directory) this.#writeBeat(directory);
    }, heartbeat.interval);
    this.#runtime.unrefTimer(this.#timer); // never what keeps the program alive
  }

  #stopHeartbeat(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer as number);
    this.#timer = undefined;
  }

  #closePidFile(): void {
    if (this.#pidFile === undefined) return;
    try {
      this.#pidFile.close();
    } catch {
      // Already closed.
    }
    this.#pidFile = undefined;
  }

  #release(): void {
    this.#closePidFile();
    this.#directory?.close();
    this.#directory = undefined;
  }

  /** Stops the heartbeat and removes this process's state: the unit is no longer loaded. */
  #unload(): void {
    this.#stopHeartbeat();
    const held = this.#directory;
    const directory = held ?? this.#openExisting();
    const lost = this.#loaded && this.#lost !== undefined;
    this.#loaded = false;
    try {
      if (directory) removeState(this.#runtime, directory, lost);
    } finally {
      this.#release();
      if (!held) directory?.close();
    }
  }

  // --- shutdown ----------------------------------------------------------

  #timing(options: ShutdownOptions): { drain: number; timeout: number } {
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
        `Cannot shut down: the drain (${drain} ms) is longer than the timeout (${timeout} ms), which counts it.`,
      );
    }
    return { drain, timeout };
  }

  /** A signal handled: the first starts the shutdown sequence, then exits; a second exits 1. */
  #onSignal(signal: string, timing: { drain: number; timeout: number }): void {
    if (this.#signalled) this.#runtime.exit(1);
    this.#signalled = true;
    exiting = true;
    void this.#shutDownAndExit(signal, timing);
  }

  /** Runs the sequence, then exits with the highest code of the process's sequences: always exits. */
  async #shutDownAndExit(signal: string, timing: { drain: number; timeout: number }) {
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

  /**
   * The shutdown sequence: not ready (`draining`) at once, the drain, the
   * handlers (last registered first), then the close; all within `timeout`
   * from the start. It always resolves: what failed is in its `errors`.
   */
  #run(timing: { drain: number; timeout: number }, signal: string | undefined) {
    return this.#shutdown ??= this.#sequence(timing, signal);
  }

  async #sequence(
    timing: { drain: number; timeout: number },
    signal: string | undefined,
  ): Promise<ShutdownResult> {
    this.#inSequence = true;
    let timer: unknown;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timing.timeout);
    });
    const errors: unknown[] = [];
    let timedOut = false;
    try {
      if (this.#loaded) this.#writeReadiness({ state: "draining" });
      else this.#readiness = { state: "draining" };
      if (timing.drain > 0) {
        await new Promise((resolve) => setTimeout(resolve, timing.drain));
      }
      for (const handler of [...this.#handlers].reverse()) {
        const outcome = await Promise.race([
          (async () => await handler({ signal }))().then(() => "done", (error) => {
            errors.push(error);
            return "failed";
          }),
          deadline,
        ]);
        if (outcome === "timeout") {
          timedOut = true;
          break;
        }
      }
    } finally {
      clearTimeout(timer as number);
      this.#inSequence = false;
    }
    let closeFailure: { error: unknown } | undefined;
    try {
      await this.#close();
    } catch (error) {
      closeFailure = { error }; // the state could not be removed: still an end, with code 1
    }
    for (const error of errors) {
      this.#onError(
        new LivenessError(
          `Cannot shut down cleanly: a shutdown handler failed: ${String(error)}`,
          { cause: error },
        ),
      );
    }
    if (timedOut) {
      this.#onError(
        new LivenessError(
          `Cannot shut down cleanly: the handlers did not finish within ${timing.timeout} ms.`,
        ),
      );
    }
    if (closeFailure) {
      const { error } = closeFailure;
      errors.push(error);
      this.#onError(
        error instanceof LivenessError
          ? error
          : new LivenessError(`Cannot shut down cleanly: ${String(error)}`, { cause: error }),
      );
    }
    return { code: errors.length === 0 && !timedOut ? 0 : 1, signal, errors, timedOut };
  }

  /**
   * The close: at once, nothing more of this owner writes and the unit is
   * reset (its state removed) and left for a new owner; then the servers
   * are closed. The signal listeners stay while a signal's sequence runs to
   * its exit, so that a second signal exits 1 and does not kill.
   */
  #close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#closed = true;
      if (!this.#signalled) {
        for (const unsubscribe of this.#unsubscribe.splice(0)) {
          unsubscribe();
        }
      }
      let failure: { error: unknown } | undefined;
      try {
        this.#unload();
      } catch (error) {
        failure = { error };
      } finally {
        if (this.#owners?.get(this.dir) === this) this.#owners.delete(this.dir);
      }
      const closers = [...this.#closers];
      this.#closers.clear();
      await Promise.allSettled(closers.map((close) => close()));
      if (failure) throw failure.error;
    })();
  }
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
    }.`,
  );
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
      `the signals are ${CATCHABLE_SIGNALS.join(", ")}.`,
  );
}

/**
 * Resets the unit at `dir` that no owner of this process holds, as an
 * owner's `reset()` does (state that names another process stays), without
 * making an owner.
 */
export function resetUnit(runtime: Runtime, dir: string): void {
  const directory = openExisting(runtime, dir);
  if (!directory) return;
  try {
    removeState(runtime, directory, false);
  } finally {
    directory.close();
  }
}

/** The unit directory `dir` where it exists, else `undefined`. */
function openExisting(runtime: Runtime, dir: string): UnitDirectory | undefined {
  try {
    return UnitDirectory.open(runtime, dir, false);
  } catch (error) {
    if (error instanceof StateError && error.code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Removes the state files, error first, unless they name another process
 * (this one may never have owned them), or are gone from a unit this
 * process `lost` to another.
 */
function removeState(runtime: Runtime, directory: UnitDirectory, lost: boolean): void {
  const owner = readOwner(directory);
  if (owner && !isThisProcess(runtime, owner)) return;
  if (!owner && lost) return;
  for (const name of STATE_FILES) directory.remove(name);
}

/** The heartbeat options, checked. */
function resolveHeartbeat(options: false | HeartbeatOptions | undefined): Beat {
  if (options === false) return undefined;
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("Cannot create the unit: options.heartbeat must be false or an object.");
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
        `to ${MAX_TIMER_MS} (the longest a timer waits), got ${describeOption(interval)}.`,
    );
  }
  if (!(Number.isSafeInteger(maxAge) && maxAge > interval && maxAge <= HEARTBEAT_MAX_AGE_LIMIT)) {
    throw new TypeError(
      "Cannot create the unit: heartbeat.maxAge must be a whole number of milliseconds longer " +
        "than the interval (else the unit would read stale between two beats) and at most " +
        `${HEARTBEAT_MAX_AGE_LIMIT} (the most the probes read), got ${describeOption(maxAge)}.`,
    );
  }
  return { interval, maxAge };
}

function isReason(reason: string): boolean {
  return reason.length <= READY_REASON_MAX_BYTES && /^[\x20-\x7e]*$/.test(reason);
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

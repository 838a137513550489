/**
 * The owner of one unit in this process: the object `createLiveness()`
 * returns, one per unit directory (the free functions reach the same one).
 * It loads and unloads the unit, beats on its timer, and holds its servers
 * and its shutdown; what it holds of the unit and writes is a
 * {@linkcode HeldUnit}, its shutdown a {@linkcode Shutdown}.
 *
 * @module
 */
import { runChecks } from "./_checks.ts";
import { type HealthPart, partsVerdict } from "./_health.ts";
import { HealthServers } from "./_health_servers.ts";
import { HeldUnit, openExisting } from "./_held.ts";
import { checkProcfs, isOtherLiveOwner, self } from "./_identity.ts";
import { resolveLocation } from "./_location.ts";
import { withUnitLock } from "./_lock.ts";
import { resolveMembers } from "./_members.ts";
import { Notifier, notifyView } from "./_notify.ts";
import { assertKnownKeys } from "./_options.ts";
import { isExiting, Shutdown, untilExit } from "./_shutdown.ts";
import { Servers } from "./_servers.ts";
import { writeMembers } from "./_member.ts";
import { memberParts, untilMembersDone } from "./_unit_members.ts";
import { readOwner, STATE_FILES, UnitDirectory } from "./_state.ts";
import { FirstReady, unitState } from "./_unit_state.ts";
import {
  assertErrorCode,
  assertReadiness,
  OPTION_KEYS,
  resolveSettings,
  type UnitSettings,
} from "./_unit_options.ts";
import type { Verdict } from "./_verdict.ts";
import { Watch } from "./_watch.ts";
import { LivenessError, NotLoadedError, UnitInUseError } from "./errors.ts";
import { createHealthHandlers, type HealthHandlers } from "./http/handler.ts";
import { lightshipRoutes } from "./http/_lightship.ts";
import { serve as serveHttp } from "./http/serve.ts";
import { serveGrpc as serveGrpcHealth } from "./grpc/serve.ts";
import type { ClosableServer, HealthServer, NodeListener, ServeOptions } from "./http/types.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import type {
  HealthCheck,
  LoadOptions,
  WatchedCheck,
  WatchFunction,
  WatchOptions,
} from "./check_types.ts";
import type {
  ShutdownContext,
  ShutdownOptions,
  ShutdownResult,
  SignalOptions,
} from "./shutdown_types.ts";
import type { Liveness, LivenessOptions, LivenessState } from "./types.ts";

/** What {@linkcode healthOf} and {@linkcode verdictOf} reach inside an owner. */
let held: (owner: Unit, kind: "live" | "ready") => { parts: HealthPart[]; pid: number };

/** The unit this process owns, on `runtime`. */
export class Unit implements Liveness {
  readonly unit: string;
  readonly rundir: string;
  readonly dir: string;
  readonly fetch: (request: Request) => Response;
  readonly listener: NodeListener;
  readonly #runtime: Runtime;
  readonly #settings: UnitSettings;
  readonly #held: HeldUnit;
  readonly #shutdown: Shutdown;
  readonly #http: HealthHandlers;
  /** The checks `watch()` runs, and what the program said, combined. */
  readonly #watch: Watch;
  /** systemd's notify protocol, where `NOTIFY_SOCKET` asks for it. */
  readonly #notify: Notifier | undefined;
  /** The program's own servers, closed by the shutdown after its drain. */
  readonly #servers = new Servers();
  /** The owners of the process by unit directory, where this one is registered. */
  readonly #owners: Map<string, Unit> | undefined;
  #timer: unknown;
  readonly #healthServers = new HealthServers();
  #closing: Promise<void> | undefined;
  /** Set when the close begins: from then on nothing of this owner writes. */
  #closed = false;
  /** The ids of the unit's members (`options.members`). */
  readonly #members: string[] | undefined;
  /** What the last `load()` threw, until one succeeds: a later `set()` names it. */
  #loadFailure: { readonly error: unknown } | undefined;
  readonly #firstReady = new FirstReady();

  static {
    held = (owner, kind) => ({
      parts: owner.#parts(kind),
      pid: owner.#runtime.pid,
    });
  }

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
    const settings = this.#settings = resolveSettings(options);
    this.#members = resolveMembers(options.members);
    this.#owners = owners;
    const held = this.#held = new HeldUnit(runtime, dir, settings.heartbeat, settings.onError);
    this.#watch = new Watch({
      now: () => runtime.now(),
      unrefTimer: (timer) => runtime.unrefTimer(timer),
      held,
      report: settings.onError,
      changed: () => this.#changed(),
    });
    this.#shutdown = new Shutdown(runtime, {
      assertOpen: (call) => {
        if (this.#closed) throw new TypeError(`Cannot ${call}: unit ${this.dir} was closed`);
      },
      begin: () => this.#watch.stop("live"), // their last verdict stays: liveness holds
      drain: () => {
        this.#watch.stop(); // the checks' last verdict stays
        this.#held.drain();
        this.#notify?.stopping();
        this.#servers.drain();
      },
      closeServers: (deadline, timeout) => this.#servers.close(deadline, timeout),
      close: () => this.#close(),
      report: settings.onError,
    });
    this.#http = createHealthHandlers(
      (kind) => ({ unit: this.unit, parts: this.#parts(kind) }),
      {
        prefix: settings.prefix,
        routes: settings.lightship ? lightshipRoutes(() => this.state) : {},
      },
    );
    this.fetch = this.#http.fetch;
    this.listener = this.#http.listener;
    const view = () => notifyView(unit, runtime.pid, (kind) => this.#parts(kind));
    this.#notify = Notifier.open(runtime, options.notify, view, settings.onError);
    // Registered first, so run last: the owner closes after its members are done.
    const members = this.#members;
    if (members) {
      this.#shutdown.onShutdown(() => untilMembersDone(runtime, dir, members, () => this.#closed));
    }
  }

  get state(): LivenessState {
    return unitState({
      loaded: this.#held.loaded,
      closed: this.#closed,
      shutdownStarted: this.#shutdown.started,
      parts: (kind) => this.#parts(kind),
    });
  }

  /** The verdict's parts from memory: what is held, with the watched checks, then the members. */
  #parts(kind: "live" | "ready"): HealthPart[] {
    const parts = this.#watch.parts(this.#held.state(), kind);
    if (!this.#members || !this.#held.loaded) return parts;
    return [...parts, ...memberParts(this.#runtime, this.dir, kind)];
  }

  whenFirstReady(): Promise<void> {
    this.#changed();
    return this.#firstReady.when();
  }

  /** After a change of the state: the first ready resolves {@linkcode whenFirstReady}; systemd hears it. */
  #changed(): void {
    if (this.#firstReady.pending) this.#firstReady.update(this.state.ready);
    this.#notify?.update();
  }

  async load(checks: Iterable<HealthCheck>, options: LoadOptions = {}): Promise<void> {
    try {
      await this.#load(checks, options);
      this.#changed();
      this.#loadFailure = undefined;
    } catch (error) {
      this.#loadFailure = { error };
      throw error;
    }
  }

  async #load(checks: Iterable<HealthCheck>, options: LoadOptions): Promise<void> {
    assertKnownKeys(options, ["args", "timeout"], "load()");
    if (isExiting()) return await untilExit();
    if (this.#closed || this.#shutdown.started) {
      throw new TypeError(
        `Cannot load(): unit ${this.dir} ${
          this.#closed ? "was closed: create another owner" : "is shutting down"
        }`,
      );
    }
    const runtime = this.#runtime;
    const me = self(runtime);
    checkProcfs(runtime, this.dir, this.#settings, me);
    const existing = openExisting(runtime, this.dir);
    try {
      this.#refuseLiveOwner(existing);
    } finally {
      existing?.close();
    }
    await runChecks(runtime, checks, options.args ?? [], { timeout: options.timeout });
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
        writeMembers(directory, this.#members, me);
        const pidFile = this.#held.writeOwner(directory, me, this.#watch.loaded());
        this.#held.take(directory, pidFile);
        this.#watch.sync();
        this.#startHeartbeat();
        this.#notify?.start();
      });
    } catch (error) {
      if (!this.#held.holds(directory)) directory.close();
      throw error;
    }
    if (late) {
      directory.close();
      await this.#refuseLate();
    }
  }

  set(error: number): void {
    assertErrorCode(error);
    if (!this.#held.loaded) throw this.#notLoaded("set()");
    this.#held.set(this.#watch.error(error));
    this.#changed();
  }

  ready(ready: boolean, reason?: string): void {
    assertReadiness(ready, reason);
    if (!this.#held.loaded) throw this.#notLoaded("ready()");
    if (this.#held.readiness.state === "draining") return; // shutting down: stays draining
    this.#held.setReadiness(this.#watch.readiness(
      ready ? { state: "ready" } : { state: "not-ready", reason: reason || undefined },
    ));
    this.#changed();
  }

  watch(
    checks: Readonly<Record<string, WatchFunction | WatchedCheck>>,
    options?: WatchOptions,
  ): () => void {
    if (this.#closed && !this.#shutdown.started) {
      throw new TypeError(`Cannot watch(): unit ${this.dir} was closed`);
    }
    // From the shutdown on, checked and not started: as ready(), never a crash in the drain.
    return this.#watch.add(checks, options);
  }

  beat(): void {
    if (!this.#held.loaded) throw this.#notLoaded("beat()");
    if (this.#settings.heartbeat === undefined) {
      throw new TypeError(
        `Cannot beat(): unit ${this.dir} has its heartbeat off (heartbeat: false)`,
      );
    }
    this.#held.beat();
    this.#changed();
  }

  reset(): void {
    if (this.#closed) return; // nothing of a closed owner writes: the unit may be a later owner's
    this.#unload();
  }

  onShutdown(handler: (context: ShutdownContext) => unknown): () => void {
    return this.#shutdown.onShutdown(handler);
  }

  closeOnShutdown(server: ClosableServer): () => void {
    if (this.#closed) throw new TypeError(`Cannot closeOnShutdown(): unit ${this.dir} was closed`);
    return this.#servers.add(server, this.dir);
  }

  drainHandler<H extends (request: Request, ...rest: never[]) => unknown>(handler: H): H {
    return this.#servers.drainHandler(handler);
  }

  handleSignals(options: SignalOptions = {}): void {
    this.#shutdown.handleSignals(options);
  }

  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    return this.#shutdown.shutdown(options);
  }

  close(): Promise<void> {
    // During the shutdown sequence the unit stays live: the sequence closes it at its end.
    if (this.#shutdown.running) return Promise.resolve();
    return this.#close();
  }

  serve(options: ServeOptions = {}): Promise<HealthServer> {
    return this.#healthServers.start(
      "serve()",
      this.dir,
      () => this.#closed,
      () => serveHttp(this.#http, options),
    );
  }

  serveGrpc(options: ServeOptions = {}): Promise<HealthServer> {
    // The parts of /livez and /readyz (those healthOf() gives), judged at each call.
    const source = (kind: "live" | "ready") => held(this, kind).parts.every((part) => part.ok);
    return this.#healthServers.start(
      "serveGrpc()",
      this.dir,
      () => this.#closed,
      () => serveGrpcHealth(source, options),
    );
  }

  /** `await using liveness = createLiveness(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The error of `call` on the unit while it is not loaded: it names a failed `load()`. */
  #notLoaded(call: string): NotLoadedError {
    const failure = this.#loadFailure;
    return new NotLoadedError(this.dir, call, failure && { cause: failure.error });
  }

  /** Whether a close or a shutdown began while `load()` waited: then it writes nothing. */
  #isLate(): boolean {
    return isExiting() || this.#closed || this.#shutdown.started;
  }

  /**
   * After a wait in `load()`: where it came too late ({@linkcode #isLate}),
   * it never settles while a signal ends the process (a rejection would end
   * a program's `await load()` before its shutdown handlers ran), and
   * otherwise rejects.
   */
  async #refuseLate(): Promise<void> {
    if (!this.#isLate()) return;
    if (isExiting()) await untilExit();
    throw new LivenessError(
      `Cannot load(): unit ${this.dir} ${
        this.#closed ? "was closed" : "began shutting down"
      } while load() ran its checks: nothing was written`,
    );
  }

  #refuseLiveOwner(directory: UnitDirectory | undefined): void {
    const owner = directory && readOwner(directory);
    if (owner && isOtherLiveOwner(this.#runtime, owner)) {
      throw new UnitInUseError(this.dir, owner.pid);
    }
  }

  #startHeartbeat(): void {
    this.#stopHeartbeat();
    const heartbeat = this.#settings.heartbeat;
    if (!heartbeat || heartbeat.interval === 0) return;
    this.#timer = setInterval(() => {
      // Only an open owner still registered beats: never over a later owner's state.
      if (this.#closed || !this.#isRegistered()) return this.#stopHeartbeat();
      if (this.#held.loaded) this.#held.beat();
      this.#changed();
    }, heartbeat.interval);
    this.#runtime.unrefTimer(this.#timer); // never what keeps the program alive
  }

  #stopHeartbeat(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer as number);
    this.#timer = undefined;
  }

  /** Whether this owner is still the one its registry holds for the unit (always, unregistered). */
  #isRegistered(): boolean {
    return this.#owners === undefined || this.#owners.get(this.dir) === this;
  }

  /** Stops the heartbeat and removes this process's state: the unit is no longer loaded. */
  #unload(): void {
    this.#stopHeartbeat();
    this.#notify?.stop();
    this.#held.unload();
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
      this.#watch.stop();
      this.#firstReady.end(this.dir, isExiting());
      this.#shutdown.release();
      this.#servers.release(); // the program's servers stay open: only a shutdown closes them
      let failure: { error: unknown } | undefined;
      try {
        this.#unload();
      } catch (error) {
        failure = { error };
      } finally {
        if (this.#owners?.get(this.dir) === this) this.#owners.delete(this.dir);
      }
      await Promise.allSettled([this.#healthServers.close(), this.#notify?.close()]);
      if (failure) throw failure.error;
    })();
  }
}

/**
 * The parts of the state `owner` holds, judged now, as its HTTP answers
 * list them. For tests and benches: the object users get has no such
 * member.
 */
export function healthOf(owner: Liveness, kind: "live" | "ready"): readonly HealthPart[] {
  return held(owner as Unit, kind).parts;
}

/** The line `probe()` would print for {@linkcode healthOf}'s parts. */
export function verdictOf(owner: Liveness, kind: "live" | "ready"): Verdict {
  const { parts, pid } = held(owner as Unit, kind);
  return partsVerdict(parts, pid, kind === "ready");
}

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
import { uptime } from "./_clock.ts";
import { type HealthPart, heldParts, partsVerdict } from "./_health.ts";
import { HeldUnit, openExisting } from "./_held.ts";
import { type Identity, isOtherLiveOwner, self } from "./_identity.ts";
import { resolveLocation } from "./_location.ts";
import { withUnitLock } from "./_lock.ts";
import { writeMembers } from "./_member.ts";
import { resolveMembers } from "./_members.ts";
import { assertKnownKeys } from "./_options.ts";
import { isExiting, Shutdown, untilExit } from "./_shutdown.ts";
import { membersDoneOn, membersOn } from "./_probe.ts";
import { readOwner, STATE_FILES, UnitDirectory } from "./_state.ts";
import {
  assertErrorCode,
  assertReadiness,
  OPTION_KEYS,
  resolveSettings,
  type UnitSettings,
} from "./_unit_options.ts";
import type { Verdict } from "./_verdict.ts";
import { LivenessError, NotLoadedError, StateError, UnitInUseError } from "./errors.ts";
import { createHealthHandlers, type HealthHandlers } from "./http/handler.ts";
import { serve as serveHttp } from "./http/serve.ts";
import type { HealthServer, NodeListener, ServeOptions } from "./http/types.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import type {
  HealthCheck,
  Liveness,
  LivenessOptions,
  LoadOptions,
  ShutdownContext,
  ShutdownOptions,
  ShutdownResult,
  SignalOptions,
} from "./types.ts";

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
  /** The owners of the process by unit directory, where this one is registered. */
  readonly #owners: Map<string, Unit> | undefined;
  #timer: unknown;
  readonly #closers = new Set<() => Promise<void>>();
  #closing: Promise<void> | undefined;
  /** Set when the close begins: from then on nothing of this owner writes. */
  #closed = false;
  /** The ids of the unit's members (`options.members`). */
  readonly #members: string[] | undefined;
  /** What the last `load()` threw, until one succeeds: a later `set()` names it. */
  #loadFailure: { readonly error: unknown } | undefined;

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
    this.#held = new HeldUnit(runtime, dir, settings.heartbeat, settings.onError);
    this.#shutdown = new Shutdown(runtime, {
      assertOpen: (call) => {
        if (this.#closed) throw new TypeError(`Cannot ${call}: unit ${this.dir} was closed`);
      },
      drain: () => this.#held.drain(),
      close: () => this.#close(),
      report: settings.onError,
    });
    this.#http = createHealthHandlers(
      (kind) => ({ unit: this.unit, parts: this.#parts(kind) }),
      { prefix: settings.prefix },
    );
    this.fetch = this.#http.fetch;
    this.listener = this.#http.listener;
    // Registered first, so run last: the owner closes after its members are done.
    if (this.#members) this.#shutdown.onShutdown(() => this.#untilMembersDone());
  }

  async load(checks: Iterable<HealthCheck>, options: LoadOptions = {}): Promise<void> {
    try {
      await this.#load(checks, options);
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
    this.#checkProcfs(me);
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
        const pidFile = this.#held.writeOwner(directory, me, { state: "ready" });
        this.#held.take(directory, pidFile);
        this.#startHeartbeat();
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
    this.#held.set(error);
  }

  ready(ready: boolean, reason?: string): void {
    assertReadiness(ready, reason);
    if (!this.#held.loaded) throw this.#notLoaded("ready()");
    if (this.#held.readiness.state === "draining") return; // shutting down: stays draining
    this.#held.setReadiness(
      ready ? { state: "ready" } : { state: "not-ready", reason: reason || undefined },
    );
  }

  beat(): void {
    if (!this.#held.loaded) throw this.#notLoaded("beat()");
    if (this.#settings.heartbeat === undefined) {
      throw new TypeError(
        `Cannot beat(): unit ${this.dir} has its heartbeat off (heartbeat: false)`,
      );
    }
    this.#held.beat();
  }

  reset(): void {
    if (this.#closed) return; // nothing of a closed owner writes: the unit may be a later owner's
    this.#unload();
  }

  onShutdown(handler: (context: ShutdownContext) => unknown): () => void {
    return this.#shutdown.onShutdown(handler);
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

  async serve(options: ServeOptions = {}): Promise<HealthServer> {
    if (this.#closed) throw new TypeError(`Cannot serve(): unit ${this.dir} was closed`);
    const server = await serveHttp(this.#http, options);
    if (this.#closed) {
      await server.close(); // closed while it started: nothing would close it later
      throw new TypeError(`Cannot serve(): unit ${this.dir} was closed while its server started`);
    }
    const close = () => server.close();
    this.#closers.add(close);
    return {
      port: server.port,
      hostname: server.hostname,
      close: () => {
        this.#closers.delete(close);
        return close();
      },
    };
  }

  /** `await using liveness = createLiveness(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The verdict's parts: what this owner holds, then each member, read from its file. */
  #parts(kind: "live" | "ready"): HealthPart[] {
    const parts = heldParts(this.#held.state(), kind);
    if (!this.#members || !this.#held.loaded) return parts;
    for (const { name, verdict } of membersOn(this.#runtime, this.dir, kind === "ready")) {
      parts.push({ name, ok: !verdict, ...(verdict ?? { status: "healthy", reason: "ok" }) });
    }
    return parts;
  }

  /** The shutdown's last handler: until every member left or is gone (or the deadline). */
  async #untilMembersDone(): Promise<void> {
    while (!this.#closed && !membersDoneOn(this.#runtime, this.dir, this.#members ?? [])) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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

  /** Warns, fails or says nothing (`procfs`) where `/proc` or the clock cannot be read. */
  #checkProcfs(me: Identity): void {
    const { heartbeat, procfs } = this.#settings;
    const noClock = heartbeat !== undefined && uptime(this.#runtime) === undefined;
    if ((me.starttime !== undefined && !noClock) || procfs === "ignore") return;
    const error = new StateError(
      "open",
      "/proc/self/stat",
      "this process cannot read /proc (not Linux, or Deno without --allow-all)",
      "EACCES",
    );
    if (procfs === "error") throw error;
    const lacks = [
      me.starttime === undefined &&
      "no starttime is written (a later process with the same pid looks like this one) and " +
        "another live owner cannot be seen",
      noClock && "no heartbeat is written (no clock: on Deno, grant --allow-sys=osUptime)",
    ].filter(Boolean).join("; ");
    this.#settings.onError(
      new LivenessError(
        `Cannot tell everything of unit ${this.dir}: /proc cannot be read: ${lacks}: ` +
          'on Deno, run with --allow-all; silence this with procfs: "ignore"',
        { cause: error },
      ),
    );
  }

  #startHeartbeat(): void {
    this.#stopHeartbeat();
    const heartbeat = this.#settings.heartbeat;
    if (!heartbeat || heartbeat.interval === 0) return;
    this.#timer = setInterval(() => {
      // Only an open owner still registered beats: never over a later owner's state.
      if (this.#closed || !this.#isRegistered()) return this.#stopHeartbeat();
      if (this.#held.loaded) this.#held.beat();
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
      this.#shutdown.release();
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

/**
 * The public option, result and interface types: what `mod.ts` exports as
 * types, for the library and its users alike. A leaf: it imports only types
 * of other leaves (the errors, the verdict's statuses, the HTTP types), so
 * that no module imports back the façade that re-exports it.
 *
 * @module
 */
import type { LivenessError } from "./errors.ts";
import type { HealthServer, NodeListener, ServeOptions } from "./http/types.ts";
import type { ProbeStatus } from "./_verdict.ts";

/**
 * Which unit's state to use, and under which directory.
 *
 * @example
 * ```ts
 * import { createLiveness, type LocationOptions } from "@cic/liveness";
 *
 * const options: LocationOptions = { unit: "api", rundir: "/run" };
 * const liveness = createLiveness(options); // state in /run/api/
 * ```
 */
export interface LocationOptions {
  /**
   * The unit's name: one path segment. Default: `$LIVENESS_UNIT_NAME`, then
   * `$CIC_UNIT`, then the host name.
   */
  unit?: string;
  /**
   * The absolute directory that holds unit directories. Default:
   * `$LIVENESS_RUNDIR`, then `$CIC_RUNDIR`, then `/run`.
   */
  rundir?: string;
}

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
 * The heartbeat: a timer on the program's event loop replaces the
 * `heartbeat` file every `interval` ms; a probe finds a program whose last
 * beat is older than `maxAge` ms stuck (`stale`). With `manual: true` there
 * is no timer: the program calls `beat()` when its work progresses.
 *
 * @example A queue worker that beats per job
 * ```ts
 * import { createLiveness } from "@cic/liveness";
 *
 * const liveness = createLiveness({
 *   unit: "worker",
 *   rundir: await Deno.makeTempDir(),
 *   heartbeat: { manual: true, maxAge: 60_000 },
 * });
 * await liveness.load([]);
 * liveness.beat(); // after each job
 * await liveness.close();
 * ```
 */
export interface HeartbeatOptions {
  /** Milliseconds between automatic beats. Default: 1000. */
  interval?: number;
  /** Milliseconds after the last beat when the unit reads stale. Default: 10 000 (at least 3 intervals). */
  maxAge?: number;
  /** No timer: only `beat()` beats. Default: `false`. */
  manual?: boolean;
}

/**
 * Options of {@linkcode createLiveness}.
 *
 * @example
 * ```ts
 * import { createLiveness, type LivenessOptions } from "@cic/liveness";
 *
 * const options: LivenessOptions = {
 *   unit: "api",
 *   rundir: await Deno.makeTempDir(),
 *   heartbeat: { interval: 1000, maxAge: 10_000 },
 *   onError: (error) => console.error(error.message),
 * };
 * await createLiveness(options).close();
 * ```
 */
export interface LivenessOptions extends LocationOptions {
  /** The heartbeat, or `false` for none (the probes then judge the pid and error only). Default: on, 1 s, 10 s. */
  heartbeat?: false | HeartbeatOptions;
  /**
   * Where trouble goes once the unit is loaded (a write that failed, the
   * unit lost to another process, a shutdown handler that threw): `set()`,
   * `ready()` and `beat()` never throw for it. Each new trouble is reported
   * once. Default: a line on standard error.
   */
  onError?: (error: LivenessError) => void;
  /**
   * What `load()` does where `/proc` cannot be read (off Linux; Deno
   * without `--allow-all`): `"warn"` (to `onError`, the default), `"error"`
   * (a `StateError`), or `"ignore"`.
   */
  procfs?: "warn" | "error" | "ignore";
  /** The HTTP answers: `prefix` mounts them under a path (`"/health"`: `/health/livez`). */
  http?: { prefix?: string };
  /**
   * The unit's members, which join it with `joinUnit()` (docs/members.md):
   * a count (`4`: ids `"1"` to `"4"`) or their ids. Default: none.
   */
  members?: number | readonly string[];
}

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

/**
 * The one object that owns a unit in this process: its state, heartbeat,
 * readiness, signal listeners, shutdown handlers and servers.
 *
 * @example
 * ```ts
 * import { createLiveness, type Liveness } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness: Liveness = createLiveness({ unit: "api", rundir: "/run" });
 * assert.equal(liveness.dir, "/run/api");
 * await liveness.close();
 * ```
 */
export interface Liveness {
  /** The unit's name. */
  readonly unit: string;
  /** The directory that holds unit directories. */
  readonly rundir: string;
  /** `<rundir>/<unit>`: where the state files are. */
  readonly dir: string;
  /**
   * Runs the checks; when all pass, clears what an earlier process left and
   * writes this process's pid, its first heartbeat and `ready`. The unit is
   * unhealthy until `set(0)`.
   */
  load(checks: Iterable<HealthCheck>, options?: LoadOptions): Promise<void>;
  /**
   * Writes the error state: `0` is healthy, any other safe integer is not;
   * anything else (`undefined` too) is a `TypeError`. Never throws for the environment.
   */
  set(error: number): void;
  /** Says whether the unit takes traffic (`--ready` probes); never touches liveness. */
  ready(ready: boolean, reason?: string): void;
  /** A manual heartbeat: "my work is progressing". */
  beat(): void;
  /** Removes the unit's state and stops the heartbeat: the probe reports unhealthy. Idempotent. */
  reset(): void;
  /** Adds a handler for the shutdown sequence (run last registered first); returns what removes it. */
  onShutdown(handler: (context: ShutdownContext) => unknown): () => void;
  /**
   * Opt-in: the first SIGTERM or SIGINT runs the shutdown sequence, then
   * exits (0 or 1), always; a second one exits 1 at once, saying why to
   * `onError`. A signal name that
   * not every runtime can handle is a `TypeError`, and then none is handled.
   */
  handleSignals(options?: SignalOptions): void;
  /** The shutdown sequence without a signal and without exiting; it always resolves. */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
  /**
   * `reset()`, and stops every timer, listener and server of the unit;
   * from then on nothing of this owner writes. Idempotent. Called while the
   * shutdown sequence runs (from a handler, say), it leaves the unit live
   * until the sequence's end, which closes it, and resolves at once.
   */
  close(): Promise<void>;
  /** `close()`: `await using liveness = createLiveness(...)` closes the owner at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Answers `GET`/`HEAD` `/livez`, `/readyz` and `/healthz` from the state
   * this owner last wrote, held in memory (no file read): for `Deno.serve`,
   * `Bun.serve`, Hono or any fetch router. A plain function: pass it around.
   */
  readonly fetch: (request: Request) => Response;
  /** The same answers as a `node:http` `(req, res)` listener, for Express, Fastify or `http.createServer`. */
  readonly listener: NodeListener;
  /**
   * Serves the answers with the runtime's own server (`Deno.serve`,
   * `Bun.serve`, `node:http`); `close()` and the shutdown close it.
   */
  serve(options?: ServeOptions): Promise<HealthServer>;
}

/**
 * Which unit to probe, under which directory (as for `load()`), and what
 * counts.
 *
 * @example A readiness probe that also wants a beat within 5 s
 * ```ts
 * import { probe, type ProbeOptions } from "@cic/liveness";
 *
 * const options: ProbeOptions = { unit: "api", ready: true, maxAge: 5000 };
 * const rundir = await Deno.makeTempDir();
 * // unit api: no pid file at /tmp/.../api/pid (no directory /tmp/.../api)
 * console.log(probe({ ...options, rundir }).reason);
 * ```
 */
export interface ProbeOptions extends LocationOptions {
  /** Healthy only when the unit is also ready (a readiness probe). Default `false`. */
  ready?: boolean;
  /**
   * The oldest heartbeat that counts, in milliseconds: a positive integer.
   * Default: the maximum age the program recorded with its heartbeat.
   */
  maxAge?: number;
}

/**
 * The probe's verdict: a status for programs, a line for people.
 *
 * @example
 * ```ts
 * import { probe, type ProbeResult } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const result: ProbeResult = probe({ unit: "api", rundir: await Deno.makeTempDir() });
 * assert.deepEqual([result.healthy, result.status], [false, "no-pid"]);
 * ```
 */
export interface ProbeResult {
  /** `true` exactly when `status` is `"healthy"`. */
  readonly healthy: boolean;
  /** Which check decided: see {@linkcode ProbeStatus}. */
  readonly status: ProbeStatus;
  /**
   * One short line saying why, as the probe commands print it, for example
   * `unit api: healthy (pid 1)` or `unit api: error 3`. Bytes of the unit
   * outside printable ASCII show as `?`.
   */
  readonly reason: string;
  /** The unit probed; absent when the location was not valid. */
  readonly unit?: string;
  /** `<rundir>/<unit>`, where the state was read; absent when the location was not valid. */
  readonly dir?: string;
  /** The pid from the pid file, once it held a valid one. */
  readonly pid?: number;
  /** The error code from the error file, once it held a number that is a safe integer. */
  readonly error?: number;
}

/**
 * Options of `joinUnit()`: the unit (as its owner names it) and this
 * member's id among its `members`.
 *
 * @example
 * ```ts
 * import type { MemberOptions } from "@cic/liveness";
 *
 * const options: MemberOptions = { unit: "api", member: 3, heartbeat: { maxAge: 10_000 } };
 * ```
 */
export interface MemberOptions extends LocationOptions {
  /** This member's id: one of the owner's `members` (`3` or `"3"` for `members: 4`). */
  member: string | number;
  /** The member's heartbeat, as the owner's. Default: on, 1 s, 10 s. */
  heartbeat?: false | Omit<HeartbeatOptions, "manual">;
  /** Where trouble goes (a write that failed, the slot taken by a later member). Default: standard error. */
  onError?: (error: LivenessError) => void;
  /** Whether it ends its process once drained. Default: `true`, but `false` in a thread. */
  exit?: boolean;
}

/**
 * A member of a unit, in its own process or thread: what `joinUnit()`
 * returns. It writes its own state beside the owner's; the unit is healthy
 * only while every member is (docs/members.md).
 *
 * @example A worker thread's member
 * ```ts
 * import { joinUnit } from "@cic/liveness";
 *
 * const member = joinUnit({ unit: "api", rundir: await Deno.makeTempDir(), member: 1 });
 * member.set(0);
 * member.ready(false, "warming");
 * await member.leave();
 * ```
 */
export interface Member extends AsyncDisposable {
  /** The unit's name. */
  readonly unit: string;
  /** `<rundir>/<unit>`. */
  readonly dir: string;
  /** This member's id. */
  readonly member: string;
  /** Whether this member is a thread: told apart from its process's other threads by its own. */
  readonly thread: boolean;
  /** `0` is live, any other code fails the unit; never throws for the environment. */
  set(error: number): void;
  /** This member's readiness: the unit is ready only while every member is. */
  ready(ready: boolean, reason?: string): void;
  /** A manual heartbeat (one beats every second by default). */
  beat(): void;
  /** A handler it runs when the owner shuts down (last added first); returns its removal. */
  onShutdown(handler: (context: ShutdownContext) => unknown): () => void;
  /** Leaves the unit: the member says `left`, stops beating and writes nothing more. */
  leave(): Promise<void>;
}

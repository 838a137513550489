/**
 * The public option, result and interface types: what `mod.ts` exports as
 * types, for the library and its users alike. A leaf: it imports only types
 * of other leaves (the errors, the verdict's statuses, the checks', the
 * shutdown's and the HTTP types), so
 * that no module imports back the façade that re-exports it.
 *
 * @module
 */
import type { LivenessError } from "./errors.ts";
import type { HealthServer, NodeListener, ServeOptions, ServerShutdown } from "./http/types.ts";
import type { ProbeStatus } from "./_verdict.ts";
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
  /**
   * The HTTP answers: `prefix` mounts them under a path (`"/health"`:
   * `/health/livez`); `lightship: true` also answers lightship's `/live`,
   * `/ready` and `/health`, with its statuses and bodies.
   */
  http?: { prefix?: string; lightship?: boolean };
  /**
   * systemd's notify protocol where `NOTIFY_SOCKET` is set (`Type=notify`,
   * `WatchdogSec=`): `READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`
   * (see docs/systemd.md). Default `true`; `false` leaves the variables to
   * another owner or the program.
   */
  notify?: boolean;
  /**
   * The unit's members, which join it with `joinUnit()` (docs/members.md):
   * a count (`4`: ids `"1"` to `"4"`) or their ids. Default: none.
   */
  members?: number | readonly string[];
}

/**
 * The unit as this owner holds it, as values: each what the probes and the
 * HTTP answers say of the unit at the same moment (`live`: `probe()` and
 * `/livez` pass; `ready`: `probe({ ready: true })` and `/readyz` pass).
 *
 * @example
 * ```ts
 * import { createLiveness, type LivenessState } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * await liveness.load([]);
 * liveness.set(0);
 * const state: LivenessState = liveness.state;
 * assert.deepEqual(state, { loaded: true, live: true, ready: true, draining: false, closed: false });
 * await liveness.close();
 * ```
 */
export interface LivenessState {
  /** `load()` succeeded and nothing has reset the unit since. */
  readonly loaded: boolean;
  /** The liveness verdict is healthy: loaded, `set(0)`, a fresh heartbeat, the pid file this process's. */
  readonly live: boolean;
  /** The readiness verdict is healthy: live, and ready (never while readiness says `draining`). */
  readonly ready: boolean;
  /** The shutdown began (at the signal, its hook included) and has not closed the owner yet. */
  readonly draining: boolean;
  /** The owner was closed: nothing of it writes any more. */
  readonly closed: boolean;
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
export interface Liveness extends ServerShutdown {
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
  /**
   * Runs named checks in the background until the shutdown or `close()`
   * (see {@linkcode WatchOptions}); returns what stops them. What they find
   * is written to the state, so every probe sees it.
   */
  watch(
    checks: Readonly<Record<string, WatchFunction | WatchedCheck>>,
    options?: WatchOptions,
  ): () => void;
  /** A manual heartbeat: "my work is progressing". */
  beat(): void;
  /** Removes the unit's state and stops the heartbeat: the probe reports unhealthy. Idempotent. */
  reset(): void;
  /** The unit as values, a frozen snapshot taken at each read: see {@linkcode LivenessState}. */
  readonly state: LivenessState;
  /**
   * Resolves the first time the unit is live and ready (at once when it is
   * already). Rejects with a `LivenessError` when the owner closes before
   * that; after a handled signal it never settles (the program exits).
   */
  whenFirstReady(): Promise<void>;
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
  /**
   * Serves `grpc.health.v1.Health` (`Check`, `Watch`) over cleartext HTTP/2
   * for Kubernetes `grpc` probes, on Node and Bun (on Deno it rejects):
   * service `""` and `"liveness"` are liveness, `"readiness"` readiness;
   * port `9001` by default. `close()` and the shutdown close it.
   */
  serveGrpc(options?: ServeOptions): Promise<HealthServer>;
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

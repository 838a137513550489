/**
 * The life cycle of a unit: `createLiveness()` gives the one object that
 * owns it in this process; `load`, `set` and `reset` are also free
 * functions that reach that same object.
 *
 * @module
 */
import type { HealthCheck } from "./_checks.ts";
import { type LocationOptions, resolveLocation } from "./_location.ts";
import { runtime } from "./_runtime_current.ts";
import { assertKnownKeys } from "./_options.ts";
import { assertErrorCode, OPTION_KEYS, resetUnit, Unit } from "./_unit.ts";
import { type LivenessError, NotLoadedError } from "./errors.ts";
import type { HealthServer, NodeListener, ServeOptions } from "./http.ts";

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
  /** The heartbeat, or `false` for none (probed as 0.1 was). Default: on, 1 s, 10 s. */
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
   * exits (0 or 1), always; a second one exits 1 at once. A signal name that
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

/** The owners of this process, by unit directory: one each. */
const owners = new Map<string, Unit>();

/**
 * The one object that owns the unit in this process: `createLiveness` with
 * the same unit and rundir returns the same object, and the free functions
 * reach it too. Give the options (heartbeat, `onError`) on the first call.
 *
 * @throws {TypeError} for an invalid unit or rundir, a bad or unknown
 * option, or other options for a unit that already has an owner.
 *
 * @example The whole life cycle
 * ```ts
 * import { createLiveness } from "@cic/liveness";
 * import assert from "node:assert/strict";
 * import { readFileSync } from "node:fs";
 *
 * const liveness = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * await liveness.load([() => true]);
 * liveness.set(0);
 * assert.equal(readFileSync(`${liveness.dir}/error`, "utf8"), "0\n");
 * liveness.ready(false, "warming");
 * liveness.ready(true);
 * await liveness.close();
 * ```
 */
export function createLiveness(options: LivenessOptions = {}): Liveness {
  assertKnownKeys(options, OPTION_KEYS, "createLiveness()");
  const { dir } = resolveLocation(runtime, options);
  const existing = owners.get(dir);
  const { unit: _unit, rundir: _rundir, ...rest } = options;
  if (existing) {
    if (Object.values(rest).some((value) => value !== undefined)) {
      throw new TypeError(
        `Cannot create a second owner of unit ${dir}: use the object the first createLiveness() returned.`,
      );
    }
    return existing;
  }
  const owner = new Unit(runtime, options, owners);
  owners.set(dir, owner);
  return owner;
}

/**
 * Runs the health checks, in order, each with `options.args`. When all
 * return `true`: clears the state an earlier process left in
 * `<rundir>/<unit>`, then writes this process's pid (and start time,
 * heartbeat and readiness). The unit stays unhealthy until `set(0)`. It
 * reaches the unit's owner, made with default options where there is none.
 *
 * @throws {HealthCheckError} naming every check that returned `false`.
 * @throws {TypeError} for a module without a `health` export, a check that
 * returns something other than a boolean, or a bad unit or rundir.
 * @throws {UnitInUseError} when the unit's state belongs to another process
 * that is still running; nothing is written.
 * @throws {StateError} when the state cannot be written, or the unit
 * directory is a symbolic link; the unit is left without an error file, so
 * the probe says unhealthy.
 * @throws {LivenessError} when the owner was closed, or began shutting
 * down, while the checks ran; nothing is written.
 *
 * @example
 * ```ts
 * import { load, reset } from "@cic/liveness";
 *
 * const rundir = await Deno.makeTempDir();
 * const database = { health: () => true };
 * await load([database, () => true], { unit: "api", rundir });
 * reset({ unit: "api", rundir });
 * ```
 */
export async function load(
  checks: Iterable<HealthCheck>,
  options: LocationOptions & LoadOptions = {},
): Promise<void> {
  assertKnownKeys(options, ["unit", "rundir", "args", "timeout"], "load()");
  const { unit, rundir, args, timeout } = options;
  await createLiveness({ unit, rundir }).load(checks, { args, timeout });
}

/**
 * The owner of the unit that free-function options name, if this process
 * has one; `set` and `reset` never make one.
 */
function ownerOf(options: LocationOptions | undefined, what: string): {
  owner: Liveness | undefined;
  dir: string;
} {
  assertKnownKeys(options, ["unit", "rundir"], what);
  const { dir } = resolveLocation(runtime, { unit: options?.unit, rundir: options?.rundir });
  return { owner: owners.get(dir), dir };
}

/**
 * Writes the unit's error state: `0` when healthy, any other safe integer
 * when not. Synchronous, so it also works in exit handlers. Trouble with the
 * state directory is reported to `onError`, never thrown.
 *
 * @throws {TypeError} when `error` is not a safe integer (`undefined` too:
 * `set(err.errno)` of an error without one must not read as healthy), or
 * an option is unknown; nothing changes.
 * @throws {NotLoadedError} when this process has not loaded the unit.
 *
 * @example
 * ```ts
 * import { load, reset, set } from "@cic/liveness";
 *
 * const options = { unit: "worker", rundir: await Deno.makeTempDir() };
 * await load([], options);
 * set(0, options); // healthy
 * set(3, options); // unhealthy
 * reset(options);
 * ```
 */
export function set(error: number, options?: LocationOptions): void {
  const { owner, dir } = ownerOf(options, "set()");
  if (owner) return owner.set(error);
  assertErrorCode(error);
  throw new NotLoadedError(dir, "set()");
}

/**
 * Removes the unit's state, error file first: the probe reports unhealthy.
 * Synchronous and idempotent. State that names another process is left
 * alone, so a `reset()` in a `finally` block is always safe. Where this
 * process has no owner of the unit, none is made.
 *
 * @throws {StateError} when a file cannot be removed.
 * @throws {TypeError} for a bad unit or rundir, or an unknown option.
 *
 * @example
 * ```ts
 * import { reset } from "@cic/liveness";
 *
 * const rundir = await Deno.makeTempDir();
 * reset({ unit: "api", rundir });
 * reset({ unit: "api", rundir }); // nothing left to remove: fine
 * ```
 */
export function reset(options?: LocationOptions): void {
  const { owner, dir } = ownerOf(options, "reset()");
  if (owner) owner.reset();
  else resetUnit(runtime, dir);
}

/**
 * Tell Kubernetes, Docker or any supervisor whether a long-running program is
 * alive and healthy, and probe that state.
 *
 * The program calls {@linkcode load} at start-up (after configuration: it
 * runs the health checks, writes the pid and starts a heartbeat that beats
 * every second), {@linkcode set} when its main routine starts (`0`, healthy)
 * and whenever its state changes, and {@linkcode reset} at shutdown (or
 * lets `handleSignals()` of {@linkcode createLiveness} drain and shut down on
 * SIGTERM). A probe ({@linkcode probe}, the `liveness-probe` command or
 * `probe.sh`) reads the state from `<rundir>/<unit>/`, and the HTTP
 * endpoints of `serve()` answer the same from memory: healthy only while the
 * pid file names this live process, the error file holds `0` and the
 * heartbeat is recent.
 *
 * @example The whole life cycle, with the probe's verdict
 * ```ts
 * import { createLiveness, probe } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * const liveness = createLiveness({ unit: "api", rundir });
 *
 * await liveness.load([() => true]); // checks pass: pid written
 * liveness.set(0); // main routine starts: healthy
 * assert.equal(probe({ unit: "api", rundir }).healthy, true);
 *
 * liveness.set(3); // something is wrong: unhealthy
 * assert.equal(probe({ unit: "api", rundir }).reason, "unit api: error 3");
 *
 * liveness.reset(); // shutdown: state removed
 * assert.equal(probe({ unit: "api", rundir }).healthy, false);
 * ```
 *
 * @module
 */
export { createLiveness, load, reset, set } from "./src/liveness.ts";
export type {
  HealthCheck,
  HealthFunction,
  LoadOptions,
  WatchedCheck,
  WatchFunction,
  WatchOptions,
} from "./src/check_types.ts";
export type {
  ShutdownContext,
  ShutdownOptions,
  ShutdownResult,
  SignalOptions,
} from "./src/shutdown_types.ts";
export type {
  HeartbeatOptions,
  Liveness,
  LivenessOptions,
  LivenessState,
  LocationOptions,
  Member,
  MemberOptions,
  ProbeOptions,
  ProbeResult,
} from "./src/types.ts";
export type {
  ClosableServer,
  HealthServer,
  NodeListener,
  NodeRequest,
  NodeResponse,
  ServeOptions,
  ServerShutdown,
} from "./src/http/types.ts";
export type { ProbeStatus } from "./src/_verdict.ts";
export {
  HealthCheckError,
  LivenessError,
  LocationError,
  NotLoadedError,
  StateError,
  UnitInUseError,
  UnitLostError,
} from "./src/errors.ts";
export type { StateOperation } from "./src/errors.ts";
export { probe } from "./src/probe.ts";
export { joinUnit } from "./src/member.ts";

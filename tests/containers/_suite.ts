/**
 * Whether the container suite runs here, and why not: it runs under Node
 * only (`npm test` runs it once, in its own leg), and only where podman can
 * run containers. It never fails for the engine: it skips, and says why.
 *
 * @module
 */
import process from "node:process";
import { engineProblem } from "./_podman.ts";

/** Why the tests that need a runtime-independent host tool skip on Deno and Bun. */
const OTHER_RUNTIME = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : undefined;

/**
 * The reason the Node-only tests of `tests/containers/` skip, or `false`.
 * The engine, the manifests and the prober are what they test, not the
 * runtime running the suite; Node, Bun and Deno are tested inside the
 * containers, each with its own probe command.
 */
export const NOT_NODE: string | false = OTHER_RUNTIME
  ? `runs under Node only (npm test's container leg); Bun and Deno run inside the containers, not ${OTHER_RUNTIME} as the runner`
  : false;

/** The reason the container tests skip, or `false` when they run. */
export const NO_ENGINE: string | false = NOT_NODE ||
  (process.env.LIVENESS_SKIP_CONTAINERS ? "LIVENESS_SKIP_CONTAINERS is set" : false) ||
  (engineProblem() ?? false);

/**
 * Tests that need the 0.2 library (heartbeat, readiness, handleSignals,
 * serve). They fail against a 0.1 build: the features they test are missing.
 */
export const NEEDS_0_2 = [
  "a hung program turns unhealthy (heartbeat) on node",
  "a hung program turns unhealthy (heartbeat) on bun",
  "a hung program turns unhealthy (heartbeat) on deno",
  "podman stop: readiness fails first, liveness holds, exit 0 within the grace period on node",
  "podman stop: readiness fails first, liveness holds, exit 0 within the grace period on bun",
  "podman stop: readiness fails first, liveness holds, exit 0 within the grace period on deno",
  "SIGTERM as the kubelet sends it: the exec probes see draining while liveness holds",
  "the HTTP endpoints on a published loopback port answer like the probe on node",
  "the HTTP endpoints on a published loopback port answer like the probe on bun",
  "the HTTP endpoints on a published loopback port answer like the probe on deno",
  "the distroless image as built: its CMD serves and its HEALTHCHECK says healthy",
  "the prober: first ready, then out of the Service before a restart (exec manifest)",
  "the prober: a hang leads to a restart decision after failureThreshold periods",
  "the prober: no restart during a drain, readiness fails first",
  "the prober: the httpGet manifest, ready and live over HTTP",
] as const;

/** `name`, marked ` [needs 0.2]` when it is one of {@linkcode NEEDS_0_2}. */
export function marked(name: string): string {
  return (NEEDS_0_2 as readonly string[]).includes(name) ? `${name} [needs 0.2]` : name;
}

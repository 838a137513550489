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

/**
 * The {@linkcode Runtime} of the runtime this module runs on, chosen once.
 *
 * @module
 */
import type { Runtime } from "./_runtime.ts";
import { type DenoNamespace, denoRuntime } from "./_deno.ts";
import { type NodeProcess, nodeRuntime } from "./_node.ts";
import { bunRuntime } from "./_bun.ts";

function current(): Runtime {
  const { Deno } = globalThis as { Deno?: DenoNamespace };
  if (Deno) return denoRuntime(Deno);
  // Only now: on Deno, even reading `globalThis.process` loads its Node layer.
  const { process } = globalThis as { process?: NodeProcess };
  if (typeof process?.getBuiltinModule === "function") {
    return process.versions.bun === undefined ? nodeRuntime(process) : bunRuntime(process);
  }
  throw new Error(
    "Cannot start @cic/liveness: this runtime has neither Deno nor process.getBuiltinModule(): " +
      "run it on Deno, Bun or Node 20.16 or later",
  );
}

/** Deno's adapter on Deno, Bun's on Bun, the `node:` one on Node. */
export const runtime: Runtime = current();

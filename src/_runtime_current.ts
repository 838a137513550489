/**
 * The {@linkcode Runtime} of the runtime this module runs on, chosen once.
 *
 * @module
 */
import type { Runtime } from "./_runtime.ts";
import { type DenoNamespace, denoRuntime } from "./_runtime_deno.ts";
import { nodeRuntime } from "./_runtime_node.ts";

const { Deno } = globalThis as { Deno?: DenoNamespace };

/** Deno's adapter on Deno; the `node:` one on Node and Bun. */
export const runtime: Runtime = Deno ? denoRuntime(Deno) : nodeRuntime();

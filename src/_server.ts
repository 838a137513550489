/**
 * The one interface through which `serve()` reaches the runtime's own HTTP
 * server, and the choice of its implementation: `_server_deno.ts`
 * (`Deno.serve`), `_server_bun.ts` (`Bun.serve`) or `_server_node.ts`
 * (`node:http`). Only the chosen file is imported, and only when `serve()`
 * is first called: on Deno no `node:` module loads, and a program that only
 * probes loads no server code at all.
 *
 * @module
 */
import type { HealthFetchHandler, HealthServer } from "./http.ts";

/** Where an adapter listens: a port (`0`: any free one) and an address. */
export interface ListenOptions {
  readonly port: number;
  readonly hostname: string;
}

/** A runtime's server, behind one interface. */
export interface ServerAdapter {
  /**
   * Serves `handler` at `options`; resolves once it listens, with the bound
   * port. Rejects with the runtime's error when the address cannot be bound.
   */
  listen(handler: HealthFetchHandler, options: ListenOptions): Promise<HealthServer>;
}

/**
 * How long a client may take to send a request's head, and how long an idle
 * kept-alive connection stays open, in milliseconds, where the runtime lets
 * us choose. A probe sends its request at once: anything slower is a client
 * we do not wait for.
 */
export const REQUEST_TIMEOUT = 10_000;
/** See {@linkcode REQUEST_TIMEOUT}. */
export const IDLE_TIMEOUT = 10_000;

/** The adapter of the runtime this module runs on, imported now. */
export async function loadServerAdapter(): Promise<ServerAdapter> {
  if ("Deno" in globalThis) return (await import("./_server_deno.ts")).denoServer;
  if ("Bun" in globalThis) return (await import("./_server_bun.ts")).bunServer;
  return (await import("./_server_node.ts")).nodeServer;
}

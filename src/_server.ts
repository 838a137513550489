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

/** Where an adapter listens, and what it routes to the handler. */
export interface ListenOptions {
  /** The port; `0`: any free one. */
  readonly port: number;
  /** The address to bind. */
  readonly hostname: string;
  /**
   * The exact paths the handler answers (`/livez`, `/readyz`, `/healthz`,
   * under its prefix). A server that resolves dot segments in the URL it
   * gives a handler (`Bun.serve`) routes only a target that is one of these
   * as sent to the handler, and any other to `notFound`.
   */
  readonly paths: readonly string[];
  /** The handler's `404`. */
  readonly notFound: (request: Request) => Response;
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

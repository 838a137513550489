/**
 * The one interface through which `serve()` reaches the runtime's own HTTP
 * server, implemented by `_deno.ts` (`Deno.serve`), `_bun.ts` (`Bun.serve`)
 * and `_node.ts` (`node:http`). `serve.ts` imports only the runtime's, and
 * only when `serve()` is first called: on Deno no `node:` module loads, and a
 * program that only probes loads no server code at all.
 *
 * @module
 */
import type { HealthHandlers } from "./handler.ts";
import type { HealthServer } from "./types.ts";

/** Where an adapter listens, and what answers what the handlers do not route. */
export interface ListenOptions {
  /** The port; `0`: any free one. */
  readonly port: number;
  /** The address to bind. */
  readonly hostname: string;
  /**
   * The handlers' `404`. A server that resolves dot segments in the URL it
   * gives a handler (`Bun.serve`) routes only a target that is one of the
   * handlers' exact paths as sent to them, and any other to this.
   */
  readonly notFound: (request: Request) => Response;
}

/** A runtime's server, behind one interface. */
export interface ServerAdapter {
  /**
   * Serves `handlers` (the fetch handler, or on Node the listener) at
   * `options`; resolves once it listens, with the bound port. Rejects with
   * the runtime's error when the address cannot be bound.
   */
  listen(handlers: HealthHandlers, options: ListenOptions): Promise<HealthServer>;
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

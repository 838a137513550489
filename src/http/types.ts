/**
 * The public types of the HTTP answers: the `node:http` listener's request,
 * response and signature, and the server `serve()` starts. A leaf, which
 * `src/types.ts` takes them from.
 *
 * @module
 */

/**
 * The part of `node:http`'s `IncomingMessage` a {@linkcode NodeListener}
 * reads: an `IncomingMessage` is one.
 *
 * @example
 * ```ts
 * import type { NodeRequest } from "./types.ts";
 *
 * const request: NodeRequest = { method: "GET", url: "/livez", headers: {} };
 * ```
 */
export interface NodeRequest {
  /** `GET`, `HEAD`, ... */
  readonly method?: string | undefined;
  /** The request target: `/livez?verbose` (or the absolute form a proxy sends). */
  readonly url?: string | undefined;
  /** The request's headers, by lower-case name. */
  readonly headers: { readonly host?: string | undefined; readonly accept?: string | undefined };
}

/**
 * The part of `node:http`'s `ServerResponse` a {@linkcode NodeListener}
 * writes: a `ServerResponse` is one.
 *
 * @example A response that keeps what it is given
 * ```ts
 * import type { NodeResponse } from "./types.ts";
 *
 * const written: unknown[] = [];
 * const response: NodeResponse = {
 *   writeHead: (status, headers) => written.push(status, headers),
 *   end: (body) => written.push(body),
 * };
 * ```
 */
export interface NodeResponse {
  /** Sets the status and the headers. */
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  /** Sends the body, if any, and ends the answer. */
  end(body?: string): unknown;
}

/**
 * A `node:http` style listener, for `http.createServer()` or an Express
 * route: `(req, res) => void`. It answers every request it is given (`404`
 * for another path), so a router should give it only the health paths.
 *
 * @example Answer a request without a server
 * ```ts
 * import { createHealthHandlers } from "./handler.ts";
 * import type { NodeListener } from "./types.ts";
 * import assert from "node:assert/strict";
 *
 * const listener: NodeListener = createHealthHandlers(() => ({ unit: "api", parts: [] })).listener;
 * const written: unknown[] = [];
 * listener({ method: "GET", url: "/livez", headers: {} }, {
 *   writeHead: (status) => written.push(status),
 *   end: (body) => written.push(body),
 * });
 * assert.deepEqual(written, [200, "ok"]);
 * ```
 */
export type NodeListener = (req: NodeRequest, res: NodeResponse) => void;

/**
 * Options of {@linkcode serve}.
 *
 * @example All interfaces, port 9000 (the defaults), until a signal
 * ```ts
 * import type { ServeOptions } from "./types.ts";
 *
 * const options: ServeOptions = { port: 9000, signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface ServeOptions {
  /** The port; `0` picks a free one (read it from {@linkcode HealthServer.port}). Default: `9000`. */
  port?: number;
  /**
   * The address to bind. Default: every interface, IPv6 and IPv4 (`"::"`,
   * dual-stack): a Kubernetes probe connects to the pod's address. Only on a
   * machine with no IPv6 at all (an IPv6 socket cannot be made) does the
   * default bind IPv4 alone (`"0.0.0.0"`); any other failure to bind `"::"`
   * (the port in use, on `[::1]` too) rejects. `"127.0.0.1"` keeps the
   * endpoints to the pod itself (and to exec probes).
   */
  hostname?: string;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
}

/**
 * A running server of the health endpoints.
 *
 * @example
 * ```ts
 * import { createHealthHandlers } from "./handler.ts";
 * import { serve } from "./serve.ts";
 * import type { HealthServer } from "./types.ts";
 *
 * const handlers = createHealthHandlers(() => ({ unit: "api", parts: [] }));
 * const server: HealthServer = await serve(handlers, { port: 0, hostname: "127.0.0.1" });
 * console.log(`health endpoints on port ${server.port}`);
 * await server.close();
 * ```
 */
export interface HealthServer {
  /** The bound port. */
  readonly port: number;
  /** The bound address, as given or as chosen (`"::"` or `"0.0.0.0"`). */
  readonly hostname: string;
  /** Stops listening and closes every connection; resolves when closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * A server the shutdown closes after its drain (`closeOnShutdown()`): a
 * `node:http`, `node:https` or `node:http2` server, the server `Deno.serve`
 * or `Bun.serve` returns, or any object with a `close()` method (awaited).
 *
 * @example
 * ```ts
 * import type { ClosableServer } from "@cic/liveness";
 * import { createServer } from "node:http";
 *
 * const servers: ClosableServer[] = [createServer(), { close: () => console.log("closed") }];
 * ```
 */
export type ClosableServer =
  | { close(): unknown }
  | { shutdown(): Promise<void>; readonly finished: Promise<void> }
  | { stop(closeActiveConnections?: boolean): unknown };

/**
 * What the owner does with the program's own servers at the shutdown: a
 * part of `Liveness` (see `docs/servers.md`).
 *
 * @example
 * ```ts
 * import { createLiveness, type ServerShutdown } from "@cic/liveness";
 *
 * const owner: ServerShutdown = createLiveness({ unit: "api", rundir: await Deno.makeTempDir() });
 * const server = Deno.serve({ port: 0, onListen() {} }, owner.drainHandler(() => new Response()));
 * const remove = owner.closeOnShutdown(server);
 * remove();
 * await server.shutdown();
 * ```
 */
export interface ServerShutdown {
  /**
   * Closes `server` when the shutdown's drain ends, before the handlers: it
   * stops accepting, answers what is in flight (on HTTP/1.1 with
   * `Connection: close` from the signal on), closes idle connections at once
   * and cuts what is left at the deadline. Returns what removes it.
   */
  closeOnShutdown(server: ClosableServer): () => void;
  /**
   * `handler` (a fetch handler, for `Deno.serve` or `Bun.serve`), whose
   * answers say `Connection: close` from the signal on, as those of the
   * `node:http` servers given to `closeOnShutdown()` do: kept-alive clients
   * move to another replica while the drain lasts.
   */
  drainHandler<H extends (request: Request, ...rest: never[]) => unknown>(handler: H): H;
}

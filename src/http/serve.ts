/**
 * A small server of the health endpoints, the runtime's own:
 * {@linkcode serve}. It imports the runtime's server adapter (`_deno.ts`,
 * `_bun.ts` or `_node.ts`) when it is first called, so that a program that
 * only probes, or only uses the handlers, never loads it.
 *
 * @module
 */
import { describeOption } from "../_options.ts";
import { checkServeOptions, listenOnEvery } from "./_listen.ts";
import type { ServerAdapter } from "./_adapter.ts";
import { type HealthHandlers, notFound } from "./handler.ts";
import type { HealthServer, ServeOptions } from "./types.ts";

/**
 * The port {@linkcode serve} binds when none is given: `9000`, lightship's
 * too, so that manifests written for it keep working.
 *
 * @example
 * ```ts
 * import { DEFAULT_PORT } from "./serve.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_PORT, 9000);
 * ```
 */
export const DEFAULT_PORT = 9000;

let adapter: Promise<ServerAdapter> | undefined;

/** The adapter of the runtime this module runs on, imported now: only the chosen one loads. */
async function loadServerAdapter(): Promise<ServerAdapter> {
  if ("Deno" in globalThis) return (await import("./_deno.ts")).denoServer;
  if ("Bun" in globalThis) return (await import("./_bun.ts")).bunServer;
  return (await import("./_node.ts")).nodeServer;
}

/**
 * Serves `handlers` with the runtime's own server (`Deno.serve` and
 * `Bun.serve` their fetch handler, `node:http` their listener), with limits
 * that keep one slow or hostile client from stopping the answers to others. The server keeps the program
 * alive until it is closed (`close()` or `signal`).
 *
 * Paths match exactly on every runtime: the request target as sent
 * (`/readyz/../livez` is `404`, and the `Host` never changes the route;
 * see `createFetchHandler()`). `Bun.serve` resolves dot segments in the URL
 * it gives a handler, so on Bun the handler is mounted on its exact paths as
 * `routes`, which match the target as sent.
 *
 * The default address is `::` (dual-stack); only on a machine with no IPv6
 * at all is it `0.0.0.0`. Any other failure to bind rejects, naming the
 * address tried.
 *
 * @example Serve, ask, close
 * ```ts
 * import { createHealthHandlers } from "./handler.ts";
 * import { serve } from "./serve.ts";
 * import assert from "node:assert/strict";
 *
 * const handlers = createHealthHandlers(() => ({ unit: "api", parts: [] }));
 * const server = await serve(handlers, { port: 0, hostname: "127.0.0.1" });
 * const response = await fetch(`http://127.0.0.1:${server.port}/readyz`);
 * assert.equal(response.status, 200);
 * await response.body?.cancel();
 * await server.close();
 * ```
 *
 * @param handlers What {@linkcode createHealthHandlers} made.
 * @param options Where to listen, and a signal that closes the server.
 * @returns The server, once it listens.
 * @throws {TypeError} When an option is unknown or of the wrong type, `port`
 * is not an integer from 0 to 65535, or `handlers` are not what
 * {@linkcode createHealthHandlers} made.
 * @throws {Error} `Cannot serve on ADDRESS port PORT: ...` when the address
 * cannot be bound (its `cause` is the runtime's error), or the signal's
 * reason when it is already aborted.
 */
export async function serve(
  handlers: HealthHandlers,
  options: ServeOptions = {},
): Promise<HealthServer> {
  const listening = checkServeOptions(options, "serve()", DEFAULT_PORT);
  if (!isHealthHandlers(handlers)) {
    throw new TypeError(
      "Cannot call serve(): its handlers must be what createHealthHandlers() made, " +
        `got ${describeOption(handlers)}`,
    );
  }
  listening.signal?.throwIfAborted();
  adapter ??= loadServerAdapter();
  const { listen } = await adapter;
  return await listenOnEvery(
    "serve",
    listening,
    (hostname) => listen(handlers, { port: listening.port, hostname, notFound }),
  );
}

/** Whether `value` has the shape of {@linkcode HealthHandlers}, for callers in plain JavaScript. */
function isHealthHandlers(value: unknown): value is HealthHandlers {
  const { fetch, listener, paths } = (value ?? {}) as Partial<HealthHandlers>;
  return typeof fetch === "function" && typeof listener === "function" && Array.isArray(paths);
}

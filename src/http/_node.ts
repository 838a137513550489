/**
 * The {@linkcode ServerAdapter} on Node: `node:http`, answering through the
 * handlers' listener (no `Request` or `Response` is built), with
 * the limits Node lets us set: a request head of at most 16 KiB
 * (`maxHeaderSize`, else `431`), sent within `headersTimeout` (else `408`
 * and the connection is closed), checked every second; an idle kept-alive
 * connection closes after `keepAliveTimeout`.
 *
 * @module
 */
import type * as Http from "node:http";
import {
  IDLE_TIMEOUT,
  type ListenOptions,
  REQUEST_TIMEOUT,
  type ServerAdapter,
} from "./_adapter.ts";

/** The most a request head may weigh: Node's default, far above any probe's. */
const MAX_HEADER_SIZE = 16 * 1024;

/**
 * `node:http`, from `process.getBuiltinModule()` rather than a static
 * import: the npm build makes the library one module (see
 * `scripts/build_npm.ts`), where a static import would load `node:http`
 * with it, on every runtime, even in a program that never serves.
 */
function nodeHttp(): typeof Http {
  const { process } = globalThis as unknown as {
    process: { getBuiltinModule(id: "node:http"): typeof Http };
  };
  return process.getBuiltinModule("node:http");
}

/** `node:http`, with the limits above. */
export const nodeServer: ServerAdapter = {
  listen({ listener }, { port, hostname }: ListenOptions) {
    const { createServer } = nodeHttp();
    const server = createServer({
      maxHeaderSize: MAX_HEADER_SIZE,
      headersTimeout: REQUEST_TIMEOUT,
      requestTimeout: REQUEST_TIMEOUT,
      keepAliveTimeout: IDLE_TIMEOUT,
      connectionsCheckingInterval: 1000,
    }, listener);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: hostname, ipv6Only: false }, () => {
        server.off("error", reject);
        const address = server.address();
        let closed: Promise<void> | undefined;
        resolve({
          port: typeof address === "object" && address !== null ? address.port : port,
          hostname,
          close: () =>
            closed ??= new Promise<void>((done) => {
              server.close(() => done());
              // Our answers are written at once: a connection still open is idle or too slow.
              server.closeAllConnections();
            }),
        });
      });
    });
  },
};

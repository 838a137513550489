/**
 * The gRPC health service on a port of its own: {@linkcode serveGrpc}. It
 * imports the server (`_server.ts`, and with it `node:http2`) when it is
 * first called, so that a program that never serves gRPC never loads it.
 *
 * @module
 */
import { describeOption } from "../_options.ts";
import { checkServeOptions, listenOnEvery } from "../http/_listen.ts";
import { LivenessError } from "../errors.ts";
import type { HealthServer, ServeOptions } from "../http/types.ts";
import type { GrpcSource } from "./_service.ts";

/**
 * The port {@linkcode serveGrpc} binds when none is given: `9001`, next to
 * the HTTP endpoints' `9000`.
 *
 * @example
 * ```ts
 * import { DEFAULT_GRPC_PORT } from "./serve.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_GRPC_PORT, 9001);
 * ```
 */
export const DEFAULT_GRPC_PORT = 9001;

let server: Promise<typeof import("./_server.ts")> | undefined;

/**
 * Serves `grpc.health.v1.Health` (`Check` and `Watch`) over cleartext
 * HTTP/2 with `node:http2`, on Node and Bun (not on Deno, whose `node:http2`
 * server a client can bring down; see `assertHttp2`): service `""` and `"liveness"` answer whether
 * `source` says live, `"readiness"` whether it says ready, any other name
 * `NOT_FOUND`. The server keeps the program alive until it is closed
 * (`close()` or `signal`).
 *
 * The default address is `::` (dual-stack); only on a machine with no IPv6
 * at all is it `0.0.0.0`. Any other failure to bind rejects, naming the
 * address tried.
 *
 * @example Serve and close, where the runtime can
 * ```ts
 * import { serveGrpc } from "./serve.ts";
 *
 * try {
 *   const server = await serveGrpc(() => true, { port: 0, hostname: "127.0.0.1" });
 *   console.log(`grpc.health.v1.Health on port ${server.port}`);
 *   await server.close();
 * } catch (error) {
 *   console.log((error as Error).message); // on Deno: Cannot serve gRPC on Deno: ...
 * }
 * ```
 *
 * @param source Whether the unit is live, or ready, now.
 * @param options Where to listen, and a signal that closes the server.
 * @returns The server, once it listens.
 * @throws {TypeError} When an option is unknown or of the wrong type, or
 * `port` is not an integer from 0 to 65535.
 * @throws {Error} `Cannot serve gRPC on ADDRESS port PORT: ...` when the
 * address cannot be bound (its `cause` is the runtime's error), `Cannot
 * serve gRPC ...` (a `LivenessError`) on Deno, or where the runtime has no
 * `node:http2`, or the signal's
 * reason when it is already aborted.
 */
export async function serveGrpc(
  source: GrpcSource,
  options: ServeOptions = {},
): Promise<HealthServer> {
  const listening = checkServeOptions(options, "serveGrpc()", DEFAULT_GRPC_PORT);
  if (typeof source !== "function") {
    throw new TypeError(
      `Cannot call serveGrpc(): its source must be a function, got ${describeOption(source)}`,
    );
  }
  listening.signal?.throwIfAborted();
  assertHttp2();
  server ??= import("./_server.ts");
  const { listenGrpc } = await server;
  return await listenOnEvery(
    "serve gRPC",
    listening,
    (hostname) => listenGrpc(source, { port: listening.port, hostname }),
  );
}

/**
 * Throws where the runtime has no `node:http2` server that a client cannot
 * bring down: none at all, or Deno's, whose nghttp2 aborts the whole
 * process (an assertion in `find_stream_on_goaway_func`, or a segmentation
 * fault) after a few hundred to a few thousand connections that a client
 * closes with GOAWAY, as gRPC clients do after each probe (Deno 2.9.6;
 * denoland/deno#36788; `docs/grpc.md` has the reproduction).
 */
function assertHttp2(): void {
  if ("Deno" in globalThis) {
    throw new LivenessError(
      "Cannot serve gRPC on Deno: its node:http2 server aborts the process after some hundreds " +
        "of connections that clients close (as a gRPC probe does): probe over HTTP with serve(), " +
        "or serve gRPC from Node or Bun",
    );
  }
  const { process } = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  let http2: { createServer?: unknown } | undefined;
  try {
    http2 = process?.getBuiltinModule?.("node:http2") as typeof http2;
  } catch {
    http2 = undefined;
  }
  if (typeof http2?.createServer !== "function") {
    throw new LivenessError(
      "Cannot serve gRPC: this runtime has no node:http2 server " +
        "(process.getBuiltinModule is missing, or it has no node:http2): " +
        "use Node 20.16 or later or Bun, or probe over HTTP with serve()",
    );
  }
}

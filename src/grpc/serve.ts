/**
 * The gRPC health service on a port of its own: {@linkcode serveGrpc}. It
 * imports the server (`_server.ts`, and with it `node:http2`) when it is
 * first called, so that a program that never serves gRPC never loads it.
 *
 * @module
 */
import { assertKnownKeys, describeOption } from "../_options.ts";
import { LivenessError } from "../errors.ts";
import { errorCode } from "../runtime/_runtime.ts";
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
  assertKnownKeys(options, ["port", "hostname", "signal"], "serveGrpc()");
  const { port = DEFAULT_GRPC_PORT, hostname, signal } = options;
  const wrong = (name: string, must: string, value: unknown) =>
    new TypeError(
      `Cannot call serveGrpc(): options.${name} must be ${must}, got ${describeOption(value)}`,
    );
  if (typeof port !== "number") throw wrong("port", "a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw wrong("port", "an integer from 0 to 65535", port);
  }
  if (hostname !== undefined && (typeof hostname !== "string" || hostname === "")) {
    throw wrong("hostname", "an address (a non-empty string)", hostname);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw wrong("signal", "an AbortSignal", signal);
  }
  if (typeof source !== "function") {
    throw new TypeError(
      `Cannot call serveGrpc(): its source must be a function, got ${describeOption(source)}`,
    );
  }
  signal?.throwIfAborted();
  assertHttp2();
  server ??= import("./_server.ts");
  const { listenGrpc } = await server;
  const listenOn = async (host: string, why = "") => {
    try {
      return await listenGrpc(source, { port, hostname: host });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot serve gRPC on ${host} port ${port}${why}: ${reason}`, {
        cause: error,
      });
    }
  };
  let listening: HealthServer;
  if (hostname !== undefined) {
    listening = await listenOn(hostname);
  } else {
    try {
      listening = await listenOn("::", " (the default hostname: every interface, IPv6 and IPv4)");
    } catch (error) {
      if (errorCode((error as Error).cause) !== "EAFNOSUPPORT") throw error;
      listening = await listenOn("0.0.0.0", " (the default hostname where there is no IPv6)");
    }
  }
  if (!signal) return listening;
  if (signal.aborted) {
    await listening.close();
    throw signal.reason;
  }
  const onAbort = () => void listening.close();
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    port: listening.port,
    hostname: listening.hostname,
    close: () => {
      signal.removeEventListener("abort", onAbort);
      return listening.close();
    },
  };
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

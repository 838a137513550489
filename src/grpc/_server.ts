/**
 * The gRPC health server: `node:http2`'s cleartext server (h2c, prior
 * knowledge, as the kubelet connects), on Node and Bun, answering
 * `grpc.health.v1.Health/Check` and `Watch` from a {@linkcode GrpcSource}.
 * Imported by `serve.ts` only when `serveGrpc()` is first called.
 *
 * Limits: at most {@linkcode MAX_STREAMS} calls at once on a connection, a
 * header list of at most 16 KiB, a request message of at most 4 KiB (never
 * buffered past it), a request body sent within 10 s, a connection with no
 * call for 10 s closed (pings do not keep it), at most
 * {@linkcode MAX_WATCHES} `Watch` calls open at once.
 *
 * @module
 */
import type * as Http2 from "node:http2";
import type { HealthServer } from "../http/types.ts";
import {
  decodeRequest,
  encodeResponse,
  FrameReader,
  GRPC_STATUS,
  type GrpcError,
  percentEncode,
  SERVING_STATUS,
  type ServingStatus,
} from "./_message.ts";
import { type GrpcSource, route, servingStatus, unknownService } from "./_service.ts";

/** Calls at once on one connection (`SETTINGS_MAX_CONCURRENT_STREAMS`). */
export const MAX_STREAMS = 100;
/** `Watch` calls open at once on the server; one more is `RESOURCE_EXHAUSTED`. */
export const MAX_WATCHES = 1000;
/** How often an open `Watch` looks at the verdict, in milliseconds. */
export const WATCH_INTERVAL = 1000;
/** How long a client may take to send a request body, and a connection may stay idle, in ms. */
const REQUEST_TIMEOUT = 10_000;
const IDLE_TIMEOUT = 10_000;
/** After `close()`, how long connections may take to finish before they are cut, in ms. */
const CLOSE_GRACE = 500;

const GRPC = "application/grpc";

/**
 * `node:http2`, from `process.getBuiltinModule()` rather than a static
 * import: the npm build makes the library one module, where a static import
 * would load it with the library on every runtime.
 */
function nodeHttp2(): typeof Http2 {
  const { process } = globalThis as unknown as {
    process: { getBuiltinModule(id: "node:http2"): typeof Http2 };
  };
  return process.getBuiltinModule("node:http2");
}

/** An open `Watch`: looks at the verdict, and ends with a status. */
interface Watch {
  readonly stream: Http2.ServerHttp2Stream;
  look(): void;
  end(error: GrpcError): void;
}

/**
 * Serves the health service on `hostname` and `port` (`0`: a free one);
 * resolves once it listens, rejects with the runtime's error when the
 * address cannot be bound.
 */
export function listenGrpc(
  source: GrpcSource,
  { port, hostname }: { readonly port: number; readonly hostname: string },
): Promise<HealthServer> {
  const http2 = nodeHttp2();
  const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
  const server = http2.createServer({
    settings: { maxConcurrentStreams: MAX_STREAMS, maxHeaderListSize: 16 * 1024 },
  });
  const sessions = new Map<
    Http2.ServerHttp2Session,
    { streams: number; idle: unknown; readonly socket: { destroy(): void } | undefined }
  >();
  const watches = new Set<Watch>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closing = false;

  /**
   * Runs `body`, the server's part of one call: what it throws ends that
   * call only (a stream the client reset meanwhile cannot be answered), and
   * is logged unless the client is gone.
   */
  const guard = (stream: Http2.ServerHttp2Stream, body: () => void) => {
    try {
      body();
    } catch (error) {
      if (stream.destroyed || stream.closed) return;
      console.error(error);
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  };

  /** The verdict of `service` now; a source that throws is logged, and `INTERNAL`. */
  const judge = (service: string): ServingStatus | undefined | GrpcError => {
    try {
      return servingStatus(source, service);
    } catch (error) {
      console.error(error);
      return { code: GRPC_STATUS.INTERNAL, message: "internal error: the verdict failed" };
    }
  };

  const trailersOnly = (
    stream: Http2.ServerHttp2Stream,
    { code, message }: GrpcError,
    more: Record<string, string> = {},
  ) => {
    if (stream.headersSent || stream.destroyed) return;
    stream.respond({
      ":status": 200,
      "content-type": GRPC,
      ...more,
      "grpc-status": String(code),
      "grpc-message": percentEncode(message),
    }, { endStream: true });
  };

  const check = (stream: Http2.ServerHttp2Stream, service: string) => {
    const status = judge(service);
    if (typeof status === "object") return trailersOnly(stream, status);
    if (status === undefined) return trailersOnly(stream, unknownService(service));
    stream.respond({ ":status": 200, "content-type": GRPC }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(encodeResponse(status));
  };

  const watch = (stream: Http2.ServerHttp2Stream, service: string) => {
    if (closing) {
      return trailersOnly(stream, { code: GRPC_STATUS.UNAVAILABLE, message: "server closing" });
    }
    if (watches.size >= MAX_WATCHES) {
      return trailersOnly(stream, {
        code: GRPC_STATUS.RESOURCE_EXHAUSTED,
        message: `too many Watch calls open (${MAX_WATCHES})`,
      });
    }
    let last: ServingStatus | undefined;
    const one: Watch = {
      stream,
      look() {
        const now = judge(service);
        if (typeof now === "object") return one.end(now);
        // An unknown service stays open, SERVICE_UNKNOWN, as health.proto asks of Watch.
        const status = now ?? SERVING_STATUS.SERVICE_UNKNOWN;
        if (status === last) return;
        // A client that reads nothing is not buffered for.
        if (stream.writableLength > 1024) return void stream.close(NGHTTP2_CANCEL);
        last = status;
        stream.write(encodeResponse(status));
      },
      end(error) {
        watches.delete(one);
        if (stream.destroyed || stream.closed) return;
        stream.once("wantTrailers", () =>
          stream.sendTrailers({
            "grpc-status": String(error.code),
            "grpc-message": percentEncode(error.message),
          }));
        stream.end();
      },
    };
    stream.respond({ ":status": 200, "content-type": GRPC }, { waitForTrailers: true });
    watches.add(one);
    stream.once("close", () => {
      watches.delete(one);
      if (watches.size === 0 && timer !== undefined) timer = void clearInterval(timer);
    });
    one.look();
    timer ??= setInterval(() => {
      for (const open of [...watches]) guard(open.stream, open.look);
    }, WATCH_INTERVAL);
  };

  const answer = (stream: Http2.ServerHttp2Stream, headers: Http2.IncomingHttpHeaders) => {
    stream.on("error", () => {}); // a reset by the client ends this call only
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(",") : value;
    };
    const found = route(
      header(":method"),
      header(":path"),
      header("content-type"),
      header("grpc-encoding"),
    );
    if ("http" in found) {
      stream.respond({
        ":status": found.http,
        "content-type": "text/plain; charset=utf-8",
        ...found.headers,
      });
      return void stream.end(found.body);
    }
    // What a client sends after its answer is read and dropped (a reset could overtake the answer).
    stream.resume();
    if ("grpc" in found) return trailersOnly(stream, found.grpc, found.headers);
    const reader = new FrameReader();
    let request: Uint8Array | undefined;
    let done = false;
    const fail = (error: GrpcError) => {
      done = true;
      trailersOnly(stream, error);
    };
    // A timer of its own: Bun's stream.setTimeout() adds a listener to the session at each call.
    const stalled = setTimeout(() => stream.close(NGHTTP2_CANCEL), REQUEST_TIMEOUT);
    stream.once("close", () => clearTimeout(stalled));
    stream.on("data", (chunk: Uint8Array) =>
      guard(stream, () => {
        if (done) return;
        for (const item of reader.push(chunk)) {
          if (!(item instanceof Uint8Array)) return fail(item);
          if (request !== undefined) {
            return fail({
              code: GRPC_STATUS.INTERNAL,
              message: "grpc: more than one request message for a call that takes one",
            });
          }
          request = item;
        }
      }));
    stream.on("end", () =>
      guard(stream, () => {
        if (done || stream.destroyed) return;
        done = true;
        clearTimeout(stalled);
        if (request === undefined || reader.pending > 0) {
          return trailersOnly(stream, {
            code: GRPC_STATUS.INTERNAL,
            message: reader.pending > 0
              ? "grpc: the request body ends inside a message"
              : "grpc: no request message",
          });
        }
        const service = decodeRequest(request);
        if (typeof service !== "string") return trailersOnly(stream, service);
        if (found.call === "check") check(stream, service);
        else watch(stream, service);
      }));
  };

  // Node cannot close a session once a client reset a stream it was sent data on (the session
  // never emits "close", even destroyed): its socket, taken as it connects, is closed instead.
  let connecting: { destroy(): void } | undefined;
  server.prependListener("connection", (socket: { destroy(): void }) => connecting = socket);
  /** Closes `session` gracefully, and cuts it (and its socket) after {@linkcode CLOSE_GRACE}. */
  const end = (session: Http2.ServerHttp2Session) => {
    clearTimeout(sessions.get(session)?.idle as number);
    if (!session.closed) session.close();
    const cut = setTimeout(() => {
      sessions.get(session)?.socket?.destroy();
      session.destroy();
    }, CLOSE_GRACE);
    session.once("close", () => clearTimeout(cut));
  };
  server.on("session", (session: Http2.ServerHttp2Session) => {
    const connection = { streams: 0, idle: undefined as unknown, socket: connecting };
    connecting = undefined;
    sessions.set(session, connection);
    // Idle is no call for IDLE_TIMEOUT, whatever the client sends meanwhile (pings, a header
    // byte by byte): a timer of its own, as Bun's session.setTimeout() never fires.
    const idle = () => connection.idle = setTimeout(() => end(session), IDLE_TIMEOUT);
    idle();
    session.on("error", () => {}); // a client's protocol error closes its own connection only
    session.once("close", () => {
      clearTimeout(connection.idle as number);
      sessions.delete(session);
    });
    session.on("stream", (stream: Http2.ServerHttp2Stream) => {
      if (connection.streams++ === 0) clearTimeout(connection.idle as number);
      stream.once("close", () => {
        if (--connection.streams === 0 && !session.closed && !session.destroyed) idle();
      });
    });
  });
  server.on(
    "stream",
    (stream: Http2.ServerHttp2Stream, headers: Http2.IncomingHttpHeaders) =>
      guard(stream, () => answer(stream, headers)),
  );
  server.on("sessionError", () => {});

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
            closing = true;
            if (timer !== undefined) timer = void clearInterval(timer);
            for (const open of [...watches]) {
              open.end({ code: GRPC_STATUS.UNAVAILABLE, message: "server closing" });
            }
            server.close(() => done());
            for (const session of sessions.keys()) end(session);
          }),
      });
    });
  });
}

/**
 * Two gRPC clients written here for the tests, apart from the server's code:
 * one over `node:http2`'s client (headers, messages, trailers), and one that
 * writes HTTP/2 frames on a TCP socket by hand and lists the frames the
 * server sends back (what no HTTP/2 client shows: an empty DATA frame, the
 * END_STREAM flag of a trailers-only answer).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { connect as connectTcp } from "node:net";

export const CHECK = "/grpc.health.v1.Health/Check";
export const WATCH = "/grpc.health.v1.Health/Watch";

/** One length-prefixed message: `flag`, the 4-byte length, the bytes. */
export function frame(message: Uint8Array, flag = 0): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** A `HealthCheckRequest` for `service`, framed (`service` under 128 bytes). */
export function request(service: string): Uint8Array {
  const name = new TextEncoder().encode(service);
  return frame(name.length === 0 ? name : Uint8Array.of(0x0a, name.length, ...name));
}

/** What a call got: the response headers, the body, the trailers (none: a trailers-only answer). */
export interface Reply {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Uint8Array;
  readonly trailers: Record<string, string | string[] | undefined> | undefined;
}

/** The serving statuses in a body of `HealthCheckResponse` messages. */
export function statuses(body: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const message = body.subarray(at + 5, at + 5 + length);
    assertEqualBytes(message.subarray(0, 1), [0x08]);
    out.push(message[1]);
    at += 5 + length;
  }
  return out;
}

function assertEqualBytes(bytes: Uint8Array, expected: number[]) {
  if (bytes.length !== expected.length || bytes.some((byte, i) => byte !== expected[i])) {
    throw new Error(`expected bytes ${expected}, got ${[...bytes]}`);
  }
}

/** A session to `port` on 127.0.0.1, h2c with prior knowledge, as the kubelet connects. */
export function session(port: number): ClientHttp2Session {
  const client = connectHttp2(`http://127.0.0.1:${port}`);
  client.on("error", () => {});
  return client;
}

/** One call: POST `path` with `body` (ended) and `headers`, read to the end. */
export function call(
  client: ClientHttp2Session,
  body: Uint8Array | undefined,
  { path = CHECK, headers = {}, method = "POST" }: {
    path?: string;
    headers?: Record<string, string>;
    method?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = client.request({
      ":method": method,
      ":path": path,
      "content-type": "application/grpc",
      "te": "trailers",
      ...headers,
    }, { endStream: method === "GET" || method === "HEAD" });
    let responseHeaders: Reply["headers"] = {};
    let trailers: Reply["trailers"];
    const chunks: Buffer[] = [];
    stream.on("response", (received) => responseHeaders = { ...received });
    stream.on("trailers", (received) => trailers = { ...received });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on(
      "close",
      () =>
        resolve({
          headers: responseHeaders,
          body: new Uint8Array(Buffer.concat(chunks)),
          trailers,
        }),
    );
    if (method !== "GET" && method !== "HEAD") stream.end(body);
  });
}

/** An open `Watch`: each message's status as it comes, then how it ended. */
export function watch(client: ClientHttp2Session, service: string) {
  const stream = client.request({
    ":method": "POST",
    ":path": WATCH,
    "content-type": "application/grpc",
    "te": "trailers",
  });
  const seen: number[] = [];
  const waiters: (() => void)[] = [];
  let held = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    held = Buffer.concat([held, chunk]);
    while (held.length >= 5 && held.length >= 5 + held.readUInt32BE(1)) {
      const length = held.readUInt32BE(1);
      seen.push(...statuses(new Uint8Array(held.subarray(0, 5 + length))));
      held = held.subarray(5 + length);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const ended = new Promise<Reply["trailers"]>((resolve) => {
    let trailers: Reply["trailers"];
    stream.on("trailers", (received) => trailers = { ...received });
    stream.on("error", () => {});
    stream.on("close", () => resolve(trailers));
  });
  stream.end(request(service));
  return {
    /** Resolves once `count` messages have come; all seen so far. */
    async messages(count: number): Promise<number[]> {
      while (seen.length < count) await new Promise<void>((wake) => waiters.push(wake));
      return [...seen];
    },
    ended,
    cancel: () => stream.close(),
  };
}

/** One HTTP/2 frame as the raw client saw it. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Uint8Array;
}

export const DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, GOAWAY = 7;
export const END_STREAM = 1, END_HEADERS = 4;

function rawFrame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length << 8);
  out[3] = type;
  out[4] = flags;
  view.setUint32(5, stream);
  out.set(payload, 9);
  return out;
}

/** Headers as HPACK literals without indexing, new names, no Huffman (each under 128 bytes). */
function hpack(headers: readonly [string, string][]): Uint8Array {
  const bytes: number[] = [];
  for (const [name, value] of headers) {
    const n = new TextEncoder().encode(name);
    const v = new TextEncoder().encode(value);
    bytes.push(0x00, n.length, ...n, v.length, ...v);
  }
  return Uint8Array.from(bytes);
}

/**
 * Sends the connection preface, then `bytes` (or, when not given, one call
 * on stream 1: HEADERS for `path`, then `data` as one DATA frame with
 * END_STREAM), and lists the frames the server sends until stream 1 ends,
 * the server sends GOAWAY, or it closes the connection.
 */
export function rawExchange(
  port: number,
  { path = CHECK, data, bytes }: { path?: string; data?: Uint8Array; bytes?: Uint8Array },
): Promise<{ frames: Frame[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, "127.0.0.1");
    const frames: Frame[] = [];
    let held = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ frames, closed });
    };
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("data", (chunk: Buffer) => {
      held = Buffer.concat([held, chunk]);
      while (held.length >= 9 && held.length >= 9 + (held.readUInt32BE(0) >>> 8)) {
        const length = held.readUInt32BE(0) >>> 8;
        const got: Frame = {
          type: held[3],
          flags: held[4],
          stream: held.readUInt32BE(5) & 0x7fffffff,
          payload: new Uint8Array(held.subarray(9, 9 + length)),
        };
        held = held.subarray(9 + length);
        frames.push(got);
        if (got.type === SETTINGS && !(got.flags & 1)) {
          socket.write(rawFrame(SETTINGS, 1, 0, new Uint8Array(0)));
        }
        if (got.type === GOAWAY) return finish(false);
        if (got.stream === 1 && (got.type === RST_STREAM || got.flags & END_STREAM)) {
          return finish(false);
        }
      }
    });
    socket.on("connect", () => {
      if (bytes) return void socket.write(bytes);
      socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
      socket.write(rawFrame(SETTINGS, 0, 0, new Uint8Array(0)));
      socket.write(rawFrame(
        HEADERS,
        END_HEADERS | (data ? 0 : END_STREAM),
        1,
        hpack([
          [":method", "POST"],
          [":scheme", "http"],
          [":path", path],
          [":authority", `127.0.0.1:${port}`],
          ["content-type", "application/grpc"],
          ["te", "trailers"],
        ]),
      ));
      if (data) socket.write(rawFrame(DATA, END_STREAM, 1, data));
    });
  });
}

/**
 * `rounds` connections of 50 calls at once, each chosen by a fixed-seed
 * generator: an unknown path, `GET`, the wrong content type, gzip, random
 * bytes, a random prefix (flags, lengths), a stream reset after part of its
 * body, a `Watch` reset while open; each connection then closed or cut.
 */
export async function hostileCalls(port: number, rounds: number): Promise<void> {
  let seed = 42;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => random(256));
  const one = (client: ClientHttp2Session) =>
    new Promise<void>((resolve) => {
      const kind = random(8);
      const path = kind === 0 ? "/x" : random(2) ? CHECK : WATCH;
      const stream = client.request({
        ":method": kind === 1 ? "GET" : "POST",
        ":path": path,
        "content-type": kind === 2 ? "text/plain" : "application/grpc",
        ...(kind === 3 ? { "grpc-encoding": "gzip" } : {}),
      }, { endStream: kind === 1 });
      stream.on("error", () => resolve());
      stream.on("close", () => resolve());
      stream.on("data", () => {});
      if (kind === 1) return;
      const body = kind === 4
        ? bytes(random(40))
        : kind === 5
        ? Uint8Array.of(random(3), 0, 0, random(256), random(256), ...bytes(random(10)))
        : Uint8Array.of(0, 0, 0, 0, 0);
      if (kind === 6) {
        stream.write(body);
        return void setTimeout(() => stream.close(random(12)), random(20));
      }
      stream.end(body);
      if (kind === 7 || path === WATCH) setTimeout(() => stream.close(), random(50));
    });
  for (let round = 0; round < rounds; round++) {
    const client = session(port);
    await Promise.all(Array.from({ length: 50 }, () => one(client)));
    if (random(2)) client.close();
    else client.destroy();
  }
}

/**
 * The gRPC health service: its messages by hand, then `serveGrpc()` over a
 * real h2c connection on each runtime, asked by clients written apart from
 * it (`node:http2`'s, a raw frame writer, gRPC's C core through Python's
 * `grpcio`, and `@grpc/grpc-js` where it is installed), against the verdict
 * of `/livez` and `/readyz`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLiveness, type Liveness } from "../mod.ts";
import {
  decodeRequest,
  encodeResponse,
  FrameReader,
  GRPC_STATUS,
  MAX_MESSAGE,
  percentEncode,
} from "../src/grpc/_message.ts";
import { route } from "../src/grpc/_service.ts";
import {
  call,
  DATA,
  END_STREAM,
  frame,
  HEADERS,
  hostileCalls,
  rawExchange,
  request,
  session,
  statuses,
  WATCH,
  watch,
} from "./_grpc.ts";
import { extension } from "./_env.ts";
import { fixture, withTempDir } from "./_helpers.ts";
import { commandFor } from "./_runtimes.ts";

const SERVING = 1, NOT_SERVING = 2, SERVICE_UNKNOWN = 3;

// --- the messages, by hand ------------------------------------------------------

test("grpc message: a response is seven bytes, one uncompressed framed message", () => {
  assert.deepEqual([...encodeResponse(1)], [0, 0, 0, 0, 2, 0x08, 1]);
  assert.deepEqual([...encodeResponse(2)], [0, 0, 0, 0, 2, 0x08, 2]);
  assert.deepEqual([...encodeResponse(3)], [0, 0, 0, 0, 2, 0x08, 3]);
});

test("grpc message: frames are read whole however the body is cut", () => {
  const body = new Uint8Array([...request("readiness"), ...request(""), ...request("a")]);
  for (const size of [1, 2, 5, 7, body.length]) {
    const reader = new FrameReader();
    const got: string[] = [];
    for (let at = 0; at < body.length; at += size) {
      for (const item of reader.push(body.subarray(at, at + size))) {
        assert.ok(item instanceof Uint8Array, `chunks of ${size}`);
        got.push(decodeRequest(item) as string);
      }
    }
    assert.deepEqual(got, ["readiness", "", "a"], `chunks of ${size}`);
    assert.equal(reader.pending, 0);
  }
});

test("grpc message: a compressed, mis-flagged or oversized message is an error, not buffered", () => {
  const compressed = new FrameReader().push(frame(Uint8Array.of(0x0a, 0), 1));
  assert.deepEqual(compressed.map((item) => (item as { code: number }).code), [13]);
  const flagged = new FrameReader().push(frame(new Uint8Array(0), 2));
  assert.match((flagged[0] as { message: string }).message, /invalid compressed flag 2/);
  // Only the prefix of a message of 4 GiB: refused at once.
  const reader = new FrameReader();
  const [huge] = reader.push(Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff));
  assert.deepEqual(huge, {
    code: GRPC_STATUS.RESOURCE_EXHAUSTED,
    message: `grpc: received message larger than max (4294967295 vs. ${MAX_MESSAGE})`,
  });
  assert.equal(reader.pending, 0);
  assert.deepEqual(reader.push(new Uint8Array(1000)), [huge]); // and stays refused
  const [justOver] = new FrameReader().push(frame(new Uint8Array(MAX_MESSAGE + 1)));
  assert.equal((justOver as { code: number }).code, GRPC_STATUS.RESOURCE_EXHAUSTED);
  const [max] = new FrameReader().push(frame(new Uint8Array(MAX_MESSAGE)));
  assert.ok(max instanceof Uint8Array);
});

test("grpc message: a request's service, other fields skipped, malformed ones refused", () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);
  assert.equal(decodeRequest(bytes()), "");
  assert.equal(decodeRequest(bytes(0x0a, 0)), "");
  assert.equal(decodeRequest(bytes(0x0a, 3, 0x61, 0x70, 0x69)), "api");
  // Unknown fields of every wire type, before and after; the last service wins.
  const skipped = bytes(
    0x10,
    0x96,
    0x01, // field 2, varint 150
    0x19,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // field 3, fixed64
    0x25,
    1,
    2,
    3,
    4, // field 4, fixed32
    0x2a,
    2,
    9,
    9, // field 5, bytes
    0x0a,
    1,
    0x78, // service "x"
    0x0a,
    1,
    0x79, // service "y"
  );
  assert.equal(decodeRequest(skipped), "y");
  assert.equal(decodeRequest(bytes(0x0a, 2, 0xc3, 0xa9)), "é");
  const refused: [Uint8Array, RegExp][] = [
    [bytes(0x0a, 5, 0x61), /truncated length-delimited/],
    [bytes(0x0a), /truncated length-delimited/],
    [bytes(0x08, 1), /field 1 \(service\) has wire type 0/],
    [bytes(0x02, 0), /field number 0/],
    [bytes(0x13), /wire type 3 is not read/], // a group
    [bytes(0x16), /wire type 6/],
    [bytes(0x10), /truncated varint/],
    [bytes(0x19, 1, 2), /truncated fixed value/],
    [bytes(0x0a, 2, 0xc3, 0x28), /not valid UTF-8/],
    [bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), /tag/],
  ];
  for (const [input, message] of refused) {
    const result = decodeRequest(input);
    assert.equal(typeof result, "object", [...input].join(" "));
    assert.equal((result as { code: number }).code, GRPC_STATUS.INTERNAL);
    assert.match((result as { message: string }).message, message);
  }
});

test("grpc message: any bytes decode to a service or an error, never a throw", () => {
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 256;
  for (let i = 0; i < 20_000; i++) {
    const input = Uint8Array.from({ length: next() % 24 }, next);
    const result = decodeRequest(input);
    assert.ok(typeof result === "string" || result.code === GRPC_STATUS.INTERNAL);
    const reader = new FrameReader();
    for (const item of reader.push(input)) assert.ok(item instanceof Uint8Array || item.code > 0);
    assert.ok(reader.pending <= 5 + MAX_MESSAGE);
  }
});

test("grpc message: grpc-message is percent-encoded, UTF-8 first", () => {
  assert.equal(percentEncode("plain: ok"), "plain: ok");
  assert.equal(percentEncode("é 100%\n"), "%C3%A9 100%25%0A");
});

test("grpc service: POST application/grpc to Check or Watch; anything else refused", () => {
  const grpc = "application/grpc";
  assert.deepEqual(route("POST", WATCH, "application/grpc+proto", undefined), { call: "watch" });
  assert.deepEqual(route("POST", WATCH, grpc, "identity"), { call: "watch" });
  assert.equal((route("GET", WATCH, grpc, undefined) as { http: number }).http, 405);
  assert.equal((route("POST", WATCH, "text/plain", undefined) as { http: number }).http, 415);
  assert.equal(
    (route("POST", WATCH, "application/grpcx", undefined) as { http: number }).http,
    415,
  );
  const gzip = route("POST", WATCH, grpc, "gzip") as { grpc: { code: number }; headers: object };
  assert.equal(gzip.grpc.code, GRPC_STATUS.UNIMPLEMENTED);
  assert.deepEqual(gzip.headers, { "grpc-accept-encoding": "identity" });
  const other = route("POST", "/grpc.health.v1.Health/List", grpc, undefined);
  assert.equal((other as { grpc: { code: number } }).grpc.code, GRPC_STATUS.UNIMPLEMENTED);
});

// --- the server -----------------------------------------------------------------

/** Why the server's tests skip on Deno: it refuses to serve there (the test below holds it). */
const ON_DENO = "Deno" in globalThis &&
  "serveGrpc() refuses Deno, whose node:http2 server a client can bring down";

test("grpc server: on Deno, serveGrpc() refuses at once with a LivenessError, binding nothing", {
  skip: !("Deno" in globalThis) && "Deno only: Node and Bun serve gRPC",
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    try {
      await liveness.load([]);
      const port = await freePort();
      await assert.rejects(liveness.serveGrpc({ port, hostname: "127.0.0.1" }), {
        name: "LivenessError",
        message:
          /^Cannot serve gRPC on Deno: its node:http2 server aborts the process .*: probe over HTTP with serve\(\), or serve gRPC from Node or Bun$/,
      });
      // Nothing listens: the port is still free.
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once("error", reject);
        probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
      });
      // A wrong option is still a TypeError first.
      await assert.rejects(liveness.serveGrpc({ port: -1 }), { name: "TypeError" });
    } finally {
      await liveness.close();
    }
  });
});

/** A port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A loaded owner and its gRPC server on a free loopback port, closed after `body`. */
async function withGrpc(
  body: (liveness: Liveness, port: number) => Promise<void>,
): Promise<void> {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    try {
      await liveness.load([]);
      const server = await liveness.serveGrpc({ port: 0, hostname: "127.0.0.1" });
      await body(liveness, server.port);
    } finally {
      await liveness.close();
    }
  });
}

/** The status `Check` gives `service` on `client`, asserting the frames of a successful call. */
async function check(client: ReturnType<typeof session>, service: string): Promise<number> {
  const reply = await call(client, request(service));
  assert.equal(reply.headers[":status"], 200);
  assert.equal(reply.headers["content-type"], "application/grpc");
  assert.equal(reply.headers["grpc-status"], undefined, "grpc-status in the trailers only");
  assert.equal(reply.trailers?.["grpc-status"], "0");
  assert.equal(reply.body.length, 7);
  return statuses(reply.body)[0];
}

/** What `/livez` and `/readyz` answer, as serving statuses. */
function httpVerdicts(liveness: Liveness): number[] {
  return ["/livez", "/readyz"].map((path) =>
    liveness.fetch(new Request(`http://pod${path}`)).status === 200 ? SERVING : NOT_SERVING
  );
}

test("grpc server: Check answers the verdict of /livez and /readyz, as it changes", {
  skip: ON_DENO,
}, async () => {
  await withGrpc(async (liveness, port) => {
    const client = session(port);
    try {
      const states: [string, () => void, number[]][] = [
        ["loaded", () => {}, [NOT_SERVING, NOT_SERVING]],
        ["set(0)", () => liveness.set(0), [SERVING, SERVING]],
        ["ready(false)", () => liveness.ready(false, "warming"), [SERVING, NOT_SERVING]],
        ["ready(true)", () => liveness.ready(true), [SERVING, SERVING]],
        ["set(3)", () => liveness.set(3), [NOT_SERVING, NOT_SERVING]],
        ["set(0) again", () => liveness.set(0), [SERVING, SERVING]],
      ];
      for (const [state, change, expected] of states) {
        change();
        const got = [await check(client, ""), await check(client, "readiness")];
        assert.deepEqual(got, expected, state);
        assert.deepEqual(got, httpVerdicts(liveness), `${state}: the same as HTTP`);
        assert.equal(await check(client, "liveness"), got[0], state);
      }
    } finally {
      client.close();
    }
  });
});

test("grpc server: during a shutdown, readiness NOT_SERVING and liveness SERVING; then closed", {
  skip: ON_DENO,
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    liveness.set(0);
    const server = await liveness.serveGrpc({ port: 0, hostname: "127.0.0.1" });
    const client = session(server.port);
    try {
      let release!: () => void;
      const running = new Promise<void>((started) =>
        liveness.onShutdown(() => {
          started();
          return new Promise<void>((resolve) => release = resolve);
        })
      );
      const sequence = liveness.shutdown({ drain: 0 });
      await running; // the handlers run: the unit is draining, the server still answers
      assert.equal(await check(client, "readiness"), NOT_SERVING);
      assert.equal(await check(client, ""), SERVING);
      assert.deepEqual(httpVerdicts(liveness), [SERVING, NOT_SERVING]);
      release();
      await sequence;
      const after = await rawExchange(server.port, { data: request("") });
      assert.equal(after.closed, true, "the sequence's close closed the server");
    } finally {
      client.destroy();
      await liveness.close();
    }
  });
});

test("grpc server: errors are trailers-only answers with grpc-status and grpc-message", {
  skip: ON_DENO,
}, async () => {
  await withGrpc(async (liveness, port) => {
    liveness.set(0);
    const client = session(port);
    try {
      const cases: [string, Promise<Awaited<ReturnType<typeof call>>>, number, RegExp][] = [
        ["unknown service", call(client, request("db")), 5, /^unknown service "db": the services/],
        ["unknown method", call(client, request(""), { path: "/x.Y/Z" }), 12, /unknown method/],
        ["compressed", call(client, frame(Uint8Array.of(0x0a, 0), 1)), 13, /compressed flag/],
        ["oversized", call(client, Uint8Array.of(0, 0, 1, 0, 0)), 8, /larger than max/],
        ["no message", call(client, new Uint8Array(0)), 13, /no request message/],
        ["half a message", call(client, Uint8Array.of(0, 0, 0, 0, 9, 1)), 13, /inside a message/],
        [
          "two messages",
          call(client, Uint8Array.from([...request(""), ...request("")])),
          13,
          /more than one/,
        ],
        ["not protobuf", call(client, frame(Uint8Array.of(0x0a, 9))), 13, /unmarshalling/],
        ["gzip", call(client, request(""), { headers: { "grpc-encoding": "gzip" } }), 12, /gzip/],
      ];
      for (const [what, replied, code, message] of cases) {
        const reply = await replied;
        assert.equal(reply.headers[":status"], 200, what);
        assert.equal(reply.headers["content-type"], "application/grpc", what);
        assert.equal(reply.headers["grpc-status"], String(code), what);
        assert.match(decodeURIComponent(String(reply.headers["grpc-message"])), message, what);
        assert.equal(reply.trailers, undefined, `${what}: trailers-only`);
        assert.equal(reply.body.length, 0, what);
      }
      const gzip = await call(client, request(""), { headers: { "grpc-encoding": "gzip" } });
      assert.equal(gzip.headers["grpc-accept-encoding"], "identity");
      const get = await call(client, undefined, { method: "GET" });
      assert.equal(get.headers[":status"], 405);
      const text = await call(client, request(""), { headers: { "content-type": "text/plain" } });
      assert.equal(text.headers[":status"], 415);
      // After all that, on the same connection, the service still answers.
      assert.equal(await check(client, ""), SERVING);
    } finally {
      client.close();
    }
  });
});

test("grpc server: the frames on the wire: HEADERS, one DATA, trailers; or one HEADERS", {
  skip: ON_DENO,
}, async () => {
  await withGrpc(async (liveness, port) => {
    liveness.set(0);
    const ok = await rawExchange(port, { data: request("") });
    const answer = ok.frames.filter((got) => got.stream === 1);
    assert.deepEqual(answer.map(({ type, flags }) => [type, flags & END_STREAM]), [
      [HEADERS, 0],
      [DATA, 0],
      [HEADERS, END_STREAM],
    ], "no empty DATA frame; END_STREAM on the trailers");
    assert.deepEqual([...answer[1].payload], [0, 0, 0, 0, 2, 0x08, SERVING]);
    const unknown = await rawExchange(port, { data: request("db") });
    assert.deepEqual(
      unknown.frames.filter((got) => got.stream === 1).map((
        { type, flags },
      ) => [type, flags & END_STREAM]),
      [[HEADERS, END_STREAM]],
      "trailers-only: one HEADERS frame that ends the stream",
    );
    // A request the server answers before its body: the oversized prefix, its body never sent.
    const early = await rawExchange(port, { data: Uint8Array.of(0, 0x7f, 0, 0, 0) });
    assert.equal(early.frames.filter((got) => got.stream === 1)[0]?.type, HEADERS);
  });
});

test(
  "grpc server: HTTP/1.1, garbage and a stalled call stop no other answer",
  { skip: ON_DENO },
  async () => {
    await withGrpc(async (liveness, port) => {
      liveness.set(0);
      const http1 = await rawExchange(port, {
        bytes: new TextEncoder().encode("GET /livez HTTP/1.1\r\nHost: pod\r\n\r\n"),
      });
      assert.ok(http1.closed || http1.frames.some((got) => got.type === 7), "HTTP/1.1 refused");
      const garbage = await rawExchange(port, { bytes: new Uint8Array(4096).fill(0xff) });
      assert.ok(garbage.closed || garbage.frames.some((got) => got.type === 7), "garbage refused");
      const stalledClient = session(port);
      const stalled = stalledClient.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
      });
      stalled.on("error", () => {});
      stalled.write(Uint8Array.of(0, 0, 0)); // half a prefix, then nothing
      const client = session(port);
      try {
        assert.equal(await check(client, ""), SERVING);
      } finally {
        client.close();
        stalledClient.destroy();
      }
    });
  },
);

test("grpc server: 1000 hostile calls on 20 connections stop no answer", {
  skip: ON_DENO,
  timeout: 120_000,
}, async () => {
  await withGrpc(async (liveness, port) => {
    liveness.set(0);
    await hostileCalls(port, 20);
    const client = session(port);
    try {
      assert.equal(await check(client, ""), SERVING);
      assert.equal(await check(client, "readiness"), SERVING);
    } finally {
      client.close();
    }
  });
});

test("grpc server: Watch sends the status, then each change; close() ends it UNAVAILABLE", {
  skip: ON_DENO,
}, async () => {
  await withGrpc(async (liveness, port) => {
    const client = session(port);
    try {
      const live = watch(client, "");
      const ready = watch(client, "readiness");
      const unknown = watch(client, "db");
      assert.deepEqual(await live.messages(1), [NOT_SERVING]);
      assert.deepEqual(await unknown.messages(1), [SERVICE_UNKNOWN]);
      liveness.set(0);
      assert.deepEqual(await live.messages(2), [NOT_SERVING, SERVING]);
      assert.deepEqual(await ready.messages(2), [NOT_SERVING, SERVING]);
      liveness.ready(false);
      assert.deepEqual(await ready.messages(3), [NOT_SERVING, SERVING, NOT_SERVING]);
      liveness.set(4);
      assert.deepEqual(await live.messages(3), [NOT_SERVING, SERVING, NOT_SERVING]);
      live.cancel(); // a client that leaves is forgotten
      await liveness.close();
      const ended = await ready.ended;
      assert.equal(ended?.["grpc-status"], String(GRPC_STATUS.UNAVAILABLE));
      assert.equal((await unknown.ended)?.["grpc-status"], String(GRPC_STATUS.UNAVAILABLE));
      assert.deepEqual(await unknown.messages(1), [SERVICE_UNKNOWN], "one message: no change");
    } finally {
      client.close();
    }
  });
});

test("grpc server: close() resolves after a client reset a Watch it never read, and stays", {
  skip: ON_DENO,
  timeout: 30_000,
}, async () => {
  // Node's http2 then never closes the session by itself (not even destroyed): the server
  // closes its socket.
  await withGrpc(async (_liveness, port) => {
    const client = session(port);
    const stream = client.request({
      ":method": "POST",
      ":path": WATCH,
      "content-type": "application/grpc",
    });
    stream.on("error", () => {});
    stream.end(request(""));
    // Time for the answer to come, then for the server to take the reset in.
    await new Promise((resolve) => setTimeout(resolve, 300));
    stream.close(); // its message never read
    await new Promise((resolve) => setTimeout(resolve, 200));
    // withGrpc's close must end while the client keeps its connection.
  });
});

test("grpc server: the owner's close closes it; options and a taken port are refused", {
  skip: ON_DENO,
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await assert.rejects(liveness.serveGrpc({ port: 70000 }), {
      name: "TypeError",
      message:
        "Cannot call serveGrpc(): options.port must be an integer from 0 to 65535, got 70000",
    });
    await assert.rejects(
      liveness.serveGrpc({ prot: 1 } as never),
      { name: "TypeError", message: /unknown option "prot" \(did you mean "port"\?\)/ },
    );
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const takenPort = (taken.address() as { port: number }).port;
    await assert.rejects(liveness.serveGrpc({ port: takenPort, hostname: "127.0.0.1" }), {
      message: new RegExp(`^Cannot serve gRPC on 127\\.0\\.0\\.1 port ${takenPort}: `),
    });
    taken.close();
    const server = await liveness.serveGrpc({ port: 0, hostname: "127.0.0.1" });
    await liveness.close();
    const after = await rawExchange(server.port, { data: request("") });
    assert.equal(after.closed, true, "nothing listens after close()");
    assert.equal(after.frames.length, 0);
    await assert.rejects(
      liveness.serveGrpc({ port: 0 }),
      /Cannot serveGrpc\(\): unit .* was closed/,
    );
  });
});

// --- clients nobody here wrote ------------------------------------------------------

const PYTHON = "/usr/bin/python3";
const GRPCIO_CLIENT = fileURLToPath(new URL("./fixtures/grpc_health_client.py", import.meta.url));
const hasGrpcio = spawnSync(PYTHON, ["-c", "import grpc"]).status === 0;

/** Runs the grpcio client (`tests/fixtures/grpc_health_client.py`): one JSON line per answer. */
function grpcio(args: string[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [GRPCIO_CLIENT, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        resolve(stdout.trim().split("\n").map((line) => JSON.parse(line)));
      },
    );
  });
}

test("grpc server: gRPC's C core (Python grpcio) checks and watches it", {
  skip: ON_DENO || !hasGrpcio &&
      `${PYTHON} cannot import grpc: install Debian's python3-grpcio (apt-get install python3-grpcio)`,
}, async () => {
  await withGrpc(async (liveness, port) => {
    const target = `127.0.0.1:${port}`;
    const services = ["", "liveness", "readiness", "db"];
    const unknown = {
      code: "NOT_FOUND",
      details: 'unknown service "db": the services are "", "liveness", "readiness"',
    };
    assert.deepEqual(await grpcio([target, "check", ...services]), [
      { status: NOT_SERVING },
      { status: NOT_SERVING },
      { status: NOT_SERVING },
      unknown,
    ]);
    liveness.set(0);
    liveness.ready(false);
    assert.deepEqual(await grpcio([target, "check", ...services]), [
      { status: SERVING },
      { status: SERVING },
      { status: NOT_SERVING },
      unknown,
    ]);
    const watching = spawn(PYTHON, [
      GRPCIO_CLIENT,
      target,
      "watch",
      "readiness",
      "2",
    ]);
    const lines: unknown[] = [];
    let text = "";
    const exited = new Promise((resolve) => watching.once("close", resolve));
    const first = new Promise<void>((resolve) =>
      watching.stdout.on("data", (chunk) => {
        text += chunk;
        if (text.includes("\n")) resolve();
      })
    );
    await first; // the status when the call came; then a change, seen within a look
    liveness.ready(true);
    assert.equal(await exited, 0);
    lines.push(...text.trim().split("\n").map((line) => JSON.parse(line)));
    assert.deepEqual(lines, [{ status: NOT_SERVING }, { status: SERVING }]);
  });
});

/** `@grpc/grpc-js` and `grpc-health-check` (gRPC's own Node client and its health service definition), where installed. */
function grpcJs() {
  try {
    const require = createRequire(import.meta.url);
    return {
      grpc: require("@grpc/grpc-js") as {
        makeClientConstructor(service: unknown, name: string): new (
          target: string,
          credentials: unknown,
        ) => {
          check(
            request: { service: string },
            callback: (
              error: { code: number; details: string } | null,
              reply?: { status: string },
            ) => void,
          ): void;
          close(): void;
        };
        credentials: { createInsecure(): unknown };
      },
      health: require("grpc-health-check") as { service: unknown },
    };
  } catch {
    return undefined;
  }
}

const grpcJsFound = grpcJs();

test("grpc server: @grpc/grpc-js's client, with grpc-health-check's service, checks it", {
  skip: ON_DENO || !grpcJsFound &&
      "@grpc/grpc-js and grpc-health-check are not installed (devDependencies: npm install)",
}, async () => {
  const { grpc, health } = grpcJsFound!;
  await withGrpc(async (liveness, port) => {
    const Health = grpc.makeClientConstructor(health.service, "Health");
    const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const ask = (service: string) =>
      new Promise<unknown>((resolve) =>
        client.check(
          { service },
          (error, reply) =>
            resolve(error ? { code: error.code, details: error.details } : reply?.status),
        )
      );
    try {
      assert.deepEqual(await ask(""), "NOT_SERVING");
      liveness.set(0);
      liveness.ready(false);
      assert.deepEqual(
        [await ask(""), await ask("liveness"), await ask("readiness")],
        ["SERVING", "SERVING", "NOT_SERVING"],
      );
      assert.deepEqual(await ask("db"), {
        code: 5,
        details: 'unknown service "db": the services are "", "liveness", "readiness"',
      });
    } finally {
      client.close();
    }
  });
});

// --- loaded only when asked --------------------------------------------------------

test("grpc server: node:http2 loads only at serveGrpc(), not with the library or serve()", {
  timeout: 60_000,
}, async () => {
  await withTempDir((rundir) => {
    const [node, args] = commandFor("node", fixture("grpc_lazy"));
    const result = spawnSync(node, [...args, rundir], { encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [false, false, true]);
  });
});

const DENO = "node_modules/.bin/deno";

/** The modules `root` imports (statically only, or dynamically too), from `deno info`. */
function moduleGraph(root: string, dynamic = false): string[] {
  const info = spawnSync(DENO, ["info", "--json", root], { encoding: "utf8" });
  assert.equal(info.status, 0, info.stderr);
  const { modules } = JSON.parse(info.stdout) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const edges = new Map(modules.map((module) => [module.specifier, module.dependencies ?? []]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const { code, isDynamic } of edges.get(specifier) ?? []) {
      if (code && (dynamic || !isDynamic)) visit(code.specifier);
    }
  };
  visit(new URL(root, `file://${process.cwd()}/`).href);
  return [...seen].map((specifier) => specifier.replace(/^file:\/\/.*\/(src\/|mod\.ts)/, "$1"));
}

test("grpc server: no static import reaches its server, and the probe command none of it", {
  skip: (!existsSync(DENO) || extension !== ".ts") &&
    "reads the source's module graph with deno: run from the repository",
}, () => {
  const server = /^(src\/grpc\/_(server|service|message)\.ts|node:http2)$/;
  assert.deepEqual(moduleGraph("mod.ts").filter((name) => server.test(name)), []);
  assert.ok(moduleGraph("mod.ts", true).includes("src/grpc/_server.ts"), "the graph is read");
  const probe = moduleGraph("src/probe_cli.ts", true);
  assert.ok(probe.includes("src/_probe.ts"), "the graph is read");
  assert.deepEqual(
    probe.filter((name) => name.startsWith("src/grpc/") || name === "node:http2"),
    [],
  );
});

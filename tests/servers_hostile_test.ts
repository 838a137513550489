/**
 * `closeOnShutdown()` and `drainHandler()` against what a server meets in an
 * outage: connections that answer nothing (upgraded, `CONNECT`), servers
 * that never listened or were closed already, handlers that throw or answer
 * anything. Each runs in this process on the runtime that runs the file,
 * with `node:http` servers and raw clients.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { createLiveness, type LivenessError } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

/** Listens on a free port of 127.0.0.1; resolves with it. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** A raw client that sent `head` and read the first bytes of its answer. */
async function client(
  port: number,
  head: string,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {}); // a reset shows as a close
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(head);
  await new Promise((resolve) => socket.once("data", resolve));
  return { socket, closed };
}

/** Whether `promise` settles within `ms` (a bound on a hang, not a timing claim). */
async function settles(promise: Promise<unknown>, ms = 10_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

for (
  const [what, event, head] of [
    [
      "an upgraded",
      "upgrade",
      "GET / HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
    ],
    ["a CONNECT", "connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"],
  ] as const
) {
  test(`closeOnShutdown: ${what} connection, which answers nothing, is cut at the deadline`, async () => {
    await withTempDir(async (rundir) => {
      const reported: string[] = [];
      const liveness = createLiveness({
        unit: "api",
        rundir,
        heartbeat: false,
        onError: (error: LivenessError) => void reported.push(error.message),
      });
      await liveness.load([]);
      const server = createServer((_request, response) => response.end("hello\n"));
      // The program's WebSocket or tunnel: it keeps the socket, and never ends it.
      server.on(event, (_request, socket: Socket) => {
        socket.on("error", () => {});
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
        );
      });
      const port = await listen(server);
      liveness.closeOnShutdown(server);
      const { socket, closed } = await client(port, head);
      try {
        const result = await liveness.shutdown({ drain: 0, timeout: 300 });
        assert.deepEqual([result.code, result.timedOut], [1, true]);
        assert.ok(await settles(closed), "the connection is closed");
        assert.deepEqual(reported, [
          "Cannot shut down cleanly: the server #1 (node:http) did not close within 300 ms: " +
          "1 connection cut at the deadline",
        ]);
      } finally {
        socket.destroy();
        server.closeAllConnections();
      }
    });
  });
}

test("closeOnShutdown: an answer ended but still being written, to a client slow to read, is written whole", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    const body = new Uint8Array(16 * 1024 * 1024).fill(97);
    let ended!: () => void;
    const answered = new Promise<void>((resolve) => ended = resolve);
    const server = createServer((_request, response) => {
      response.setHeader("content-length", body.length);
      response.end(body); // far more than the sockets' buffers: written as the client reads
      ended();
    });
    const port = await listen(server);
    liveness.closeOnShutdown(server);
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.pause(); // reads nothing yet
    let received = 0;
    socket.on("data", (chunk: Uint8Array) => void (received += chunk.length));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    try {
      await answered;
      const shutdown = liveness.shutdown({ drain: 0, timeout: 30_000 });
      while (server.listening) await new Promise((resolve) => setTimeout(resolve, 10));
      socket.resume();
      const result = await shutdown;
      assert.ok(await settles(closed), "the connection is closed after its answer");
      assert.ok(received > body.length, `the whole answer: ${received} bytes`);
      assert.equal(result.code, 0);
    } finally {
      socket.destroy();
      server.closeAllConnections();
    }
  });
});

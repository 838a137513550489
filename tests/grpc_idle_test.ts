/**
 * The gRPC server's idle connections: one with no call is closed after
 * 10 s (`IDLE_TIMEOUT` in `src/grpc/_server.ts`), whatever it sends
 * meanwhile, on every runtime that serves gRPC. A connection kept open by
 * pings alone would let a client hold the program's descriptors forever.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect as connectTcp } from "node:net";
import { test } from "node:test";
import { createLiveness } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";
import { session } from "./_grpc.ts";

const ON_DENO = "Deno" in globalThis &&
  "serveGrpc() refuses Deno, whose node:http2 server a client can bring down";

/** Resolves `true` when `closed` resolves within `ms`, else `false`. */
function within(closed: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    closed.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

test(
  "grpc server: a connection with no call is closed, though it pings or sends only its preface",
  {
    skip: ON_DENO,
    timeout: 60_000,
  },
  async () => {
    await withTempDir(async (rundir) => {
      const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
      try {
        await liveness.load([]);
        const { port } = await liveness.serveGrpc({ port: 0, hostname: "127.0.0.1" });
        // An HTTP/2 client that pings every second and makes no call.
        const pinging = session(port);
        const pings = setInterval(() => {
          if (!pinging.closed && !pinging.destroyed) pinging.ping(() => {});
        }, 1000);
        const pingingClosed = new Promise<void>((resolve) =>
          pinging.once("close", () => resolve())
        );
        // A socket that sends the connection preface and an empty SETTINGS, then nothing.
        const raw = connectTcp(port, "127.0.0.1");
        raw.on("error", () => {});
        raw.on("data", () => {}); // read, so that the server's close is seen
        const rawClosed = new Promise<void>((resolve) => raw.once("close", () => resolve()));
        raw.write(Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
          Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        ]));
        try {
          // The server's idle limit is 10 s: three times that is a connection kept for good.
          const [pingedOut, rawOut] = await Promise.all([
            within(pingingClosed, 30_000),
            within(rawClosed, 30_000),
          ]);
          assert.equal(pingedOut, true, "a connection that only pings is closed");
          assert.equal(rawOut, true, "a connection that sent only its preface is closed");
        } finally {
          clearInterval(pings);
          pinging.destroy();
          raw.destroy();
        }
      } finally {
        await liveness.close();
      }
    });
  },
);

/**
 * The program's own servers closed by the shutdown (`closeOnShutdown()`):
 * real servers in child processes on Deno, Bun and Node, real kept-alive
 * connections, real signals. Each connection is a raw HTTP/1.1 client, so
 * that what the server does with it (a `Connection: close`, a close) is seen
 * as it happens. Orders are asserted, not times: the drains and the slow
 * answers are seconds apart.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { createLiveness, type LivenessError, probe } from "../mod.ts";
import { fixture, withTempDir } from "./_helpers.ts";
import { LineChild, type RuntimeName } from "./_runtimes.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun", "node"];

/** Polls `condition` every 20 ms; fails after `ms` (a bound on a hang, not a timing claim). */
async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An answer as the client read it. */
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** One kept-alive HTTP/1.1 connection, its events written to `events` as `<name> closed`. */
class Connection {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  received = "";
  isClosed = false;
  readonly #wake = new Set<() => void>();

  readonly name: string;

  constructor(port: number, name: string, events: string[]) {
    this.name = name;
    this.socket = connect(port, "127.0.0.1");
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => {
      this.received += chunk;
      for (const wake of this.#wake) wake();
    });
    this.socket.on("error", () => {}); // a reset shows as a close without an answer
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        this.isClosed = true;
        events.push(`${name} closed`);
        for (const wake of this.#wake) wake();
        resolve();
      })
    );
  }

  /** Sends a GET for `path` and reads its answer; rejects if the connection closes first. */
  async get(path: string): Promise<Answer> {
    const start = this.received.length;
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    for (;;) {
      const text = this.received.slice(start);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers["content-length"]);
        const body = text.slice(end + 4);
        if (body.length >= length) {
          return { status: Number(statusLine.split(" ")[1]), headers, body: body.slice(0, length) };
        }
      }
      if (this.isClosed) throw new Error(`${this.name}: closed before an answer to ${path}`);
      await new Promise<void>((resolve) => this.#wake.add(resolve));
      this.#wake.clear();
    }
  }

  /** Whether the head of the answer to the last request arrived. */
  get hasHead(): boolean {
    return this.received.includes("\r\n\r\n");
  }
}

/** Starts the fixture on `runtime`; resolves with the child and its server's port. */
async function service(
  runtime: RuntimeName,
  rundir: string,
  config: object,
): Promise<{ child: LineChild; port: number }> {
  const child = new LineChild(runtime, fixture("drain_server"), [
    rundir,
    "api",
    JSON.stringify(config),
  ]);
  const line = await child.next((line) => line.startsWith("listening "));
  return { child, port: Number(line.split(" ")[1]) };
}

/** Sends SIGTERM, and resolves once the unit says `draining`: the drain has begun. */
async function terminate(child: LineChild, rundir: string, events: string[]): Promise<void> {
  child.signal("SIGTERM");
  events.push("SIGTERM");
  await until("draining", () => probe({ unit: "api", rundir, ready: true }).status === "draining");
}

/** Asserts that `first` happened before `then` in `events`. */
function before(events: string[], first: string, then: string): void {
  const [a, b] = [events.indexOf(first), events.indexOf(then)];
  assert.ok(a >= 0 && b >= 0 && a < b, `${first} before ${then}: ${events.join(", ")}`);
}

for (const runtime of RUNTIMES) {
  test(
    `${runtime}: node:http through SIGTERM: in-flight answers finish, idle connections close after the drain, busy ones after their answer`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child, port } = await service(runtime, rundir, {
          server: "node",
          drain: 2000,
          timeout: 30_000,
        });
        const events: string[] = [];
        try {
          const idle = new Connection(port, "idle", events);
          assert.equal((await idle.get("/")).headers.connection, "keep-alive");
          const slow = new Connection(port, "slow", events);
          const slowAnswer = slow.get("/slow?ms=5000");
          await child.next((line) => line === "request /slow");
          const stream = new Connection(port, "stream", events);
          const streamAnswer = stream.get("/stream?ms=5000");
          await until("the stream's head", () => stream.hasHead);
          void child.next((line) => line.startsWith("handler")).then(
            (line) => events.push(line),
            () => {},
          );
          await terminate(child, rundir, events);

          // During the drain: a new connection is served, told to close, and closes.
          const late = new Connection(port, "late", events);
          const lateAnswer = await late.get("/");
          assert.deepEqual([lateAnswer.status, lateAnswer.headers.connection], [200, "close"]);
          await late.closed;
          assert.equal(idle.isClosed, false, "idle connections stay open while the drain lasts");

          // After it: the idle connection closes at once; the in-flight answers finish.
          const answer = await slowAnswer;
          events.push("slow answered");
          assert.deepEqual([answer.status, answer.body, answer.headers.connection], [
            200,
            "slow".repeat(4),
            "close",
          ]);
          const streamed = await streamAnswer;
          assert.deepEqual([streamed.status, streamed.body], [200, "slow".repeat(4)]);
          assert.equal(
            streamed.headers.connection,
            "keep-alive",
            "its head went before the signal",
          );
          await Promise.all([idle.closed, slow.closed, stream.closed]);
          assert.equal(await child.exited(), 0, child.stderr);
          before(events, "late closed", "idle closed");
          before(events, "idle closed", "slow answered");
          // The handlers run once the server has closed: no connection left.
          before(events, "slow answered", "handler SIGTERM connections 0");
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(
    `${runtime}: node:http: an answer that never comes is cut at the deadline, and the program exits 1`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child, port } = await service(runtime, rundir, {
          server: "node",
          drain: 200,
          timeout: 4000,
        });
        const events: string[] = [];
        try {
          const idle = new Connection(port, "idle", events);
          await idle.get("/");
          const hung = new Connection(port, "hung", events);
          const hungAnswer = hung.get("/hang").catch((error) => error);
          await child.next((line) => line === "request /hang");
          await terminate(child, rundir, events);
          assert.match(String(await hungAnswer), /hung: closed before an answer/);
          assert.equal(await child.exited(), 1);
          before(events, "idle closed", "hung closed"); // after the drain, not at the deadline
          assert.match(
            child.stderr,
            /^@cic\/liveness: Cannot shut down cleanly: the server #1 \(node:http\) did not close within 4000 ms: 1 connection cut at the deadline$/m,
          );
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: a removed registration leaves the server to the program`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      const { child, port } = await service(runtime, rundir, {
        server: "node",
        drain: 200,
        timeout: 30_000,
        remove: true,
      });
      const events: string[] = [];
      try {
        const slow = new Connection(port, "slow", events);
        const slowAnswer = slow.get("/slow?ms=8000").catch((error) => error);
        await child.next((line) => line === "request /slow");
        await terminate(child, rundir, events);
        // Nothing waits for the answer: the handler runs after the drain, and the exit cuts it.
        await child.next((line) => line.startsWith("handler SIGTERM"));
        assert.equal(await child.exited(), 0);
        assert.match(String(await slowAnswer), /slow: closed before an answer/);
      } finally {
        await child.stop();
      }
    });
  });

  const native = { deno: "Deno.serve", bun: "Bun.serve", node: "Deno.serve or Bun.serve" }[runtime];
  const skip = runtime === "node" && "Node has no server of its own but node:http's";
  test(
    `${runtime}: ${native} through SIGTERM: drainHandler() says Connection: close, its own graceful stop answers what is in flight`,
    {
      timeout: 60_000,
      skip,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child, port } = await service(runtime, rundir, {
          server: "native",
          drain: 2000,
          timeout: 30_000,
          drainHandler: true,
        });
        const events: string[] = [];
        try {
          const idle = new Connection(port, "idle", events);
          assert.equal((await idle.get("/")).status, 200);
          const slow = new Connection(port, "slow", events);
          const slowAnswer = slow.get("/slow?ms=5000");
          await child.next((line) => line === "request /slow");
          void child.next((line) => line.startsWith("handler")).then(
            (line) => events.push(line),
            () => {},
          );
          await terminate(child, rundir, events);
          // Served while the drain lasts, told to close by drainHandler().
          const late = new Connection(port, "late", events);
          const lateAnswer = await late.get("/");
          assert.deepEqual([lateAnswer.status, lateAnswer.headers.connection], [200, "close"]);
          assert.equal(idle.isClosed, false, "idle connections stay open while the drain lasts");
          const answer = await slowAnswer;
          events.push("slow answered");
          assert.deepEqual([answer.status, answer.body], [200, "slow".repeat(4)]);
          await Promise.all([idle.closed, late.closed, slow.closed]);
          assert.equal(await child.exited(), 0, child.stderr);
          before(events, "idle closed", "slow answered");
          before(events, "slow answered", "handler SIGTERM");
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(
    `${runtime}: ${native}: an answer that never comes ends at the deadline, and the program exits 1`,
    {
      timeout: 60_000,
      skip,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child, port } = await service(runtime, rundir, {
          server: "native",
          drain: 200,
          timeout: 4000,
        });
        const events: string[] = [];
        try {
          const idle = new Connection(port, "idle", events);
          await idle.get("/");
          const hung = new Connection(port, "hung", events);
          const hungAnswer = hung.get("/hang").catch((error) => error);
          await child.next((line) => line === "request /hang");
          await terminate(child, rundir, events);
          assert.match(String(await hungAnswer), /hung: closed before an answer/);
          assert.equal(await child.exited(), 1);
          before(events, "idle closed", "hung closed");
          assert.match(
            child.stderr,
            new RegExp(
              `^@cic/liveness: Cannot shut down cleanly: the server #1 \\(${native}\\) ` +
                `did not close within 4000 ms: ${
                  runtime === "bun"
                    ? "1 request cut at the deadline"
                    : "given up at the deadline \\(Deno.serve cannot cut its connections\\)"
                }$`,
              "m",
            ),
          );
        } finally {
          await child.stop();
        }
      });
    },
  );
}

test("closeOnShutdown: an object's close() runs after the drain, before the handlers, awaited", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    liveness.set(0);
    const events: string[] = [];
    liveness.onShutdown(() => void events.push("handler"));
    liveness.closeOnShutdown({
      close: async () => {
        events.push(`close: ${probe({ unit: "api", rundir, ready: true }).status}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push("closed");
      },
    });
    const result = await liveness.shutdown({ drain: 100 });
    assert.deepEqual(events, ["close: draining", "closed", "handler"]);
    assert.equal(result.code, 0);
  });
});

test("closeOnShutdown: what it returns removes the server; a second registration is the same one", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    let closes = 0;
    const server = { close: () => void closes++ };
    const kept = { close: () => void closes++ };
    const remove = liveness.closeOnShutdown(server);
    liveness.closeOnShutdown(server);
    liveness.closeOnShutdown(kept);
    liveness.closeOnShutdown(kept);
    remove();
    remove(); // idempotent
    await liveness.shutdown({ drain: 0 });
    assert.equal(closes, 1, "the kept one, once");
  });
});

test("closeOnShutdown: a close() that throws is reported by name, and the code is 1", async () => {
  await withTempDir(async (rundir) => {
    const reported: string[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: false,
      onError: (error: LivenessError) => void reported.push(error.message),
    });
    await liveness.load([]);
    const boom = new Error("boom");
    liveness.closeOnShutdown({ close: () => Promise.reject(boom) });
    const result = await liveness.shutdown({ drain: 0 });
    assert.equal(result.code, 1);
    assert.deepEqual(result.errors, [boom]);
    assert.deepEqual(reported, [
      "Cannot shut down cleanly: the server #1 (close()) failed: Error: boom",
    ]);
  });
});

test("closeOnShutdown: a close() that never settles is given up at the deadline", async () => {
  await withTempDir(async (rundir) => {
    const reported: string[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: false,
      onError: (error: LivenessError) => void reported.push(error.message),
    });
    await liveness.load([]);
    let handled = false;
    liveness.onShutdown(() => void (handled = true));
    liveness.closeOnShutdown({ close: () => new Promise(() => {}) });
    const result = await liveness.shutdown({ drain: 0, timeout: 200 });
    assert.deepEqual([result.code, result.timedOut, handled], [1, true, false]);
    assert.deepEqual(reported, [
      "Cannot shut down cleanly: the server #1 (close()) did not close within 200 ms: " +
      "its close() given up at the deadline",
    ]);
  });
});

test("closeOnShutdown: anything but a server is a TypeError naming it; nothing after close()", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    for (
      const [value, got] of [
        [undefined, "undefined"],
        [null, "null"],
        [42, "42"],
        ["server", '"server"'],
        [{}, "an object"],
        [{ close: true }, "an object"],
      ] as const
    ) {
      assert.throws(
        () => liveness.closeOnShutdown(value as never),
        (error: Error) =>
          error instanceof TypeError &&
          error.message ===
            "Cannot closeOnShutdown(): the server must be a node:http, node:https or node:http2 " +
              `server, a Deno.serve or Bun.serve server, or an object with a close() method, got ${got}`,
      );
    }
    await liveness.close();
    assert.throws(
      () => liveness.closeOnShutdown({ close() {} }),
      new TypeError(`Cannot closeOnShutdown(): unit ${rundir}/api was closed`),
    );
  });
});

test("closeOnShutdown: close() without a shutdown leaves the program's server open", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    let closed = false;
    liveness.closeOnShutdown({ close: () => void (closed = true) });
    await liveness.close();
    assert.equal(closed, false);
  });
});

test("drainHandler: from the signal on, every answer says Connection: close", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    const request = new Request("http://localhost/");
    const sync = liveness.drainHandler((_request: Request) => new Response("ok"));
    const async = liveness.drainHandler((_request: Request) => Promise.resolve(new Response("ok")));
    // Headers that cannot change: the answer is copied.
    const redirect = liveness.drainHandler((_request: Request) =>
      Response.redirect("http://localhost/next", 307)
    );
    // Bun calls its fetch handler with the server as `this`.
    const server = {
      name: "server",
      fetch: liveness.drainHandler(function (this: { name: string }, _request: Request) {
        return new Response(this.name);
      }),
    };
    assert.equal(sync(request).headers.get("connection"), null, "before the signal");
    // Deno.serve gives no request to a handler that declares no parameter.
    assert.deepEqual([sync.length, liveness.drainHandler(() => new Response()).length], [1, 0]);
    assert.equal((await async(request)).headers.get("connection"), null);
    const shutdown = liveness.shutdown({ drain: 100 });
    assert.equal(sync(request).headers.get("connection"), "close");
    assert.equal((await async(request)).headers.get("connection"), "close");
    const redirected = redirect(request);
    assert.deepEqual(
      [redirected.status, redirected.headers.get("location"), redirected.headers.get("connection")],
      [307, "http://localhost/next", "close"],
    );
    const answer = server.fetch(request);
    assert.deepEqual([await answer.text(), answer.headers.get("connection")], ["server", "close"]);
    assert.equal((await shutdown).code, 0);
    assert.throws(
      () => liveness.drainHandler("handler" as never),
      new TypeError(
        'Cannot drainHandler(): the handler must be a function (request) => Response, got "handler"',
      ),
    );
  });
});

test("closeOnShutdown: a node:http2 server's sessions get GOAWAY after the drain, their streams answered", async () => {
  const http2 = await import("node:http2");
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    const server = http2.createServer((_request, response) => {
      setTimeout(() => response.end("slow"), 300);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    liveness.closeOnShutdown(server);
    const events: string[] = [];
    liveness.onShutdown(() => void events.push("handler"));
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("goaway", () => events.push("goaway"));
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    const answer = new Promise<string>((resolve, reject) => {
      const stream = client.request({ ":path": "/" });
      let body = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => body += chunk);
      stream.on("end", () => resolve(body));
      stream.on("error", reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await liveness.shutdown({ drain: 100, timeout: 10_000 });
    assert.equal(await answer, "slow");
    await closed;
    // Node's own close() may send a GOAWAY of its own too.
    assert.deepEqual([result.code, server.listening, [...new Set(events)]], [0, false, [
      "goaway",
      "handler",
    ]]);
  });
});

test('drainHandler: with readiness: "keep", Connection: close begins when readiness fails, at the drain\'s end', async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    const handler = liveness.drainHandler((_request: Request) => new Response("ok"));
    const request = new Request("http://localhost/");
    const shutdown = liveness.shutdown({ drain: 100, readiness: "keep" });
    assert.equal(handler(request).headers.get("connection"), null, "still ready: served as before");
    assert.equal((await shutdown).code, 0);
    assert.equal(handler(request).headers.get("connection"), "close");
  });
});

/**
 * The HTTP health endpoints, over real requests on the loopback: each route,
 * method, header and query against both ways of serving (`serve()`, the
 * runtime's own server, and `node:http` with the handlers' listener), the
 * request target as sent as the route on each runtime's server (raw request
 * lines and Host headers), the address `serve()` binds or names when it
 * cannot, the limits that keep a slow or hostile client from stopping the
 * answers to others, and a served program's life: alive while it serves,
 * gone once it closes. The verdicts come from a fake source built with the verdict's own
 * functions, so that the reasons are the ones the probes print.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import process from "node:process";
import { test } from "node:test";
import {
  createFetchHandler,
  createHealthHandlers,
  createNodeListener,
  type HealthHandlers,
} from "../src/http/handler.ts";
import type { FetchHandlerOptions, HealthSource } from "../src/http/_answer.ts";
import type { HealthPart } from "../src/_health.ts";
import { serve } from "../src/http/serve.ts";
import type { HealthServer, ServeOptions } from "../src/http/types.ts";
import {
  type Found,
  healthyVerdict,
  type Heartbeat,
  judgeError,
  judgeHeartbeat,
  judgeReadiness,
  type Readiness,
  type Verdict,
} from "../src/_verdict.ts";
import { fixture, runtimeCommand, withTempDir } from "./_helpers.ts";
import { commandFor, LineChild, type RuntimeName } from "./_runtimes.ts";

// --- a fake owner ------------------------------------------------------------

/** What a fake owner holds: the facts the verdict's checks judge. */
interface Facts {
  error?: Found<string>;
  /** A beat and the uptime now, both in hundredths of a second. */
  heartbeat?: { beat: Heartbeat; now: number };
  readiness?: Found<Readiness>;
}

const PID = 4242;
const fresh = { beat: { at: 100_000, maxAge: 10_000, pid: PID, starttime: "7" }, now: 100_050 };
const stale = { beat: { at: 100_000, maxAge: 10_000, pid: PID, starttime: "7" }, now: 101_250 };

/** A source judging `facts` with `_verdict.ts`, as the owner judges what it holds. */
function fakeSource(facts: Facts = {}): HealthSource {
  return (kind) => {
    const ready = kind === "ready";
    const part = (name: string, verdict: Verdict | undefined): HealthPart =>
      verdict ? { name, ok: false, ...verdict } : { name, ok: true, ...healthyVerdict(PID, ready) };
    const parts = [
      part("pid", undefined),
      part("error", judgeError(facts.error ?? { kind: "value", value: "0" })),
      part(
        "heartbeat",
        facts.heartbeat && judgeHeartbeat(facts.heartbeat.beat, facts.heartbeat.now),
      ),
    ];
    if (ready) {
      parts.push(part("ready", judgeReadiness(facts.readiness ?? { kind: "missing" })));
    }
    return { unit: "api", parts };
  };
}

const error3: Facts = { error: { kind: "value", value: "3" } };
const notReady: Facts = {
  readiness: { kind: "value", value: { state: "not-ready", reason: "warming" } },
};
const draining: Facts = { readiness: { kind: "value", value: { state: "draining" } } };

// --- servers and clients -----------------------------------------------------

/** A running server of a handler, on 127.0.0.1. */
interface Running {
  readonly port: number;
  close(): Promise<void>;
}

/** The two ways of serving a handler: the runtime's own server, and node:http. */
const WAYS: { name: string; start(handlers: HealthHandlers): Promise<Running> }[] = [
  {
    name: "serve()",
    start: (handlers) => serve(handlers, { port: 0, hostname: "127.0.0.1" }),
  },
  {
    name: "node:http listener",
    start: (handlers) => {
      const server = createServer(handlers.listener);
      return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          resolve({
            port,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
                server.closeAllConnections();
              }),
          });
        });
      });
    },
  },
];

/** Serves `source` one way while `body` runs. */
async function withServer(
  way: (typeof WAYS)[number],
  source: HealthSource,
  options: FetchHandlerOptions,
  body: (get: Client, server: Running) => Promise<void>,
): Promise<void> {
  const server = await way.start(createHealthHandlers(source, options));
  try {
    await body(client(server.port), server);
  } finally {
    await server.close();
  }
}

/** An answer, read whole. */
interface Got {
  status: number;
  headers: Headers;
  body: string;
}

type Client = (path: string, init?: RequestInit) => Promise<Got>;

function client(port: number): Client {
  return async (path, init) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      ...init,
      signal: AbortSignal.timeout(20_000), // not an assertion: a hung server fails, not hangs
    });
    return { status: response.status, headers: response.headers, body: await response.text() };
  };
}

/** Sends `text` on a new connection and resolves with all it receives until the server closes. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(text));
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => received += chunk);
    socket.on("error", () => {}); // a refused head resets the connection: the answer tells
    socket.on("close", () => resolve(received));
    socket.setTimeout(20_000, () => reject(new Error(`no end of answer: ${received}`)));
  });
}

/** Opens a connection that sends half a request head and stalls. Resolves once connected. */
function stall(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

const TEXT = "text/plain; charset=utf-8";
const HEALTH_JSON = "application/health+json";

// --- routes, methods, bodies -------------------------------------------------

for (const way of WAYS) {
  const t = (name: string, body: () => Promise<void>) =>
    test(`${way.name}: ${name}`, { timeout: 60_000 }, body);

  t("a healthy /livez, /healthz and /readyz answer 200 ok, not to be cached", async () => {
    await withServer(way, fakeSource(), {}, async (get) => {
      for (const path of ["/livez", "/healthz", "/readyz"]) {
        const { status, headers, body } = await get(path);
        assert.deepEqual({ path, status, body }, { path, status: 200, body: "ok" });
        assert.equal(headers.get("content-type"), TEXT);
        assert.equal(headers.get("cache-control"), "no-store");
        assert.equal(headers.get("x-content-type-options"), "nosniff");
      }
    });
  });

  t("a failing part answers 503 with every part listed and its reason withheld", async () => {
    await withServer(way, fakeSource(error3), {}, async (get) => {
      for (const name of ["livez", "healthz"]) {
        const { status, headers, body } = await get(`/${name}`);
        assert.equal(status, 503);
        assert.equal(headers.get("cache-control"), "no-store");
        assert.equal(
          body,
          `[+]pid ok\n[-]error failed: reason withheld\n[+]heartbeat ok\n${name} check failed\n`,
        );
      }
      const { status, body } = await get("/readyz");
      assert.equal(status, 503);
      assert.equal(
        body,
        "[+]pid ok\n[-]error failed: reason withheld\n[+]heartbeat ok\n[+]ready ok\nreadyz check failed\n",
      );
    });
  });

  t("?verbose lists every part, with the reason of each failing one", async () => {
    await withServer(way, fakeSource(), {}, async (get) => {
      assert.deepEqual(await get("/livez?verbose").then(({ status, body }) => ({ status, body })), {
        status: 200,
        body: "[+]pid ok\n[+]error ok\n[+]heartbeat ok\nlivez check passed\n",
      });
      assert.equal(
        (await get("/readyz?verbose=1")).body,
        "[+]pid ok\n[+]error ok\n[+]heartbeat ok\n[+]ready ok\nreadyz check passed\n",
      );
    });
    await withServer(way, fakeSource({ ...error3, heartbeat: stale }), {}, async (get) => {
      const { status, body } = await get("/livez?verbose");
      assert.equal(status, 503);
      assert.equal(
        body,
        "[+]pid ok\n[-]error failed: error 3\n[-]heartbeat failed: no heartbeat for 13s (max 10s)\nlivez check failed\n",
      );
    });
  });

  t("/healthz is liveness: not ready and draining fail /readyz only", async () => {
    for (const [facts, reason] of [[notReady, "not ready (warming)"], [draining, "draining"]]) {
      await withServer(way, fakeSource(facts as Facts), {}, async (get) => {
        assert.equal((await get("/livez")).status, 200);
        assert.equal((await get("/healthz")).status, 200);
        const { status, body } = await get("/readyz?verbose");
        assert.equal(status, 503);
        assert.equal(
          body,
          `[+]pid ok\n[+]error ok\n[+]heartbeat ok\n[-]ready failed: ${reason}\nreadyz check failed\n`,
        );
      });
    }
  });

  t("a fresh heartbeat passes, a stale one fails liveness and readiness", async () => {
    await withServer(way, fakeSource({ heartbeat: fresh }), {}, async (get) => {
      assert.equal((await get("/livez")).body, "ok");
    });
    await withServer(way, fakeSource({ heartbeat: stale }), {}, async (get) => {
      assert.equal((await get("/livez")).status, 503);
      assert.equal((await get("/readyz")).status, 503);
    });
  });

  t("?exclude leaves parts out of the verdict, and says which names match none", async () => {
    await withServer(way, fakeSource({ ...error3, heartbeat: stale }), {}, async (get) => {
      assert.equal((await get("/livez?exclude=heartbeat")).status, 503);
      const both = await get("/livez?exclude=heartbeat&exclude=error");
      assert.deepEqual({ status: both.status, body: both.body }, { status: 200, body: "ok" });
      assert.equal(
        (await get("/livez?exclude=error&verbose&exclude=heartbeat")).body,
        "[+]pid ok\n[+]error excluded: ok\n[+]heartbeat excluded: ok\nlivez check passed\n",
      );
      assert.equal(
        (await get("/livez?exclude=heartbeat&exclude=zz&exclude=db")).body,
        '[+]pid ok\n[-]error failed: reason withheld\n[+]heartbeat excluded: ok\nwarn: some health checks cannot be excluded: no matches for "db","zz"\nlivez check failed\n',
      );
    });
    await withServer(way, fakeSource(notReady), {}, async (get) => {
      assert.equal((await get("/readyz?exclude=ready")).status, 200);
    });
  });

  t("Accept: application/health+json answers the IETF health check format", async () => {
    const accept = { headers: { accept: HEALTH_JSON } };
    await withServer(way, fakeSource(), {}, async (get) => {
      const { status, headers, body } = await get("/readyz", accept);
      assert.equal(status, 200);
      assert.equal(headers.get("content-type"), HEALTH_JSON);
      assert.equal(headers.get("cache-control"), "no-store");
      assert.deepEqual(JSON.parse(body), {
        status: "pass",
        checks: {
          pid: [{ status: "pass" }],
          error: [{ status: "pass" }],
          heartbeat: [{ status: "pass" }],
          ready: [{ status: "pass" }],
        },
      });
    });
    await withServer(way, fakeSource({ ...error3, heartbeat: stale }), {}, async (get) => {
      const failed = await get("/livez", accept);
      assert.equal(failed.status, 503);
      assert.deepEqual(JSON.parse(failed.body), {
        status: "fail",
        checks: {
          pid: [{ status: "pass" }],
          error: [{ status: "fail" }],
          heartbeat: [{ status: "fail" }],
        },
      });
      const verbose = await get("/livez?verbose&exclude=heartbeat&exclude=db", accept);
      assert.equal(verbose.status, 503);
      assert.deepEqual(JSON.parse(verbose.body), {
        status: "fail",
        serviceId: "api",
        notes: ['cannot exclude: no matches for "db"'],
        checks: {
          pid: [{ status: "pass" }],
          error: [{ status: "fail", output: "error 3" }],
          heartbeat: [{ status: "warn", output: "no heartbeat for 13s (max 10s)" }],
        },
      });
      const warned = await get("/livez?exclude=heartbeat&exclude=error", accept);
      assert.equal(warned.status, 200);
      assert.equal(JSON.parse(warned.body).status, "warn");
    });
  });

  t("Accept is negotiated: a weight of 0 or another type answers text", async () => {
    await withServer(way, fakeSource(), {}, async (get) => {
      const type = async (accept: string) =>
        (await get("/livez", { headers: { accept } })).headers.get("content-type");
      assert.equal(await type("text/html, Application/Health+JSON;q=0.5"), HEALTH_JSON);
      assert.equal(await type(`${HEALTH_JSON}; q=0`), TEXT);
      assert.equal(await type("application/json"), TEXT);
      assert.equal(await type("*/*"), TEXT);
    });
  });

  t("HEAD answers the status and headers of GET, with no body", async () => {
    await withServer(way, fakeSource(notReady), {}, async (get, { port }) => {
      const head = await get("/readyz", { method: "HEAD" });
      assert.equal(head.status, 503);
      assert.equal(head.headers.get("cache-control"), "no-store");
      assert.equal(head.headers.get("content-type"), TEXT);
      const answer = await raw(
        port,
        "HEAD /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.match(answer, /^HTTP\/1\.1 200 /);
      assert.ok(answer.endsWith("\r\n\r\n"), `a body after the head: ${JSON.stringify(answer)}`);
    });
  });

  t("other methods answer 405 with Allow: GET, HEAD", async () => {
    await withServer(way, fakeSource(), {}, async (get) => {
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        const { status, headers } = await get("/livez", { method });
        assert.deepEqual({ method, status }, { method, status: 405 });
        assert.equal(headers.get("allow"), "GET, HEAD");
        assert.equal(headers.get("cache-control"), "no-store");
      }
    });
  });

  t("other paths answer 404; a query string never changes the route", async () => {
    await withServer(way, fakeSource(), {}, async (get, { port }) => {
      for (
        const path of ["/", "/livez/", "/livezz", "/live", "/LIVEZ", "/health/livez", "/x/livez"]
      ) {
        const { status, headers } = await get(path);
        assert.deepEqual({ path, status }, { path, status: 404 });
        assert.equal(headers.get("cache-control"), "no-store");
      }
      assert.equal((await get("/nope", { method: "POST" })).status, 404);
      for (const path of ["/livez?", "/livez?x=/readyz", "/readyz?a=1&b", "/healthz?exclude"]) {
        const { status, body } = await get(path);
        assert.deepEqual({ path, status, body }, { path, status: 200, body: "ok" });
      }
      // The absolute form a proxy sends is the same route.
      const answer = await raw(
        port,
        `GET http://127.0.0.1:${port}/livez?verbose HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 200 [^]*livez check passed\n$/);
    });
  });

  t("a prefix mounts the routes under it", async () => {
    for (const prefix of ["/health", "/health/"]) {
      await withServer(way, fakeSource(notReady), { prefix }, async (get) => {
        assert.equal((await get("/health/livez")).status, 200);
        assert.equal((await get("/health/healthz?verbose")).status, 200);
        assert.equal((await get("/health/readyz")).status, 503);
        assert.equal((await get("/livez")).status, 404);
        assert.equal((await get("/readyz")).status, 404);
      });
    }
  });

  t("a 64 KiB URL is refused, and the next client is answered", async () => {
    await withServer(way, fakeSource(), {}, async (get, { port }) => {
      const path = `/livez?pad=${"a".repeat(64 * 1024)}`;
      const answer = await raw(
        port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      // Refused with 400, 414 or 431 (each runtime picks), or the connection closed.
      assert.match(answer, /^(HTTP\/1\.1 4(00|14|31) |$)/, answer.slice(0, 80));
      assert.equal((await get("/livez")).body, "ok");
    });
  });

  t("slow clients stalled in their request head stop no answer to others", async () => {
    await withServer(way, fakeSource(), {}, async (get, { port }) => {
      const stalled = await Promise.all(Array.from({ length: 200 }, () => stall(port)));
      try {
        for (let i = 0; i < 3; i++) assert.equal((await get("/livez")).body, "ok");
      } finally {
        for (const socket of stalled) socket.destroy();
      }
    });
  });
}

// --- the target as sent is the route ----------------------------------------

/**
 * Request targets and Host headers, with the status every server answers
 * for a unit that is live but not ready: `/livez` 200, `/readyz` 503. A
 * target whose dot segments, encoded dots or backslashes resolve to a route
 * is another path (404), and a Host that would hide where the target starts
 * is refused (400): `Bun.serve` resolves the first kind in the URL it makes,
 * `Deno.serve` writes the Host into it.
 */
const EXACT: readonly (readonly [target: string, host: string, status: number])[] = [
  ["/livez", "127.0.0.1", 200],
  ["/readyz", "127.0.0.1", 503],
  ["/readyz/../livez", "127.0.0.1", 404],
  ["/./livez", "127.0.0.1", 404],
  ["/readyz/%2e%2e/livez", "127.0.0.1", 404],
  ["/readyz/%2E%2E/livez", "127.0.0.1", 404],
  ["/readyz/.%2e/livez", "127.0.0.1", 404],
  ["/readyz\\..\\livez", "127.0.0.1", 404],
  ["/x/../livez?verbose", "127.0.0.1", 404],
  ["/livez/.", "127.0.0.1", 404],
  ["/%6civez", "127.0.0.1", 404],
  ["http://127.0.0.1/readyz/../livez", "127.0.0.1", 404],
  ["http://127.0.0.1/livez", "127.0.0.1", 200],
  ["/readyz", "x/livez?", 400],
  ["/readyz", "x/livez#", 400],
  ["/readyz", "127.0.0.1/livez", 400],
  ["/readyz", "x?", 400],
  ["http://127.0.0.1/readyz", "x/livez?", 400],
  ["/readyz", "[::1]:9000", 503],
  ["/readyz", "localhost:9000", 503],
];

/** What `port` answers to each of {@linkcode EXACT}, in its shape. */
async function exactAnswers(port: number): Promise<[string, string, number | string][]> {
  const answers: [string, string, number | string][] = [];
  for (const [target, host] of EXACT) {
    const answer = await raw(
      port,
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
    answers.push([target, host, status ? Number(status[1]) : answer.slice(0, 40)]);
  }
  return answers;
}

for (const runtime of ["deno", "bun", "node"] satisfies RuntimeName[]) {
  test(`serve() on ${runtime}: the target as sent is the route, whatever the Host says`, {
    timeout: 60_000,
  }, async () => {
    const child = new LineChild(runtime, fixture("serve_health"), ["stay"]);
    try {
      const port = Number((await child.next((line) => line.startsWith("port "))).slice(5));
      assert.deepEqual(await exactAnswers(port), EXACT.map((row) => [...row]));
    } finally {
      await child.stop();
    }
  });
}

test("the node listener: the target as sent is the route, whatever the Host says", async () => {
  await withServer(WAYS[1], fakeSource(notReady), {}, async (_get, { port }) => {
    assert.deepEqual(await exactAnswers(port), EXACT.map((row) => [...row]));
  });
});

test("the fetch handler never routes a path the Host header made", () => {
  const handler = createFetchHandler(fakeSource(notReady));
  // What Deno.serve makes of `GET /readyz` with `Host: x/livez?`.
  const request = new Request("http://x/livez?/readyz", { headers: { host: "x/livez?" } });
  const response = handler(request);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("cache-control"), "no-store");
  const valid = { headers: { host: "[fd00::1]:9000" } };
  assert.equal(handler(new Request("http://[fd00::1]:9000/livez", valid)).status, 200);
  assert.equal(handler(new Request("http://[fd00::1]:9000/readyz", valid)).status, 503);
});

test("an absolute target's authority ends at its first / ? or #", () => {
  const { listener } = createHealthHandlers(fakeSource());
  for (
    const [url, status] of [
      ["http://a/livez", 200],
      ["http://a?/livez", 404],
      ["http://a#/livez", 404],
      ["http://a", 404],
    ] as const
  ) {
    let written: unknown;
    listener({ method: "GET", url, headers: {} }, {
      writeHead: (code) => written = code,
      end: () => {},
    });
    assert.deepEqual({ url, status: written }, { url, status });
  }
});

// --- the handler's contract --------------------------------------------------

test("the fetch handler answers with no server, and HEAD gets no body", async () => {
  const handler = createFetchHandler(fakeSource(error3));
  const response = handler(new Request("http://localhost:9000/livez?verbose"));
  assert.equal(response.status, 503);
  assert.equal(
    await response.text(),
    "[+]pid ok\n[-]error failed: error 3\n[+]heartbeat ok\nlivez check failed\n",
  );
  const head = handler(new Request("http://localhost:9000/livez", { method: "HEAD" }));
  assert.equal(head.status, 503);
  assert.equal(head.body, null);
  const { fetch: bound } = { fetch: handler };
  assert.equal(bound(new Request("http://[::1]/readyz")).status, 503, "a plain function");
});

test("a prefix must be a plain path starting with /", () => {
  assert.throws(() => createFetchHandler(fakeSource(), { prefix: "health" }), {
    name: "TypeError",
    message: 'Cannot create the health handler: prefix "health" does not start with "/"',
  });
  for (const prefix of ["/a/../b", "/.", "/a//b", "/a b", "/%2e%2e", "/a\\b", "/:id", "/*"]) {
    assert.throws(() => createFetchHandler(fakeSource(), { prefix }), {
      name: "TypeError",
      message: `Cannot create the health handler: prefix ${
        JSON.stringify(prefix)
      } is not a plain path: its segments must be letters, digits and -._~!$&'()+,;=@, none "." or ".."`,
    }, prefix);
  }
  assert.throws(() => createFetchHandler(fakeSource(), { prefix: 1 as unknown as string }), {
    name: "TypeError",
    message: "Cannot create the health handler: prefix must be a string, got 1",
  });
  for (const prefix of ["", "/", "/health/", "/api/v1.2/_health", "/a.b/..c"]) {
    const handler = createFetchHandler(fakeSource(), { prefix });
    const path = `${prefix.replace(/\/$/, "")}/livez`;
    assert.equal(handler(new Request(`http://x${path}`)).status, 200, prefix);
  }
});

test("createNodeListener() serves any fetch handler, one that throws with 500", async () => {
  const seen: string[] = [];
  const handler = (request: Request): Promise<Response> => {
    seen.push(`${request.method} ${request.url} ${request.headers.get("x-probe")}`);
    if (request.headers.has("x-fail")) return Promise.reject(new Error("Cannot answer: a bug"));
    const headers = { "x-answer": "yes" };
    return Promise.resolve(
      new Response(`hello ${new URL(request.url).pathname}`, { status: 201, headers }),
    );
  };
  const server = createServer(createNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const errors: unknown[] = [];
  const log = console.error;
  console.error = (error: unknown) => errors.push(error);
  try {
    const response = await fetch(`http://127.0.0.1:${port}/there?x=1`, {
      headers: { "x-probe": "7" },
    });
    assert.deepEqual(
      [response.status, response.headers.get("x-answer"), await response.text()],
      [201, "yes", "hello /there"],
    );
    const head = await fetch(`http://127.0.0.1:${port}/there`, { method: "HEAD" });
    assert.deepEqual([head.status, await head.text()], [201, ""]);
    const failed = await fetch(`http://127.0.0.1:${port}/`, { headers: { "x-fail": "1" } });
    assert.deepEqual([failed.status, await failed.text()], [500, "500 internal server error\n"]);
  } finally {
    console.error = log;
    await new Promise((resolve) => server.close(resolve));
  }
  assert.deepEqual(seen, [
    `GET http://127.0.0.1:${port}/there?x=1 7`,
    `HEAD http://127.0.0.1:${port}/there null`,
    `GET http://127.0.0.1:${port}/ null`,
  ]);
  assert.deepEqual(errors.map((error) => (error as Error).message), ["Cannot answer: a bug"]);
});

test("a source that throws answers 500, logged, and the server keeps serving", async () => {
  for (const way of WAYS) {
    let fail = true;
    const source: HealthSource = (kind) => {
      if (fail) throw new Error("Cannot judge: a bug");
      return fakeSource()(kind);
    };
    const errors: unknown[] = [];
    const log = console.error;
    console.error = (error: unknown) => errors.push(error);
    try {
      await withServer(way, source, {}, async (get) => {
        const { status, headers, body } = await get("/livez");
        assert.deepEqual({ way: way.name, status }, { way: way.name, status: 500 });
        assert.equal(headers.get("cache-control"), "no-store");
        assert.equal(body, "500 internal server error\n");
        fail = false;
        assert.equal((await get("/livez")).status, 200);
      });
    } finally {
      console.error = log;
    }
    assert.deepEqual(errors.map((error) => (error as Error).message), ["Cannot judge: a bug"]);
  }
});

// --- serve() -----------------------------------------------------------------

test("serve() on port 0 binds a free port; by default every interface, IPv4 and IPv6", async () => {
  const server = await serve(createHealthHandlers(fakeSource()), { port: 0 });
  try {
    assert.ok(server.port > 0);
    assert.ok(["::", "0.0.0.0"].includes(server.hostname), server.hostname);
    assert.equal((await client(server.port)("/livez")).body, "ok");
    if (server.hostname === "::") {
      const response = await fetch(`http://[::1]:${server.port}/livez`);
      assert.equal(await response.text(), "ok");
    }
  } finally {
    await server.close();
  }
});

test("serve() binds only the address it is given", async () => {
  const server = await serve(createHealthHandlers(fakeSource()), {
    port: 0,
    hostname: "127.0.0.1",
  });
  try {
    assert.equal(server.hostname, "127.0.0.1");
    await assert.rejects(fetch(`http://[::1]:${server.port}/livez`));
  } finally {
    await server.close();
  }
});

test("serve() refuses a bad port and a port in use, and closes idempotently", async () => {
  const handler = createHealthHandlers(fakeSource());
  for (const port of [-1, 65536, 1.5, NaN, Infinity]) {
    await assert.rejects(serve(handler, { port }), {
      name: "TypeError",
      message: `Cannot call serve(): options.port must be an integer from 0 to 65535, got ${port}`,
    });
  }
  const server = await serve(handler, { port: 0, hostname: "127.0.0.1" });
  try {
    await assert.rejects(serve(handler, { port: server.port, hostname: "127.0.0.1" }), (error) => {
      assert.ok(error instanceof Error);
      assert.ok(error.message.startsWith(`Cannot serve on 127.0.0.1 port ${server.port}: `));
      assert.ok(error.cause);
      return true;
    });
  } finally {
    await server.close();
    await server.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/livez`));
});

/** What `serving` rejects with; a server it starts instead is closed, and said. */
function refusal(serving: Promise<HealthServer>): Promise<unknown> {
  return serving.then(
    async (server) => (await server.close(), `it served on ${server.hostname} port ${server.port}`),
    (error: unknown) => error,
  );
}

test("serve() names an unknown option, and each option of the wrong type", async () => {
  const handler = createHealthHandlers(fakeSource());
  const cases: [unknown, string][] = [
    [
      { hostName: "127.0.0.1" },
      'unknown option "hostName" (did you mean "hostname"?); the options are "port", "hostname" and "signal"',
    ],
    [{ prot: 0 }, 'unknown option "prot" (did you mean "port"?); the options are'],
    [{ port: "9000" }, 'options.port must be a number, got "9000"'],
    [{ port: 9000n }, "options.port must be a number, got 9000"],
    [{ port: null }, "options.port must be a number, got null"],
    [{ hostname: 1 }, "options.hostname must be an address (a non-empty string), got 1"],
    [{ hostname: "" }, 'options.hostname must be an address (a non-empty string), got ""'],
    [{ signal: "stop" }, 'options.signal must be an AbortSignal, got "stop"'],
    [{ signal: {} }, "options.signal must be an AbortSignal, got an object"],
    [null, "its options must be an object, got null"],
    ["9000", 'its options must be an object, got "9000"'],
  ];
  for (const [options, message] of cases) {
    const error = await refusal(serve(handler, options as ServeOptions));
    assert.ok(error instanceof TypeError, String(error));
    assert.ok(error.message.startsWith(`Cannot call serve(): ${message}`), error.message);
  }
  const error = await refusal(
    serve((() => new Response("ok")) as never, { port: 0, hostname: "127.0.0.1" }),
  );
  assert.ok(error instanceof TypeError, String(error));
  assert.equal(
    error.message,
    "Cannot call serve(): its handlers must be what createHealthHandlers() made, got a function",
  );
});

/** Whether this machine lets a server listen on `[::1]`. */
function canListenOn(host: string): Promise<boolean> {
  const server = createNetServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}

test("serve() by default binds :: or fails naming it, never IPv4 alone as [::1] holds its port", {
  skip: !(await canListenOn("::1")) && "no IPv6 loopback here",
}, async () => {
  const blocker = createNetServer();
  await new Promise<void>((resolve) => blocker.listen(0, "::1", resolve));
  const { port } = blocker.address() as { port: number };
  try {
    const result = await refusal(serve(createHealthHandlers(fakeSource()), { port }));
    assert.ok(result instanceof Error, String(result));
    assert.ok(
      result.message.startsWith(
        `Cannot serve on :: port ${port} (the default hostname: every interface, IPv6 and IPv4): `,
      ),
      result.message,
    );
    assert.equal((result.cause as { code?: string }).code, "EADDRINUSE");
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

const hasGcc = spawnSync("gcc", ["--version"]).status === 0;

/**
 * Builds in `dir` a library that, preloaded, makes every IPv6 socket fail
 * as on a machine with no IPv6 at all (`EAFNOSUPPORT`); returns its path.
 */
function buildNoIpv6(dir: string): string {
  writeFileSync(
    `${dir}/no_ipv6.c`,
    `#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (domain == AF_INET6) { errno = EAFNOSUPPORT; return -1; }
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  return real(domain, type, protocol);
}
`,
  );
  const args = ["-shared", "-fPIC", "-o", `${dir}/no_ipv6.so`, `${dir}/no_ipv6.c`, "-ldl"];
  const built = spawnSync("gcc", args, { encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  return `${dir}/no_ipv6.so`;
}

for (const runtime of ["deno", "bun", "node"] satisfies RuntimeName[]) {
  test(`serve() on ${runtime} binds 0.0.0.0 by default where no IPv6 socket can be made`, {
    timeout: 60_000,
    skip: !hasGcc && "needs gcc to build a library that makes IPv6 sockets fail",
  }, async () => {
    await withTempDir(async (dir) => {
      const [command, args] = commandFor(runtime, fixture("serve_health"));
      const child = spawn(command, [...args, "default"], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, LD_PRELOAD: buildNoIpv6(dir) },
      });
      // Not an assertion: a child that never answers fails the test instead of hanging it.
      const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      try {
        let output = "";
        child.stdout!.setEncoding("utf8");
        for await (const chunk of child.stdout!) {
          output += chunk;
          if (/^hostname .*\n/m.test(output)) break;
        }
        const [, port, hostname] = /^port (\d+)\nhostname (.*)\n/.exec(output) ?? [];
        assert.equal(hostname, "0.0.0.0", output);
        assert.equal((await client(Number(port))("/livez")).body, "ok");
      } finally {
        clearTimeout(guard);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.on("exit", resolve));
          child.kill("SIGKILL");
          await exited;
        }
      }
    });
  });
}

test("serve() stops when its signal aborts, and refuses an aborted one", async () => {
  const handler = createHealthHandlers(fakeSource());
  const controller = new AbortController();
  const server = await serve(handler, {
    port: 0,
    hostname: "127.0.0.1",
    signal: controller.signal,
  });
  assert.equal((await client(server.port)("/livez")).status, 200);
  controller.abort();
  await server.close(); // resolves once the abort has closed it
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/livez`));
  await assert.rejects(serve(handler, { port: 0, signal: controller.signal }), {
    name: "AbortError",
  });
});

/** Runs `tests/fixtures/serve_health` with `mode`; resolves with its exit code and output. */
function runServeFixture(
  mode: "close" | "stay",
  onPort: (port: number, stop: () => void) => void,
): Promise<{ code: number | null; output: string }> {
  const [command, args] = runtimeCommand(fixture("serve_health"));
  const child = spawn(command, [...args, mode], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  // Not an assertion: a program that never exits fails the test instead of hanging it.
  const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
  child.stdout!.on("data", (chunk) => {
    output += chunk;
    const port = /^port (\d+)$/m.exec(output);
    if (port && !output.includes("\u0000")) {
      output += "\u0000";
      onPort(Number(port[1]), () => child.kill("SIGTERM"));
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, output: output.replace("\u0000", "") });
    });
  });
}

test("a program that closes its server exits by itself", { timeout: 60_000 }, async () => {
  const { code, output } = await runServeFixture("close", () => {});
  assert.match(output, /^port \d+\nstatus 200 ok\nclosed\n$/);
  assert.equal(code, 0);
});

test("a program whose script has ended stays alive and answers while it serves", {
  timeout: 60_000,
}, async () => {
  let answered: Promise<Got> | undefined;
  const { code, output } = await runServeFixture("stay", (port, stop) => {
    answered = client(port)("/livez").finally(stop);
  });
  assert.match(output, /^port \d+\n$/);
  assert.equal((await answered!).body, "ok");
  assert.notEqual(code, 0, "it ran until stopped");
});

// --- what loads the server ---------------------------------------------------

const DENO = "node_modules/.bin/deno";

/** The modules `root` imports, from `deno info`: statically only, or with dynamic imports too. */
function moduleGraph(root: string, dynamic: boolean): string[] {
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

const SERVER_CODE = /^(src\/http\/_(adapter|deno|bun|node)\.ts|node:http|node:net)$/;

test("only serve() loads server code: no static import reaches it, and the probe command none", {
  skip: !existsSync(DENO) && "reads the source's module graph with deno: run from the repository",
}, () => {
  for (const root of ["mod.ts", "src/http/serve.ts"]) {
    assert.deepEqual(moduleGraph(root, false).filter((name) => SERVER_CODE.test(name)), [], root);
  }
  assert.ok(
    moduleGraph("src/http/serve.ts", true).includes("src/http/_node.ts"),
    "the graph is read",
  );
  assert.deepEqual(
    moduleGraph("src/probe_cli.ts", true).filter((name) =>
      SERVER_CODE.test(name) || name.startsWith("src/http/")
    ),
    [],
  );
});

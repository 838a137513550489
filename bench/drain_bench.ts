/**
 * What a SIGTERM costs the requests of a loaded service whose own server is
 * given to `closeOnShutdown()`: autocannon keeps a few hundred kept-alive
 * connections busy on `GET /slow?ms=100` (each answer takes 100 ms, so
 * hundreds are in flight at any time), the service gets SIGTERM with a
 * drain, and every request is followed from its send to its end:
 *
 * - **during the drain** (from the signal to its end): how many were sent,
 *   answered, and failed (an error, a non-2xx answer, or a connection that
 *   closed under a request without answering it). Target: 0 failed;
 * - **in flight at the drain's end** (sent before, ended after): answered or
 *   failed. Target: all answered;
 * - **after the drain**: connections refused (the server stops accepting;
 *   in Kubernetes no new connection comes by then, the drain is for that);
 * - **SIGTERM to exit**, in ms. Target: the drain + the in-flight time
 *   (100 ms) + the exit, never the deadline (25 000 ms).
 *
 * Each service runs on Node, Bun and Deno: a `node:http` server everywhere,
 * and `Deno.serve` and `Bun.serve` on their runtimes (the fixture of
 * `tests/servers_test.ts`). Two clients: autocannon as it is, which ignores
 * `Connection: close` (it writes its next request on a connection the
 * server said it closes: that request is lost or reset), and autocannon made
 * to honour it as HTTP/1.1 clients do (undici, Node's agent, Go, Envoy,
 * browsers): it opens a new connection instead. The native servers run
 * with their handler as it is, and through `drainHandler()`. The last row
 * of each runtime is the `node:http` service with its registration removed
 * (the server closed by nothing: the exit cuts what is in flight).
 *
 * Run: `node_modules/.bin/node bench/drain_bench.ts [connections] [drain ms]`
 * (any Node from 22.6 runs it as it is).
 *
 * @module
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import process from "node:process";

const connections = Number(process.argv[2] ?? 300);
const drain = Number(process.argv[3] ?? 3000);
const TIMEOUT = 25_000;
const WORK_MS = 100;
const WARM_MS = 2000;

const RUNTIMES = [
  { name: "Node", command: ["node_modules/.bin/node"] },
  { name: "Bun", command: ["node_modules/.bin/bun"] },
  { name: "Deno", command: ["node_modules/.bin/deno", "run", "--allow-all"] },
] as const;

/** One request's end: when it was sent and ended, and whether it was answered with a 2xx. */
interface Outcome {
  readonly sent: number;
  readonly ended: number;
  readonly ok: boolean;
  readonly why: string;
}

/** The parts of autocannon's client this bench hooks into. */
interface Client {
  on(event: string, listener: (...args: never[]) => void): void;
  _connect(): void;
  _doRequest(): void;
  _destroyConnection(): void;
}

/** Starts the service; resolves with its process and port once it listens. */
async function start(
  runtime: (typeof RUNTIMES)[number],
  rundir: string,
  config: object,
) {
  const [command, ...args] = runtime.command;
  const child = spawn(command, [
    ...args,
    "tests/fixtures/drain_server.ts",
    rundir,
    "api",
    JSON.stringify(config),
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<{ at: number; code: number | null }>((resolve) =>
    child.on("exit", (code) => resolve({ at: Date.now(), code }))
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const found = /listening (\d+)/.exec(out);
      if (found) resolve(Number(found[1]));
    });
    child.on("exit", () => reject(new Error(`the service exited: ${out}`)));
  });
  child.stdout.resume();
  return { child, port, exited };
}

/** One run: the load, the signal at `WARM_MS`, every request's outcome, and the exit. */
async function run(
  runtime: (typeof RUNTIMES)[number],
  server: "node" | "native",
  honour: boolean,
  config: object = {},
) {
  const rundir = mkdtempSync(`${tmpdir()}/drain-bench-`);
  try {
    const service = await start(runtime, rundir, {
      server,
      drain,
      timeout: TIMEOUT,
      quiet: true,
      ...config,
    });
    const outcomes: Outcome[] = [];
    const setupClient = (client: Client) => {
      const pending: number[] = [];
      let closeNext = false;
      const end = (ok: boolean, why: string) => {
        const sent = pending.shift();
        if (sent !== undefined) outcomes.push({ sent, ended: Date.now(), ok, why });
      };
      client.on("request", () => void pending.push(Date.now()));
      client.on("headers", (info: { shouldKeepAlive: boolean }) => {
        closeNext = !info.shouldKeepAlive;
      });
      client.on("response", (status: number) => end(status >= 200 && status < 300, `${status}`));
      client.on("connError", (error: { code?: string }) => end(false, error.code ?? "error"));
      const connect = client._connect.bind(client);
      client._connect = () => {
        // A connection that ended cleanly under a request: that request is lost.
        while (pending.length > 0) end(false, "closed without an answer");
        connect();
      };
      if (!honour) return;
      const doRequest = client._doRequest.bind(client);
      client._doRequest = () => {
        if (!closeNext) return doRequest();
        // `Connection: close`: the next request goes on a new connection.
        closeNext = false;
        client._destroyConnection();
        client._connect();
      };
    };
    const load = autocannon({
      url: `http://127.0.0.1:${service.port}/slow?ms=${WORK_MS}`,
      connections,
      duration: 120,
      setupClient,
    });
    load.on("error", () => {});
    await new Promise((resolve) => setTimeout(resolve, WARM_MS));
    const signalled = Date.now();
    service.child.kill("SIGTERM");
    const exited = await service.exited;
    load.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = signalled + drain;
    const during = outcomes.filter(({ ended }) => ended >= signalled && ended < drained);
    const inFlight = outcomes.filter(({ sent, ended }) => sent < drained && ended >= drained);
    const after = outcomes.filter(({ sent }) => sent >= drained);
    const failures = (list: Outcome[]) => {
      const byWhy = new Map<string, number>();
      for (const { ok, why } of list) if (!ok) byWhy.set(why, (byWhy.get(why) ?? 0) + 1);
      return [...byWhy].map(([why, count]) => `${count} ${why}`).join(", ") || "0";
    };
    return {
      before: outcomes.filter(({ ended }) => ended < signalled).length,
      during: during.length,
      duringFailed: failures(during),
      inFlightAnswered: inFlight.filter(({ ok }) => ok).length,
      inFlightFailed: failures(inFlight),
      afterFailed: failures(after),
      exitMs: exited.at - signalled,
      code: exited.code,
    };
  } finally {
    rmSync(rundir, { recursive: true, force: true });
  }
}

console.log(
  `${connections} kept-alive connections on GET /slow?ms=${WORK_MS}, SIGTERM after ${WARM_MS} ms, ` +
    `drain ${drain} ms, deadline ${TIMEOUT} ms; ${availableParallelism()} cores, load ` +
    `${loadavg()[0].toFixed(1)}; autocannon 9 on Node ${process.version}\n`,
);
console.log(
  "| service | client | answered before | during the drain: ended / failed | in flight at its end: answered / failed | after: failed | SIGTERM to exit ms |",
);
console.log("| --- | --- | ---: | --- | --- | --- | ---: |");
for (const runtime of RUNTIMES) {
  type Case = { server: "node" | "native"; label: string; honour: boolean; config?: object };
  const native = `${runtime.name}.serve`;
  const cases: Case[] = [
    { server: "node", label: "node:http", honour: true },
    { server: "node", label: "node:http", honour: false },
  ];
  if (runtime.name !== "Node") {
    cases.push(
      { server: "native", label: native, honour: true },
      { server: "native", label: native, honour: false },
      {
        server: "native",
        label: `${native}, drainHandler()`,
        honour: true,
        config: { drainHandler: true },
      },
      {
        server: "native",
        label: `${native}, drainHandler()`,
        honour: false,
        config: { drainHandler: true },
      },
    );
  }
  cases.push({
    server: "node",
    label: "node:http, not registered",
    honour: true,
    config: { remove: true },
  });
  for (const { server, label, honour, config } of cases) {
    const result = await run(runtime, server, honour, config);
    console.log(
      `| ${runtime.name}, ${label} | ${honour ? "honours Connection: close" : "as it is"} | ` +
        `${result.before} | ${result.during} / ${result.duringFailed} | ` +
        `${result.inFlightAnswered} / ${result.inFlightFailed} | ${result.afterFailed} | ` +
        `${result.exitMs} (exit ${result.code}) |`,
    );
  }
}

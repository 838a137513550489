/**
 * What the HTTP health endpoints cost, side by side in one run, printed as
 * markdown tables (ratios against lightship on Node, and against the bare
 * server of each runtime):
 *
 * 1. Throughput and p99 latency of `GET /livez` (autocannon, 20
 *    connections, loopback) on Node, Bun and Deno, against lightship's
 *    `/live` and a bare server answering `ok` on each runtime; and the
 *    server's CPU time per request, which a busy machine changes less than
 *    it changes requests/s (the ceiling is about 1 / CPU per request).
 * 2. Weight: resident memory and time to first answer of a program serving
 *    our endpoints, a bare server and lightship (`bench/_http_server.ts`).
 * 3. One probe round trip: a request over a fresh connection (as the kubelet
 *    makes each `httpGet` probe) and `curl`, against one exec of `probe.sh`
 *    and of the `liveness-probe` command on each runtime.
 * 4. The owner's answer in process (`bench/_owner_answer.js`): a loaded
 *    owner's `fetch`, which judges the verdict at each request with one
 *    `fstat` of the pid file it holds, against a handler answering the same
 *    parts from a constant, heartbeat off and on, on each runtime.
 *
 * Node runs the npm build (built first, into `npm/`), Bun and Deno the
 * source; autocannon runs on the machine's Node, in its own process.
 *
 * Run: `node_modules/node/bin/node bench/http_bench.ts [seconds] [rounds]`
 * (any Node from 22.6 runs it as it is).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import process from "node:process";
import { createLiveness } from "../mod.ts";

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 5);

/** Node runs the npm build, as users install it; Bun and Deno the source. */
const RUNTIMES = [
  { name: "Node", command: ["node"], library: "npm", version: ["node", "--version"] },
  {
    name: "Bun",
    command: ["node_modules/.bin/bun"],
    library: ".",
    version: ["node_modules/.bin/bun", "--version"],
  },
  {
    name: "Deno",
    command: ["node_modules/.bin/deno", "run", "--allow-all"],
    library: ".",
    version: ["node_modules/.bin/deno", "--version"],
  },
];
const SERVERS = [
  { name: "ours", path: "/livez" },
  { name: "bare", path: "/" },
  { name: "lightship", path: "/live" },
] as const;

type Runtime = (typeof RUNTIMES)[number];
type Server = (typeof SERVERS)[number];

/** A server program, started; `ms` from the spawn to its first answer. */
interface Started {
  port: number;
  pid: number;
  ms: number;
  stop(): Promise<void>;
}

/** Starts `bench/_http_server.ts` and waits for its first answer. */
async function start(runtime: Runtime, server: Server): Promise<Started> {
  const [command, ...args] = runtime.command;
  const began = performance.now();
  const child = spawn(command, [...args, "bench/_http_server.js", server.name, runtime.library], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    exit.then(() => exited || reject(new Error(`${runtime.name} ${server.name} exited`)));
  });
  await roundTrip(port, server.path);
  const ms = performance.now() - began;
  return {
    port,
    pid: child.pid!,
    ms,
    stop: () => {
      exited = true;
      child.kill("SIGKILL");
      return exit;
    },
  };
}

/** Resident memory of a process, in MiB. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** One `GET` over a new connection, closed after the answer; resolves with the ms it took. */
function roundTrip(port: number, path: string): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => answer += chunk);
    socket.on("error", reject);
    socket.on("close", () => {
      if (!answer.startsWith("HTTP/1.1 200 ")) reject(new Error(`not 200: ${answer}`));
      else resolve(performance.now() - began);
    });
  });
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];

/** autocannon on the machine's Node, in its own process: requests/s and p99 ms. */
function autocannon(
  started: Started,
  path: string,
  duration: number,
): { rps: number; p99: number; cpu: number } {
  const cpuBefore = cpuTime(started.pid);
  const result = spawnSync("node", [
    "node_modules/autocannon/autocannon.js",
    "--connections",
    "20",
    "--duration",
    String(duration),
    "--json",
    `http://127.0.0.1:${started.port}${path}`,
  ], { encoding: "utf8", timeout: (duration + 30) * 1000 });
  const cpu = cpuTime(started.pid) - cpuBefore;
  if (result.status !== 0) throw new Error(`autocannon failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout);
  if (report.non2xx > 0 || report.errors > 0) {
    throw new Error(`autocannon: ${report.non2xx} non-2xx answers, ${report.errors} errors`);
  }
  const { requests, latency } = report;
  return { rps: requests.average, p99: latency.p99, cpu: cpu * 1000 / requests.total };
}

/** The CPU time a process has used, all its threads, in ms (clock ticks of 10 ms). */
function cpuTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const [utime, stime] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 13);
  return (Number(utime) + Number(stime)) * 10;
}

function versionOf(command: string[]): string {
  const [program, ...args] = command;
  return spawnSync(program, args, { encoding: "utf8" }).stdout.split("\n")[0].trim();
}

const build = spawnSync(
  "node_modules/.bin/deno",
  ["run", "--allow-all", "scripts/build_npm.ts", "0.0.0", "--no-test"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (build.status !== 0) throw new Error("Cannot build npm/ for Node");

console.log(
  `Runtimes: ${RUNTIMES.map((runtime) => versionOf(runtime.version)).join(", ")}; ` +
    `autocannon on ${versionOf(["node", "--version"])}, ${seconds} s per run, ${rounds} rounds; ` +
    `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`,
);

// 1 and 2. Every server on every runtime, in turns, so that load on the machine falls on all alike.
const cases = RUNTIMES.flatMap((runtime) => SERVERS.map((server) => ({ runtime, server })));
const weights = cases.map(() => ({ ms: [] as number[], mib: [] as number[] }));
for (let round = 0; round < rounds; round++) {
  for (const [index, { runtime, server }] of cases.entries()) {
    const started = await start(runtime, server);
    weights[index].ms.push(started.ms);
    weights[index].mib.push(rss(started.pid));
    await started.stop();
  }
}
// Every server of a runtime runs at once (an idle one costs nothing); short runs take turns, so
// that a change of load on the machine falls on all alike.
const loads = cases.map(() => ({ rps: [] as number[], p99: [] as number[], cpu: [] as number[] }));
for (const runtime of RUNTIMES) {
  const indexes = cases.flatMap((item, index) => item.runtime === runtime ? [index] : []);
  const running = await Promise.all(indexes.map((index) => start(runtime, cases[index].server)));
  const path = (at: number) => cases[indexes[at]].server.path;
  running.forEach((started, at) => autocannon(started, path(at), 1)); // warm-up: JIT, connections
  for (let round = 0; round < rounds; round++) {
    for (const [at, started] of running.entries()) {
      const { rps, p99, cpu } = autocannon(started, path(at), seconds);
      loads[indexes[at]].rps.push(rps);
      loads[indexes[at]].p99.push(p99);
      loads[indexes[at]].cpu.push(cpu);
    }
  }
  await Promise.all(running.map((started) => started.stop()));
}

const rows = cases.map(({ runtime, server }, index) => ({
  runtime: runtime.name,
  server: server.name,
  rps: median(loads[index].rps),
  p99: median(loads[index].p99),
  cpu: median(loads[index].cpu),
  ms: median(weights[index].ms),
  mib: median(weights[index].mib),
}));
const find = (runtime: string, server: string) =>
  rows.find((row) => row.runtime === runtime && row.server === server)!;
const lightshipOnNode = find("Node", "lightship");

console.log(
  `\nThroughput of GET ${SERVERS.map((server) => server.path).join(" / ")}: autocannon, ` +
    `20 connections, loopback, median of ${rounds} runs of ${seconds} s taking turns, after 1 s of warm-up\n`,
);
console.log(
  "| runtime | server | requests/s | × lightship on Node | p99 ms | × bare (same runtime) " +
    "| server CPU µs per request | × lightship's CPU (same runtime) |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  const bare = find(row.runtime, "bare");
  console.log(
    `| ${row.runtime} | ${row.server} | ${Math.round(row.rps)} | ${
      (row.rps / lightshipOnNode.rps).toFixed(2)
    } | ${row.p99} | ${(row.rps / bare.rps).toFixed(2)} | ${row.cpu.toFixed(1)} | ${
      (row.cpu / find(row.runtime, "lightship").cpu).toFixed(2)
    } |`,
  );
}

console.log(
  `\nWeight: resident memory once answering, and time from spawn to the first answer, median of ${rounds}\n`,
);
console.log(
  "| runtime | server | RSS MiB | added RSS MiB | ms to first answer | added ms | added × lightship's |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  const bare = find(row.runtime, "bare");
  const lightship = find(row.runtime, "lightship");
  const added = { mib: row.mib - bare.mib, ms: row.ms - bare.ms };
  const ratio = row.server === "ours"
    ? `${(added.mib / (lightship.mib - bare.mib)).toFixed(2)} RSS, ${
      (added.ms / (lightship.ms - bare.ms)).toFixed(2)
    } time`
    : "";
  console.log(
    `| ${row.runtime} | ${row.server} | ${row.mib.toFixed(1)} | ${added.mib.toFixed(1)} | ${
      row.ms.toFixed(0)
    } | ${added.ms.toFixed(0)} | ${ratio} |`,
  );
}

// 3. One probe, each way, on a unit this process holds healthy.
const rundir = mkdtempSync(`${tmpdir()}/liveness-bench-`);
const unit = "bench";
const liveness = createLiveness({ unit, rundir });
await liveness.load([]);
liveness.set(0);
const flags = ["--unit", unit, "--rundir", rundir];
const probeRounds = 20;

function execMs(command: string[]): number {
  const times: number[] = [];
  for (let i = 0; i <= probeRounds; i++) {
    const began = performance.now();
    const result = spawnSync(command[0], command.slice(1), { stdio: "pipe" });
    const elapsed = performance.now() - began;
    if (result.status !== 0) throw new Error(`${command.join(" ")}: ${result.stdout}`);
    if (i > 0) times.push(elapsed); // the first warms the caches
  }
  return median(times);
}

const probes: { name: string; ms: number }[] = [];
for (const runtime of RUNTIMES) {
  const started = await start(runtime, SERVERS[0]);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) times.push(await roundTrip(started.port, "/livez"));
  probes.push({
    name: `HTTP GET /livez, fresh connection (our server on ${runtime.name})`,
    ms: median(times),
  });
  if (runtime.name === "Node") {
    probes.push({
      name: "curl http://127.0.0.1/livez (a process started, then the request)",
      ms: execMs(["curl", "-sf", "-o", "/dev/null", `http://127.0.0.1:${started.port}/livez`]),
    });
  }
  await started.stop();
}
probes.push({ name: "exec probe.sh", ms: execMs(["./probe.sh", ...flags]) });
for (const runtime of RUNTIMES) {
  probes.push({
    name: `exec liveness-probe (probe_cli on ${runtime.name})`,
    ms: execMs([
      ...runtime.command,
      `${runtime.library}/src/probe_cli.${runtime.library === "npm" ? "js" : "ts"}`,
      ...flags,
    ]),
  });
}
liveness.reset();
rmSync(rundir, { recursive: true });

const http = probes[0].ms;
console.log(`\nOne healthy probe, each way, median of ${probeRounds} execs (200 requests)\n`);
console.log("| probe | ms | × HTTP on Node |");
console.log("| --- | ---: | ---: |");
for (const { name, ms } of probes) {
  console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / http).toFixed(1)} |`);
}

// 4. The owner's own answer, in process, on each runtime.
console.log(
  "\nThe owner's answer in process (`liveness.fetch`, one fstat of its pid file per answer) " +
    "against the same parts from a constant, µs per answer, median of 7 runs of 20 000\n",
);
console.log("| runtime | heartbeat | owner µs | constant µs | × constant |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const runtime of RUNTIMES) {
  const [command, ...args] = runtime.command;
  const run = spawnSync(command, [...args, "bench/_owner_answer.js", runtime.library], {
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`${runtime.name}: _owner_answer failed: ${run.stderr}`);
  const answers: Record<string, { owner: number; constant: number }> = JSON.parse(run.stdout);
  for (const [heartbeat, { owner, constant }] of Object.entries(answers)) {
    console.log(
      `| ${runtime.name} | ${heartbeat.replace("heartbeat ", "")} | ${owner.toFixed(2)} | ${
        constant.toFixed(2)
      } | ${(owner / constant).toFixed(2)} |`,
    );
  }
}
console.log(`\nLoad average at the end: ${loadavg()[0].toFixed(1)}`);

/**
 * What the library weighs in a Node program, against lightship, side by side
 * in one run: `bench/_weight_server.js`, an app on `node:http` answering
 * `200`, started bare, with the library serving `/livez` (by `serve()` on a
 * port of its own, and by `liveness.listener` on the app's server), and with
 * lightship. For each: resident memory and V8 heap in use once it answers,
 * the time from spawn to the first `200` of its health endpoint (the app's
 * `/` for the bare one), the throughput of that endpoint (wrk where it is
 * installed, else autocannon; 10 connections, loopback, after 1 s of warm-up) and the resident memory after
 * that run. Then the ratios the library aims at: what it adds to the bare
 * program, in memory and start-up time, at most a quarter of what lightship
 * adds, and its throughput at least 0.9× the bare server's.
 *
 * Start-up and memory: each round starts every program on each Node, in an
 * order that rotates, so that the machine's noise falls on all alike. Load:
 * every program of a Node runs at once (an idle one costs nothing), and
 * short runs take turns, with the server's CPU time per request beside the
 * requests/s, which a busy machine moves more. The figures are medians. The
 * programs run the npm build (built first, into `npm/`), as users install
 * it, on the Node of `node_modules` and on the machine's `node` where that
 * is another version. The load generator runs in its own process
 * (autocannon on the Node that runs this).
 *
 * Run: `node_modules/node/bin/node bench/weight_bench.ts [seconds] [rounds]`
 * (defaults: 3 s of load per program, 5 rounds).
 *
 * @module
 */
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import process from "node:process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 5);
const CONNECTIONS = 10;
/** Starts of each program per run of load: a start is cheap to sample, and noisy. */
const STARTS = 3;

const LIBRARY = fileURLToPath(new URL("../npm/mod.js", import.meta.url));
const SERVER = fileURLToPath(new URL("_weight_server.js", import.meta.url));

/** The programs: each mode of `_weight_server.js`, and the endpoint measured. */
const PROGRAMS = [
  { name: "bare", label: "bare node:http app", path: "/", on: "app" },
  { name: "serve", label: "app + library, serve()", path: "/livez", on: "health" },
  {
    name: "listener",
    label: "app + library, listener on the app's server",
    path: "/livez",
    on: "app",
  },
  { name: "lightship", label: "app + lightship", path: "/live", on: "health" },
] as const;
type Program = (typeof PROGRAMS)[number];

/** A program, started: its ports, and `ms` from the spawn to the first 200 of its endpoint. */
interface Started {
  url: string;
  pid: number;
  ms: number;
  heap(): Promise<number>;
  stop(): Promise<void>;
}

/** One Node to run the programs on. */
interface Node {
  name: string;
  command: string;
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];
const MiB = 1024 * 1024;

function versionOf(command: string): string | undefined {
  const result = spawnSync(command, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Starts `program` on `node`, and waits for the first 200 of its endpoint. */
async function start(node: Node, program: Program, rundir: string): Promise<Started> {
  const began = performance.now();
  const child: ChildProcessByStdio<null, Readable, null> = spawn(
    node.command,
    [SERVER, program.name, LIBRARY, rundir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  const nextLine = () =>
    Promise.race([
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise<string>((resolve) => waiting.push(resolve)),
      exit.then(() => {
        throw new Error(`${node.name} ${program.name} exited`);
      }),
    ]);
  try {
    const [app, health] = /^port (\d+) (\d+)$/.exec(await nextLine())!.slice(1);
    const url = `http://127.0.0.1:${program.on === "app" ? app : health}${program.path}`;
    await get(url);
    return {
      url,
      pid: child.pid!,
      ms: performance.now() - began,
      heap: async () => {
        child.kill("SIGUSR2");
        return Number(/^heap (\d+)$/.exec(await nextLine())![1]);
      },
      stop: () => {
        child.kill("SIGKILL");
        return exit;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    await exit;
    throw error;
  }
}

/** One `GET` over a new connection; throws unless it answers 200. */
async function get(url: string): Promise<void> {
  const response = await fetch(url, { headers: { connection: "close" } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
}

/** Resident memory of a process, in bytes. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

/**
 * The load generator: `wrk` where it is installed (Debian's package: C, so
 * that the client, not the server, is not what is measured on a machine of
 * two cores), else autocannon, which parses every answer's headers in
 * JavaScript; `WEIGHT_CLIENT=autocannon` chooses it.
 */
const CLIENT = process.env.WEIGHT_CLIENT === "autocannon" || !hasWrk() ? "autocannon" : "wrk";

function hasWrk(): boolean {
  return spawnSync("wrk", ["--version"], { encoding: "utf8" }).error === undefined;
}

/** The load generator, in its own process, for `duration` seconds: requests/s and the server's CPU µs per request. */
function generateLoad(started: Started, duration: number): { rps: number; cpu: number } {
  const cpuBefore = cpuTime(started.pid);
  const { requests, seconds } = CLIENT === "wrk"
    ? wrk(started.url, duration)
    : autocannon(started.url, duration);
  const cpu = cpuTime(started.pid) - cpuBefore;
  return { rps: requests / seconds, cpu: cpu * 1000 / requests };
}

function autocannon(url: string, duration: number): { requests: number; seconds: number } {
  const result = spawnSync(process.execPath, [
    "node_modules/autocannon/autocannon.js",
    "--connections",
    String(CONNECTIONS),
    "--duration",
    String(duration),
    "--json",
    url,
  ], { encoding: "utf8", timeout: (duration + 30) * 1000 });
  if (result.status !== 0) throw new Error(`autocannon failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout);
  if (report.non2xx > 0 || report.errors > 0) {
    throw new Error(`autocannon: ${report.non2xx} non-2xx answers, ${report.errors} errors`);
  }
  return { requests: report.requests.total, seconds: report.duration };
}

function wrk(url: string, duration: number): { requests: number; seconds: number } {
  const result = spawnSync(
    "wrk",
    ["--threads", "1", "--connections", String(CONNECTIONS), "--duration", `${duration}s`, url],
    { encoding: "utf8", timeout: (duration + 30) * 1000 },
  );
  if (result.status !== 0) throw new Error(`wrk failed: ${result.stderr}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(result.stdout);
  if (errors) throw new Error(`wrk: ${errors[0]}`);
  const [, requests, seconds] = /(\d+) requests in ([\d.]+)s/.exec(result.stdout) ?? [];
  if (requests === undefined) throw new Error(`wrk: no count in ${result.stdout}`);
  return { requests: Number(requests), seconds: Number(seconds) };
}

/** The CPU time a process has used, all its threads, in ms (clock ticks of 10 ms). */
function cpuTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const [utime, stime] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 13);
  return (Number(utime) + Number(stime)) * 10;
}

const build = spawnSync(
  "node_modules/.bin/deno",
  ["run", "--allow-all", "scripts/build_npm.ts", "0.0.0", "--no-test"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (build.status !== 0) throw new Error("Cannot build npm/ for Node");

const nodes: Node[] = [];
for (const command of ["node_modules/.bin/node", "node"]) {
  const version = versionOf(command);
  if (version && !nodes.some((node) => node.name === `Node ${version}`)) {
    nodes.push({ name: `Node ${version}`, command });
  }
}
console.log(
  `${nodes.map((node) => node.name).join(", ")}; ${
    CLIENT === "wrk" ? "wrk (one thread)" : `autocannon on Node ${process.version}`
  }, ` +
    `${CONNECTIONS} connections, ${seconds} s per program, ${rounds} rounds; ` +
    `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`,
);

interface Samples {
  rss: number[];
  heap: number[];
  ms: number[];
  rps: number[];
  cpu: number[];
  loadedRss: number[];
  failed?: string;
}
const samples = new Map<string, Samples>();
const key = (node: Node, program: Program) => `${node.name} ${program.name}`;
for (const node of nodes) {
  for (const program of PROGRAMS) {
    samples.set(key(node, program), { rss: [], heap: [], ms: [], rps: [], cpu: [], loadedRss: [] });
  }
}
const failed = (sample: Samples) => (error: unknown) => {
  sample.failed = error instanceof Error ? error.message : String(error);
};

/** One start: the time to the first 200, then memory, then the end. */
async function weigh(node: Node, program: Program, sample: Samples, rundir: string) {
  const started = await start(node, program, rundir);
  try {
    sample.ms.push(started.ms);
    sample.rss.push(rss(started.pid));
    sample.heap.push(await started.heap());
  } finally {
    await started.stop();
  }
}

/** Every program of `node` at once, loaded in turns: requests/s, CPU, memory after. */
async function load(node: Node, rundir: string) {
  const running: { program: Program; sample: Samples; started: Started }[] = [];
  try {
    for (const program of PROGRAMS) {
      const sample = samples.get(key(node, program))!;
      if (sample.failed) continue;
      await start(node, program, rundir).then(
        (started) => running.push({ program, sample, started }),
        failed(sample),
      );
    }
    for (const { started } of running) generateLoad(started, 1); // warm-up: JIT, connections
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < running.length; turn++) {
        const { sample, started } = running[(round + turn) % running.length];
        const { rps, cpu } = generateLoad(started, seconds);
        sample.rps.push(rps);
        sample.cpu.push(cpu);
      }
    }
    for (const { sample, started } of running) sample.loadedRss.push(rss(started.pid));
  } finally {
    await Promise.all(running.map(({ started }) => started.stop()));
  }
}

const rundir = mkdtempSync(`${tmpdir()}/liveness-weight-`);
try {
  for (let round = 0; round < rounds * STARTS; round++) {
    for (const node of nodes) {
      for (let turn = 0; turn < PROGRAMS.length; turn++) {
        const program = PROGRAMS[(round + turn) % PROGRAMS.length];
        const sample = samples.get(key(node, program))!;
        if (!sample.failed) await weigh(node, program, sample, rundir).catch(failed(sample));
      }
    }
  }
  for (const node of nodes) await load(node, rundir);
} finally {
  rmSync(rundir, { recursive: true, force: true });
}

for (const node of nodes) {
  const row = (program: Program) => {
    const sample = samples.get(key(node, program))!;
    return sample.failed ? undefined : {
      rss: median(sample.rss) / MiB,
      heap: median(sample.heap) / MiB,
      ms: median(sample.ms),
      rps: median(sample.rps),
      cpu: median(sample.cpu),
      loadedRss: median(sample.loadedRss) / MiB,
    };
  };
  const bare = row(PROGRAMS[0]);
  if (!bare) throw new Error(`${node.name}: ${samples.get(key(node, PROGRAMS[0]))!.failed}`);
  const lightship = row(PROGRAMS[3]);
  console.log(
    `\n${node.name}: medians of ${rounds * STARTS} starts, and of ${rounds} runs of ${seconds} s\n`,
  );
  console.log(
    "| program | RSS MiB | added | heap used MiB | added | ms to first 200 | added " +
      "| requests/s | × bare | CPU µs per request | × bare | RSS after the runs MiB | added |",
  );
  console.log(`|${" --- |".repeat(1)}${" ---: |".repeat(12)}`);
  for (const program of PROGRAMS) {
    const it = row(program);
    if (!it) {
      console.log(`| ${program.label} | ${samples.get(key(node, program))!.failed} |`);
      continue;
    }
    console.log(
      `| ${program.label} | ${it.rss.toFixed(1)} | ${(it.rss - bare.rss).toFixed(1)} | ` +
        `${it.heap.toFixed(1)} | ${(it.heap - bare.heap).toFixed(1)} | ${it.ms.toFixed(0)} | ` +
        `${(it.ms - bare.ms).toFixed(0)} | ${Math.round(it.rps)} | ${
          (it.rps / bare.rps).toFixed(2)
        } | ` +
        `${it.cpu.toFixed(1)} | ${(it.cpu / bare.cpu).toFixed(2)} | ` +
        `${it.loadedRss.toFixed(1)} | ${(it.loadedRss - bare.loadedRss).toFixed(1)} |`,
    );
  }
  const against = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? "(no lightship)" : (ours / theirs).toFixed(2);
  console.log(
    "\n| the library's program | added RSS × lightship's (goal ≤ 0.25) " +
      "| added start-up × lightship's (goal ≤ 0.25) | requests/s × bare (goal ≥ 0.9) " +
      "| CPU per request × bare | added RSS after the runs × lightship's |",
  );
  console.log(`|${" --- |".repeat(1)}${" ---: |".repeat(5)}`);
  for (const program of PROGRAMS.slice(1, 3)) {
    const it = row(program);
    if (!it) continue;
    console.log(
      `| ${program.label} | ${
        against(it.rss - bare.rss, lightship && lightship.rss - bare.rss)
      } | ` +
        `${against(it.ms - bare.ms, lightship && lightship.ms - bare.ms)} | ` +
        `${(it.rps / bare.rps).toFixed(2)} | ${(it.cpu / bare.cpu).toFixed(2)} | ` +
        `${
          against(it.loadedRss - bare.loadedRss, lightship && lightship.loadedRss - bare.loadedRss)
        } |`,
    );
  }
}
console.log(`\nLoad average at the end: ${loadavg()[0].toFixed(1)}`);

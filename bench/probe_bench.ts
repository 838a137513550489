/**
 * What one probe costs, measured side by side in one run: wall time, peak
 * memory and processes started per call, for `probe.sh`, the
 * `liveness-probe` command on each runtime, and the seed-style probe
 * (`bench/seed_probe.sh`) as the baseline, beside each runtime starting with
 * an empty script (what the command itself adds is the difference). Also the
 * in-process `probe()`.
 *
 * Node and Bun run the npm build's command (`npm/src/probe_cli.js`, one
 * bundled module); Deno runs it too, as the container images do, and the
 * sources, as `deno task probe` and `jsr:@cic/liveness/probe` do. Deno's
 * empty script runs both in a temporary directory and inside the repository
 * (`bench/_empty.ts`, where Deno finds the repository's `deno.json`,
 * `package.json` and `node_modules`, as for the sources): the goal is
 * measured against the first, and the second shows what finding them costs.
 *
 * Run: `deno run --allow-all bench/probe_bench.ts [rounds]` (after `npm install`).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { createLiveness, probe } from "../mod.ts";

const rounds = Number(process.argv[2] ?? 40);
const rundir = mkdtempSync(`${tmpdir()}/liveness-bench-`);
const unit = "bench";
// The bench blocks its event loop in spawnSync: a heartbeat of an hour keeps it fresh.
const liveness = createLiveness({ unit, rundir, heartbeat: { manual: true, maxAge: 3_600_000 } });
await liveness.load([]);
liveness.set(0);

// The command as the package ships it, built now: an older build would be measured otherwise.
const build = spawnSync(
  "node_modules/.bin/deno",
  ["run", "-A", "scripts/build_npm.ts", "0.0.0", "--no-test"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (build.status !== 0) throw new Error("Cannot build npm/: scripts/build_npm.ts failed");
const flags = ["--unit", unit, "--rundir", rundir];
// A unit with every file a 0.2 writer keeps: a heartbeat (fresh for an hour) and readiness.
const full = "bench-full";
mkdirSync(`${rundir}/${full}`);
for (const name of ["pid", "starttime", "error"]) {
  writeFileSync(`${rundir}/${full}/${name}`, readFileSync(`${rundir}/${unit}/${name}`));
}
const [uptime] = readFileSync("/proc/uptime", "utf8").split(" ");
const starttime = readFileSync(`${rundir}/${unit}/starttime`, "utf8").trim();
writeFileSync(`${rundir}/${full}/heartbeat`, `${uptime} 3600000 ${process.pid} ${starttime}\n`);
writeFileSync(`${rundir}/${full}/ready`, "ready\n");
const fullFlags = ["--unit", full, "--rundir", rundir, "--ready"];
// Each command sits beside its runtime starting an empty script: the difference is the command's.
const emptyScript = `${rundir}/empty.ts`;
writeFileSync(emptyScript, "");
const emptyJs = `${rundir}/empty.mjs`;
writeFileSync(emptyJs, "");
const node20 = "node";
const nodeLts = "node_modules/node/bin/node";
const bun = "node_modules/.bin/bun";
const deno = "node_modules/.bin/deno";
const candidates: { name: string; command: string[] }[] = [
  { name: "seed-style probe (bash + cat)", command: ["bash", "bench/seed_probe.sh"] },
  { name: "probe.sh", command: ["./probe.sh", ...flags] }, // as a probe runs it: its shebang
  {
    name: "probe.sh --ready, with heartbeat and ready files",
    command: ["./probe.sh", ...fullFlags],
  },
  { name: "liveness-probe, Node 20", command: [node20, "npm/src/probe_cli.js", ...flags] },
  { name: "(Node 20 starting, empty script)", command: [node20, emptyJs] },
  { name: "liveness-probe, Node LTS", command: [nodeLts, "npm/src/probe_cli.js", ...flags] },
  { name: "(Node LTS starting, empty script)", command: [nodeLts, emptyJs] },
  { name: "liveness-probe, Bun", command: [bun, "npm/src/probe_cli.js", ...flags] },
  { name: "(Bun starting, empty script)", command: [bun, emptyJs] },
  {
    name: "liveness-probe, Deno (deno task probe)",
    command: [deno, "run", "--allow-all", "src/probe_cli.ts", ...flags],
  },
  {
    name: "liveness-probe, Deno (npm build)",
    command: [deno, "run", "--allow-all", "npm/src/probe_cli.js", ...flags],
  },
  { name: "(Deno starting, empty script)", command: [deno, "run", "--allow-all", emptyScript] },
  {
    name: "(Deno starting, empty script in the repository)",
    command: [deno, "run", "--allow-all", "bench/_empty.ts"],
  },
];
const env = { ...process.env, CIC_RUNDIR: rundir, CIC_UNIT: unit };

function runOnce(command: string[]): number {
  const start = performance.now();
  const result = spawnSync(command[0], command.slice(1), { env, stdio: "pipe" });
  const elapsed = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`${command.join(" ")} said unhealthy: ${result.stdout}${result.stderr}`);
  }
  return elapsed;
}

/** Peak resident memory of one call, in KiB, from GNU time. */
function peakMemory(command: string[]): number {
  const result = spawnSync("/usr/bin/time", ["-f", "%M", ...command], { env, encoding: "utf8" });
  return Number(result.stderr.trim().split("\n").at(-1));
}

/** How many programs one call executes, from strace. */
function processesStarted(command: string[]): number {
  const log = `${rundir}/strace.log`;
  spawnSync("strace", ["-f", "-qq", "-e", "trace=execve", "-o", log, ...command], { env });
  return readFileSync(log, "utf8").split("\n").filter((line) => / execve\(/.test(line)).length;
}

// Rounds go through every candidate in turn, so load on the machine falls on all alike.
const times = candidates.map(() => [] as number[]);
for (const { command } of candidates) runOnce(command); // warm the caches
for (let round = 0; round < rounds; round++) {
  for (const [index, { command }] of candidates.entries()) times[index].push(runOnce(command));
}
const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];
const rows = candidates.map(({ name, command }, index) => ({
  name,
  ms: median(times[index]),
  kib: median([1, 2, 3].map(() => peakMemory(command))),
  execs: processesStarted(command),
}));

const [base] = rows;
console.log(
  `\nOne healthy probe, median of ${rounds} rounds (ratios: against the seed-style probe)\n`,
);
console.log("| probe | ms per call | × time | peak RSS MiB | × memory | programs executed |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  console.log(
    `| ${row.name} | ${row.ms.toFixed(2)} | ${(row.ms / base.ms).toFixed(2)} | ${
      (row.kib / 1024).toFixed(1)
    } | ${(row.kib / base.kib).toFixed(2)} | ${row.execs} |`,
  );
}

// What each command adds to its runtime starting, and probe.sh's extra checks: the goals.
const ratio = (name: string, base: string) =>
  rows.find((row) => row.name === name)!.ms / rows.find((row) => row.name === base)!.ms;
console.log("\n| what | × time | goal |");
console.log("| --- | ---: | ---: |");
for (
  const [name, base, goal] of [
    ["probe.sh --ready, with heartbeat and ready files", "probe.sh", 1.1],
    ["liveness-probe, Node 20", "(Node 20 starting, empty script)", 1.15],
    ["liveness-probe, Node LTS", "(Node LTS starting, empty script)", 1.15],
    ["liveness-probe, Bun", "(Bun starting, empty script)", 1.7],
    ["liveness-probe, Deno (deno task probe)", "(Deno starting, empty script)", 1.15],
    ["liveness-probe, Deno (npm build)", "(Deno starting, empty script)", 1.15],
    [
      "liveness-probe, Deno (deno task probe)",
      "(Deno starting, empty script in the repository)",
      undefined,
    ],
    [
      "liveness-probe, Deno (npm build)",
      "(Deno starting, empty script in the repository)",
      undefined,
    ],
  ] as const
) {
  console.log(`| ${name} against ${base} | ${ratio(name, base).toFixed(2)} | ${goal ?? ""} |`);
}

const calls = 20_000;
const start = performance.now();
for (let i = 0; i < calls; i++) probe({ unit, rundir });
console.log(
  `\nprobe() in-process: ${((performance.now() - start) * 1000 / calls).toFixed(1)} µs per call`,
);

liveness.reset();
rmSync(rundir, { recursive: true });

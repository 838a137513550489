/**
 * What members cost `probe.sh` (and `probe()`), measured side by side in one
 * run: a lone unit (pid, starttime, error, a heartbeat and ready, probed
 * with `--ready`), and the same unit with 16 members, as threads of its
 * process (their files and one `/proc` read each) and as processes of their
 * own (16 sleepers: a `/proc` read each). The goal: 16 members cost at
 * most twice a lone unit. Rounds go through the three in turn, so load on
 * the machine falls on all alike; the medians are compared, of the wall
 * time and of the processor time (which a busy machine's load leaves alone).
 *
 * Run: `deno run --allow-all bench/members_bench.ts [rounds]`.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { probe } from "../mod.ts";

const rounds = Number(process.argv[2] ?? 15);
const BATCH = 10;
const MEMBERS = 16;
const rundir = mkdtempSync(`${tmpdir()}/liveness-members-bench-`);
const [uptime] = readFileSync("/proc/uptime", "utf8").split(" ");

function starttimeOf(path: string): string {
  const stat = readFileSync(path, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}
const pid = process.pid;
const starttime = starttimeOf(`/proc/${pid}/stat`);

/** A unit of this process; its members' lines from `member(i)`, none without. */
function unit(name: string, member?: (index: number) => string): void {
  const dir = `${rundir}/${name}`;
  mkdirSync(dir);
  writeFileSync(`${dir}/pid`, `${pid}\n`);
  writeFileSync(`${dir}/starttime`, `${starttime}\n`);
  writeFileSync(`${dir}/error`, "0\n");
  writeFileSync(`${dir}/heartbeat`, `${uptime} 3600000 ${pid} ${starttime}\n`);
  writeFileSync(`${dir}/ready`, "ready\n");
  if (!member) return;
  const ids = Array.from({ length: MEMBERS }, (_, index) => String(index + 1));
  writeFileSync(`${dir}/members`, `${ids.join(" ")}\n`);
  for (const [index, id] of ids.entries()) writeFileSync(`${dir}/member.${id}`, member(index));
}

// This process's main thread stands for each thread member: the same reads as another thread's
// (a runtime's pool threads come and go).
const sleepers: ChildProcess[] = Array.from(
  { length: MEMBERS },
  () => spawn("sleep", ["3600"], { stdio: "ignore" }),
);
await new Promise((resolve) => setTimeout(resolve, 200));

unit("lone");
unit("threads", () => {
  const token = `${pid}.${starttimeOf(`/proc/${pid}/task/${pid}/stat`)}`;
  return `${pid} ${starttime} ${token} 0 ${uptime} 3600000 ready\n`;
});
unit("processes", (index) => {
  const member = sleepers[index].pid!;
  return `${member} ${starttimeOf(`/proc/${member}/stat`)} - 0 ${uptime} 3600000 ready\n`;
});

const candidates = ["lone", "threads", "processes"].map((name) => ({
  name,
  command: ["./probe.sh", "--unit", name, "--rundir", rundir, "--ready"],
}));

/**
 * One batch of `BATCH` calls of `command`, run by one bash: the wall time and
 * the processor time (user and system, of every process the batch ran) per
 * call, in ms. Processor time is what a busy machine's load leaves alone.
 */
function runBatch(command: string[]): { wall: number; cpu: number } {
  const line = command.map((word) => `'${word}'`).join(" ");
  const script = `for ((i = 0; i < ${BATCH}; i++)); do ${line} >/dev/null || exit 1; done`;
  const result = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "bash", "-c", script], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`${line} said unhealthy: ${result.stderr}`);
  const [wall, user, system] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { wall: (wall * 1000) / BATCH, cpu: ((user + system) * 1000) / BATCH };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

try {
  const times = candidates.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (const { command } of candidates) runBatch(command); // warm the caches
  for (let round = 0; round < rounds; round++) {
    for (const [index, { command }] of candidates.entries()) {
      const { wall, cpu } = runBatch(command);
      times[index].wall.push(wall);
      times[index].cpu.push(cpu);
    }
  }
  const apiTimes = candidates.map(({ name }) => {
    const samples: number[] = [];
    for (let round = 0; round < rounds * 10; round++) {
      const start = performance.now();
      if (!probe({ unit: name, rundir, ready: true }).healthy) {
        throw new Error(`${name}: unhealthy`);
      }
      samples.push(performance.now() - start);
    }
    return median(samples);
  });
  const lone = { wall: median(times[0].wall), cpu: median(times[0].cpu) };
  console.log(
    `probe.sh --ready, ${rounds} rounds of ${BATCH} calls, medians per call ` +
      "(16 members each but the lone unit):",
  );
  for (const [index, { name }] of candidates.entries()) {
    const wall = median(times[index].wall);
    const cpu = median(times[index].cpu);
    console.log(
      `  ${name.padEnd(10)} probe.sh wall ${wall.toFixed(1).padStart(5)} ms (${
        (wall / lone.wall).toFixed(2)
      }x), processor ${cpu.toFixed(1).padStart(5)} ms (${(cpu / lone.cpu).toFixed(2)}x);` +
        `  probe() ${apiTimes[index].toFixed(3)} ms`,
    );
  }
} finally {
  for (const sleeper of sleepers) sleeper.kill();
  rmSync(rundir, { recursive: true, force: true });
}

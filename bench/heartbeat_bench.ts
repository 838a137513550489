/**
 * The heartbeat as it is lived: a healthy program on each runtime, probed
 * ten times a second for a minute beside two busy processes (the two cores
 * of this machine taken), must never read stale; then each program hangs
 * (`for (;;)`) and the time until every probe says stale is measured,
 * against its bound: max age + one interval.
 *
 * Run: `deno run --allow-all bench/heartbeat_bench.ts [seconds]` (after `npm install`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { probe } from "../mod.ts";
import { LineChild, type RuntimeName } from "../tests/_runtimes.ts";

const seconds = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 60);
const heartbeat = { interval: 1000, maxAge: 10_000 };
const service = fileURLToPath(new URL("../tests/fixtures/service.ts", import.meta.url));
const runtimes: RuntimeName[] = ["deno", "bun", "node"];
const rundir = mkdtempSync(`${tmpdir()}/liveness-heartbeat-`);

const children = runtimes.map((runtime) =>
  new LineChild(runtime, service, [`${rundir}/${runtime}`, "api", JSON.stringify({ heartbeat })])
);
const busy = [0, 1].map(() =>
  spawn(process.platform === "linux" ? "bash" : "sh", ["-c", "while :; do :; done"], {
    stdio: "ignore",
  })
);
try {
  await Promise.all(children.map((child) => child.next((line) => line === "ready")));
  const stale = new Map(runtimes.map((runtime) => [runtime, 0]));
  let probes = 0;
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    for (const runtime of runtimes) {
      const { status } = probe({ unit: "api", rundir: `${rundir}/${runtime}` });
      if (status !== "healthy") stale.set(runtime, stale.get(runtime)! + 1);
    }
    probes++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const hung = Date.now();
  for (const child of children) child.send("hang");
  const detected = new Map<RuntimeName, number>();
  while (detected.size < runtimes.length && Date.now() - hung < 60_000) {
    for (const runtime of runtimes) {
      if (detected.has(runtime)) continue;
      if (probe({ unit: "api", rundir: `${rundir}/${runtime}` }).status === "stale") {
        detected.set(runtime, Date.now() - hung);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log(
    `\nHeartbeat ${heartbeat.interval} ms, max age ${heartbeat.maxAge} ms; ${probes} rounds of probes over ${seconds} s beside two busy processes\n`,
  );
  console.log(
    "| runtime | unhealthy verdicts while healthy | hang to stale, ms | bound (max age + interval), ms | × bound |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const bound = heartbeat.maxAge + heartbeat.interval;
  for (const runtime of runtimes) {
    const ms = detected.get(runtime);
    console.log(
      `| ${runtime} | ${stale.get(runtime)} of ${probes} | ${ms ?? "never"} | ${bound} | ${
        ms === undefined ? "-" : (ms / bound).toFixed(2)
      } |`,
    );
  }
} finally {
  for (const process of busy) process.kill("SIGKILL");
  await Promise.all(children.map((child) => child.stop()));
  rmSync(rundir, { recursive: true, force: true });
}

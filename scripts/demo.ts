/**
 * `npm run demo`: the whole life cycle of a unit on a temporary rundir, with
 * the state files and the verdicts of both probes (the TypeScript `probe()`
 * and `probe.sh`) after each step.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { createLiveness, HealthCheckError, probe } from "../mod.ts";

const rundir = mkdtempSync(`${tmpdir()}/liveness-demo-`);
const unit = "api";
const liveness = createLiveness({ unit, rundir });
const probeScript = fileURLToPath(new URL("../probe.sh", import.meta.url));

function show(step: string): void {
  const entries = existsSync(liveness.dir)
    ? readdirSync(liveness.dir, { withFileTypes: true })
    : [];
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) =>
      `${entry.name}=${readFileSync(`${liveness.dir}/${entry.name}`, "utf8").trim()}`
    );
  const shell = spawnSync("bash", [probeScript, "--unit", unit, "--rundir", rundir], {
    encoding: "utf8",
  });
  const live = probe({ unit, rundir });
  const ready = probe({ unit, rundir, ready: true });
  console.log(`\n${step}`);
  console.log(`  files:          ${files.join("  ") || "(none)"}`);
  console.log(`  probe():        ${live.healthy ? "healthy  " : "UNHEALTHY"} ${live.reason}`);
  console.log(`  probe.sh:       exit ${shell.status}     ${shell.stdout.trim()}`);
  console.log(`  ready probe():  ${ready.healthy ? "ready    " : "NOT READY"} ${ready.reason}`);
}

console.log(`rundir ${rundir}, unit ${unit}: the state is in ${liveness.dir}`);
show("before load(): no state");
try {
  await createLiveness({ unit, rundir }).load([() => true, function cacheIsWarm() {
    return false;
  }]);
} catch (error) {
  if (!(error instanceof HealthCheckError)) throw error;
  console.log(`\nawait load([..., cacheIsWarm]) fails:\n  ${error.message}`);
}
await liveness.load([() => true]);
show("await load([check]): the checks passed, the pid is written; not healthy before set(0)");
liveness.set(0);
show("set(0): the main routine runs: healthy (and ready: load() records ready)");
liveness.ready(false, "warming");
show('ready(false, "warming"): live, but no traffic: the readiness probe fails, liveness holds');
liveness.ready(true);
show("ready(true): ready");
liveness.set(3);
show("set(3): something is wrong: unhealthy, so not ready either");
liveness.set(0);
show("set(0): recovered");
liveness.onShutdown(() => show("shutdown(): the handler runs while the unit drains"));
await liveness.shutdown({ drain: 0 });
show("shutdown() done: close() removed the state");

// A program whose work stalls while its event loop turns: manual beats.
const worker = createLiveness({
  unit,
  rundir,
  heartbeat: { manual: true, maxAge: 300 },
});
await worker.load([]);
worker.set(0);
await new Promise((resolve) => setTimeout(resolve, 500));
show("a worker with manual beats (max age 0.3 s) that has not beaten for 0.5 s: stale");
worker.beat();
show("beat(): its work progresses again");
await worker.close();

// Another process of the same unit that dies without reset(): its state stays,
// and the probes see that nobody runs it.
const crashing = `import { createLiveness } from ${
  JSON.stringify(new URL("../mod.ts", import.meta.url).href)
};
const liveness = createLiveness({ unit: ${JSON.stringify(unit)}, rundir: ${
  JSON.stringify(rundir)
} });
await liveness.load([]);
liveness.set(0);`;
spawnSync(process.execPath, ["eval", crashing], { stdio: "inherit" });
show("a process loads, sets 0 and dies without reset(): its pid is gone");
rmSync(rundir, { recursive: true });

/**
 * The clocks: the heartbeat's time since boot never runs ahead of
 * `/proc/uptime` (also where only a coarse clock can be read: Deno with its
 * narrow permissions), and a wait is timed by a monotonic clock, which a
 * wall clock stepped back does not stretch.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { probe, StateError } from "../mod.ts";
import { type FloorTimers, UptimeFloor } from "../src/_clock.ts";
import { withUnitLock } from "../src/_lock.ts";
import { type DenoNamespace, denoRuntime } from "../src/runtime/_deno.ts";
import { bunRuntime } from "../src/runtime/_bun.ts";
import type { NodeProcess } from "../src/runtime/_node.ts";
import { runtime } from "../src/runtime/_current.ts";
import { UnitDirectory } from "../src/_state.ts";
import { extension, uptime } from "./_env.ts";
import { PROBE_CLI, PROBE_SH, runtimeCommand, withTempDir } from "./_helpers.ts";
import { commandFor } from "./_runtimes.ts";
import { kill, sleeper, startTime } from "./_subjects.ts";

const MOD = new URL(`../mod${extension}`, import.meta.url).href;

// --- the coarse clock made precise ---------------------------------------------------

/**
 * A machine on a simulated clock: the true uptime (ms), a monotonic clock
 * that stops while suspended, and a coarse reading in whole seconds rounded
 * up, one second taken off (what Deno's runtime gives).
 */
function simulated(bootOffsetMs: number) {
  let monotonic = 0;
  let slept = 0;
  const timers: { at: number; poll: () => void }[] = [];
  const trueUptime = () => bootOffsetMs + monotonic + slept;
  const clock: FloorTimers = {
    now: () => monotonic,
    later: (poll, ms) => void timers.push({ at: monotonic + ms, poll }),
  };
  const floor = new UptimeFloor(() => Math.ceil(trueUptime() / 1000) - 1, clock);
  return {
    floor,
    trueUptime,
    pending: () => timers.length,
    /** Lets `ms` pass (1 ms at a time), running the polls due; each read is checked. */
    run(ms: number, each: () => void = () => {}) {
      for (const end = monotonic + ms; monotonic < end;) {
        monotonic += 1;
        for (const timer of timers.splice(0).sort((a, b) => a.at - b.at)) {
          if (timer.at <= monotonic) timer.poll();
          else timers.push(timer);
        }
        each();
      }
    },
    suspend(ms: number) {
      slept += ms;
    },
  };
}

test("a coarse uptime is never ahead, and tight within a poll once its tick was seen", () => {
  // 0.9 s past a whole second: the first reading lags 0.9 s.
  for (const offset of [123_900, 123_000, 123_001, 123_500, 123_999]) {
    const machine = simulated(offset);
    const check = () => {
      const floor = machine.floor.read()!;
      assert.ok(floor <= machine.trueUptime(), `${floor} ahead of ${machine.trueUptime()}`);
      return machine.trueUptime() - floor;
    };
    assert.ok(check() <= 1000, "a second at most at first");
    machine.run(1_500, check);
    assert.equal(machine.pending(), 0, "the polls stop");
    assert.ok(check() <= 10, `lag ${check()} ms after the tick was seen (offset ${offset})`);
    machine.run(60_000);
    assert.ok(check() <= 10, "carried forward by the monotonic clock");
    assert.equal(machine.pending(), 0, "no poll while the floor holds");

    machine.suspend(30_000);
    assert.ok(check() <= 1000, "after a suspend: one reading brings it within a second");
    assert.ok(machine.pending() > 0, "and the polls start again");
    machine.run(1_500, check);
    assert.ok(check() <= 10, "tight again");
  }
});

test("Deno's and Bun's whole seconds rounded up are taken one second down", () => {
  const deno = denoRuntime({ osUptime: () => 1234 } as unknown as DenoNamespace);
  assert.equal(deno.osUptime(), 1233);
  const bun = bunRuntime({
    getBuiltinModule: () => ({ uptime: () => 1234 }),
  } as unknown as NodeProcess);
  assert.equal(bun.osUptime(), 1233);
  const refused = denoRuntime({
    osUptime: () => {
      throw Object.assign(new Error("Requires sys access"), { name: "NotCapable" });
    },
  } as unknown as DenoNamespace);
  assert.equal(refused.osUptime(), undefined, "no clock without --allow-sys=osUptime");
});

/** Runs `args` (a command and its arguments); its exit code and line. */
function run([command, ...args]: readonly string[]): { code: number | null; line: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (result.error) throw result.error;
  return { code: result.status, line: result.stdout };
}

test("Deno with the README's narrow permissions writes no heartbeat from the future", {
  timeout: 180_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const script = `${rundir}/narrow${extension}`;
    writeFileSync(
      script,
      `import { createLiveness } from ${JSON.stringify(MOD)};
const liveness = createLiveness({
  unit: "api",
  rundir: ${JSON.stringify(rundir)},
  heartbeat: { interval: 20, maxAge: 10_000 },
  procfs: "ignore",
});
await liveness.load([]);
liveness.set(0);
console.log("ready");
setInterval(() => {}, 60_000);
`,
    );
    const [deno] = commandFor("deno", "");
    // As the README's table of Deno permissions says: the rundir, and osUptime for the heartbeat.
    const child = spawn(deno, [
      "run",
      `--allow-read=${rundir}`,
      `--allow-write=${rundir}`,
      "--allow-sys=osUptime",
      script,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no ready within 60 s")), 60_000);
        child.on("exit", (code) => reject(new Error(`the program exited with ${code}`)));
        child.stdout!.on("data", (chunk) => {
          if (String(chunk).includes("ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const beat = readFileSync(`${rundir}/api/heartbeat`, "utf8");
      assert.match(beat, new RegExp(`^\\d+\\.\\d\\d 10000 ${child.pid} -\\n$`), "a heartbeat");
      const seen: string[] = [];
      for (let i = 0; i < 300; i++) {
        const result = probe({ unit: "api", rundir });
        if (!result.healthy) seen.push(`probe(): ${result.reason}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const args = ["--unit", "api", "--rundir", rundir];
      const [command, base] = runtimeCommand(PROBE_CLI);
      for (let i = 0; i < 40; i++) {
        const commands = [
          [PROBE_SH, ...args],
          ...(i % 8 === 0 ? [[command, ...base, ...args]] : []),
        ];
        for (const line of commands) {
          const { code, line: said } = run(line);
          if (code !== 0) seen.push(`${line[0]}: ${said.trim()}`);
        }
      }
      assert.equal(
        seen.length,
        0,
        `${seen.length} probes of 345 read the unit unhealthy: ${seen.slice(0, 3).join("; ")}`,
      );
      const [at] = readFileSync(`${rundir}/api/heartbeat`, "utf8").split(" ");
      assert.ok(Math.round(Number(at) * 100) <= uptime(), "the last beat is not ahead");
    } finally {
      await kill(child);
    }
  });
});

// --- the lock's wait ----------------------------------------------------------------

test("a wall clock stepped back an hour does not stretch the lock's wait", {
  timeout: 60_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const live = sleeper();
    const directory = UnitDirectory.open(runtime, `${rundir}/api`, true);
    const realNow = Date.now;
    try {
      // A lock held by a live process: load() waits its 2 s, then gives up.
      const lock = `${directory.path}/.lock`;
      mkdirSync(lock);
      writeFileSync(`${lock}/owner.${live.pid}.${live.starttime}`, "");
      let calls = 0;
      // From the second reading on, the wall clock reads an hour earlier (NTP stepping it back).
      Date.now = () => realNow() - (calls++ > 0 ? 3_600_000 : 0);
      const me = { pid: process.pid, starttime: startTime(process.pid) };
      let hung: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        withUnitLock(directory, me, () => "ran").then(
          (value) => ({ value }),
          (error) => ({ error }),
        ),
        new Promise((resolve) => hung = setTimeout(() => resolve("still waiting"), 20_000)),
      ]);
      clearTimeout(hung);
      assert.notEqual(outcome, "still waiting", "the wait ended within its 2 s, not an hour");
      const { error } = outcome as { error: unknown };
      assert.ok(error instanceof StateError, String(error));
      assert.equal(error.code, "EBUSY");
      assert.match(error.message, /held by process \d+ for more than 2000 ms/);
    } finally {
      Date.now = realNow;
      directory.close();
      await live.stop();
    }
  });
});

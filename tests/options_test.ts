/**
 * The limits of the options: a heartbeat the probes can read and a timer
 * that waits as long as asked.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLiveness, probe } from "../mod.ts";
import { MAX_TIMER_MS } from "../src/_clock.ts";
import { formatHeartbeat, HEARTBEAT_MAX_AGE_LIMIT, parseHeartbeat } from "../src/_verdict.ts";
import { readState, runtimeCommand, startTime, withTempDir } from "./_helpers.ts";

const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const PROBE_SH = fileURLToPath(new URL("../probe.sh", import.meta.url));
const CLI = fileURLToPath(new URL(`../src/probe_cli${extension}`, import.meta.url));
const me = { pid: process.pid, starttime: startTime(process.pid) };

/** What `probe.sh` and the `liveness-probe` command say of `unit` in `rundir`: code and line each. */
function commands(rundir: string, unit = "api"): string[] {
  const [command, base] = runtimeCommand(CLI);
  return [[PROBE_SH], [command, ...base]].map(([file, ...args]) => {
    const result = spawnSync(file, [...args, "--unit", unit, "--rundir", rundir], {
      encoding: "utf8",
      timeout: 30_000,
    });
    if (result.error) throw result.error;
    return `${result.status} ${result.stdout}`;
  });
}

// --- the heartbeat's limits ---------------------------------------------------------

test("heartbeat.interval is at most the longest a timer waits, maxAge the most the probes read", async () => {
  await withTempDir(async (rundir) => {
    const bad: [object, RegExp][] = [
      [
        { interval: MAX_TIMER_MS + 1 },
        /^Cannot create the unit: heartbeat\.interval must be a whole number of milliseconds from 1 to 2147483647 \(the longest a timer waits\), got 2147483648\.$/,
      ],
      [{ interval: "1000" }, /heartbeat\.interval .* got "1000"\.$/],
      [
        { interval: 1000, maxAge: HEARTBEAT_MAX_AGE_LIMIT + 1 },
        /heartbeat\.maxAge .* at most 9999999999999 \(the most the probes read\), got 10000000000000\.$/,
      ],
      [{ manual: true, maxAge: HEARTBEAT_MAX_AGE_LIMIT + 1 }, /at most 9999999999999/],
      [{ manual: true, maxAge: 1e300 }, /at most 9999999999999 .* got 1e\+300\.$/],
    ];
    for (const [heartbeat, message] of bad) {
      assert.throws(
        () => createLiveness({ unit: "api", rundir, heartbeat }),
        (error: Error) => error instanceof TypeError && message.test(error.message),
        JSON.stringify(heartbeat),
      );
    }
    for (
      const heartbeat of [
        { interval: MAX_TIMER_MS },
        { interval: MAX_TIMER_MS, maxAge: HEARTBEAT_MAX_AGE_LIMIT },
        { manual: true, maxAge: HEARTBEAT_MAX_AGE_LIMIT },
      ]
    ) {
      await createLiveness({ unit: "api", rundir, heartbeat }).close();
    }
  });
});

test("the heartbeat's max age limit is exactly what every probe reads", async () => {
  const beat = { at: 12345, pid: me.pid, starttime: me.starttime };
  assert.ok(parseHeartbeat(formatHeartbeat({ ...beat, maxAge: HEARTBEAT_MAX_AGE_LIMIT })));
  assert.equal(
    parseHeartbeat(formatHeartbeat({ ...beat, maxAge: HEARTBEAT_MAX_AGE_LIMIT + 1 })),
    undefined,
  );
  await withTempDir((rundir) => {
    for (
      const [unit, maxAge] of [["limit", HEARTBEAT_MAX_AGE_LIMIT], [
        "past",
        HEARTBEAT_MAX_AGE_LIMIT + 1,
      ]]
    ) {
      const dir = `${rundir}/${unit}`;
      mkdirSync(dir);
      writeFileSync(`${dir}/pid`, `${me.pid}\n`);
      writeFileSync(`${dir}/starttime`, `${me.starttime}\n`);
      writeFileSync(`${dir}/error`, "0\n");
      writeFileSync(`${dir}/heartbeat`, `1.00 ${maxAge} ${me.pid} ${me.starttime}\n`);
    }
    const healthy = `0 unit limit: healthy (pid ${me.pid})\n`;
    assert.deepEqual(commands(rundir, "limit"), [healthy, healthy]);
    const invalid = "1 unit past: heartbeat file is not valid\n";
    assert.deepEqual(commands(rundir, "past"), [invalid, invalid]);
    assert.equal(probe({ unit: "limit", rundir }).status, "healthy");
    assert.equal(probe({ unit: "past", rundir }).status, "bad-heartbeat");
  });
});

test("a unit at the limits beats, and every probe reads it healthy", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: { interval: MAX_TIMER_MS, maxAge: HEARTBEAT_MAX_AGE_LIMIT },
    });
    try {
      await liveness.load([]);
      liveness.set(0);
      assert.match(
        readState(liveness.dir).heartbeat,
        new RegExp(`^\\d+\\.\\d\\d 9999999999999 ${me.pid} ${me.starttime}\\n$`),
      );
      const healthy = `0 unit api: healthy (pid ${me.pid})\n`;
      assert.deepEqual(commands(rundir), [healthy, healthy]);
      assert.equal(probe({ unit: "api", rundir }).status, "healthy");
    } finally {
      await liveness.close();
    }
  });
});

/**
 * The limits of the options: a heartbeat the probes can read and a timer
 * that waits as long as asked, and `probe()`'s options checked like every
 * other entry point's.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { createLiveness, probe, type ProbeOptions } from "../mod.ts";
import { MAX_TIMER_MS } from "../src/_clock.ts";
import { formatHeartbeat, HEARTBEAT_MAX_AGE_LIMIT, parseHeartbeat } from "../src/_verdict.ts";
import { PROBE_CLI, PROBE_SH, readState, runtimeCommand, withTempDir } from "./_helpers.ts";
import { startTime } from "./_subjects.ts";
const me = { pid: process.pid, starttime: startTime(process.pid) };

/** What `probe.sh` and the `liveness-probe` command say of `unit` in `rundir`: code and line each. */
function commands(rundir: string, unit = "api"): string[] {
  const [command, base] = runtimeCommand(PROBE_CLI);
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
        /^Cannot create the unit: heartbeat\.interval must be a whole number of milliseconds from 1 to 2147483647 \(the longest a timer waits\), got 2147483648$/,
      ],
      [{ interval: "1000" }, /heartbeat\.interval .* got "1000"$/],
      [
        { interval: 1000, maxAge: HEARTBEAT_MAX_AGE_LIMIT + 1 },
        /heartbeat\.maxAge .* at most 9999999999999 \(the most the probes read\), got 10000000000000$/,
      ],
      [{ manual: true, maxAge: HEARTBEAT_MAX_AGE_LIMIT + 1 }, /at most 9999999999999/],
      [{ manual: true, maxAge: 1e300 }, /at most 9999999999999 .* got 1e\+300$/],
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

// --- probe()'s options -------------------------------------------------------------

test("probe() refuses unknown and wrong-typed options, naming them", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    try {
      await liveness.load([]);
      liveness.set(0);
      liveness.ready(false, "warming");
      assert.equal(probe({ unit: "api", rundir, ready: true }).status, "not-ready");
      const bad: [unknown, RegExp][] = [
        [
          { unit: "api", rundir, redy: true },
          /^Cannot call probe\(\): unknown option "redy" \(did you mean "ready"\?\); the options are "unit", "rundir", "ready" and "maxAge"$/,
        ],
        [
          { unit: "api", rundir, maxage: 10 },
          /unknown option "maxage" \(did you mean "maxAge"\?\)/,
        ],
        [
          { unit: "api", rundir, ready: "yes" },
          /^Cannot call probe\(\): options\.ready must be true or false, got "yes"$/,
        ],
        [{ unit: "api", rundir, ready: 1 }, /options\.ready must be true or false, got 1$/],
        [
          { unit: "api", rundir, maxAge: "10" },
          /^Cannot call probe\(\): options\.maxAge must be a positive whole number of milliseconds, got "10"$/,
        ],
        [{ unit: "api", rundir, maxAge: 10n }, /options\.maxAge .* got 10n$/],
        [{ unit: "api", rundir, maxAge: {} }, /options\.maxAge .* got an object$/],
        [null, /^Cannot call probe\(\): its options must be an object, got null$/],
        ["api", /its options must be an object, got "api"$/],
      ];
      for (const [options, message] of bad) {
        assert.throws(
          () => probe(options as ProbeOptions),
          (error: Error) => error instanceof TypeError && message.test(error.message),
          String(message),
        );
      }
      // The location stays a verdict, as documented: never an exception, never healthy.
      const result = probe({ unit: 5, rundir } as unknown as ProbeOptions);
      assert.equal(result.status, "bad-location");
      assert.equal(
        result.reason,
        "invalid unit name from options.unit: must be a string, got number",
      );
    } finally {
      await liveness.close();
    }
  });
});

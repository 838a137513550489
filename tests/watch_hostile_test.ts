/**
 * `watch()` under attack: checks that throw what cannot be shown, checks
 * stopped while the shutdown drains. Each test tries to make a probe say
 * healthy by mistake, make the file probes and HTTP disagree, or crash the
 * program.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { createLiveness, type Liveness, probe } from "../mod.ts";
import { fixture, runtimeCommand, withTempDir } from "./_helpers.ts";
import { verdictOf } from "../src/_unit.ts";

/** Waits until `condition` holds (checked every 5 ms), or fails after 20 s saying `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never: ${what}`);
}

/** A loaded, live owner of unit `api` in `rundir`. */
async function live(rundir: string): Promise<Liveness> {
  const liveness = createLiveness({ unit: "api", rundir });
  await liveness.load([]);
  liveness.set(0);
  return liveness;
}

/** The status of `liveness.fetch` at `path`. */
function status(liveness: Liveness, path: string): number {
  return liveness.fetch(new Request(`http://pod${path}`)).status;
}

test("watch: an error whose message is no string fails the check, never crashes or passes", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    const unshowable = {
      toString: () => {
        throw new Error("no");
      },
    };
    const cases: [unknown, string][] = [
      [Symbol("down"), "Symbol(down)"],
      [42, "42"],
      [unshowable, "threw a value that cannot be shown"],
      [Object.create(null), "threw a value that cannot be shown"],
    ];
    for (const [message, text] of cases) {
      let calls = 0;
      const stop = liveness.watch({
        loop: {
          check: () => {
            calls++;
            throw Object.assign(new Error(), { message });
          },
          kind: "live",
          threshold: 1,
          interval: 5,
        },
      });
      await until(() => calls > 2, "three calls");
      assert.equal(probe({ unit: "api", rundir }).reason, "unit api: error 69", text);
      const answer = liveness.fetch(new Request("http://pod/livez?verbose"));
      assert.equal(answer.status, 503);
      const body = await answer.text();
      assert.ok(body.includes(`\n[-]loop failed: check loop: ${text}, `), body);
      stop();
      assert.equal(probe({ unit: "api", rundir }).healthy, true, "stopped: live again");
    }
    await liveness.close();
  });
});

test("watch: a check stopped during the drain leaves the verdict as it was, in the files and over HTTP", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    const stopLoop = liveness.watch({
      loop: { check: () => false, kind: "live", threshold: 1, interval: 5 },
    });
    liveness.watch({ queue: { check: () => true, kind: "live", interval: 5 } });
    await until(() => !probe({ unit: "api", rundir }).healthy, "not live");
    assert.equal(status(liveness, "/livez"), 503);
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    let stopped = false;
    liveness.onShutdown(async () => {
      stopLoop(); // a handler closing what the check looks at
      stopped = true;
      await held;
    });
    const done = liveness.shutdown({ drain: 0 });
    await until(() => stopped, "the handler ran");
    assert.equal(readFileSync(`${rundir}/api/error`, "utf8"), "69\n");
    assert.equal(probe({ unit: "api", rundir }).reason, "unit api: error 69");
    assert.equal(status(liveness, "/livez"), 503, "HTTP says what the files say");
    release();
    await done;
  });
});

/**
 * A check the test answers call by call: `answer(ok)` settles the call in
 * flight and returns once the next call started, so once `ok` was counted.
 */
function scripted(): { check: () => Promise<boolean>; answer: (ok: boolean) => Promise<void> } {
  let settle: ((ok: boolean) => void) | undefined;
  let calls = 0;
  return {
    check: () => new Promise<boolean>((resolve) => (calls++, settle = resolve)),
    answer: async (ok) => {
      await until(() => settle !== undefined, "a call");
      const [now, before] = [settle!, calls];
      settle = undefined;
      now(ok);
      await until(() => calls > before, "the next call");
    },
  };
}

test("watch: a readiness check that never passed is failing, below its threshold too", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    const { check, answer } = scripted();
    liveness.watch({ db: { check, threshold: 3, interval: 5, timeout: 60_000 } });
    const ready = () => probe({ unit: "api", rundir, ready: true });
    for (const ok of [false, false]) {
      await answer(ok);
      assert.equal(ready().reason, "unit api: not ready (check db: returned false)", "never up");
      assert.equal(status(liveness, "/readyz"), 503);
    }
    await answer(true);
    assert.equal(ready().healthy, true);
    for (const ok of [false, false]) {
      await answer(ok);
      assert.equal(ready().healthy, true, "seen up: fewer failures than its threshold");
    }
    await answer(false);
    assert.equal(ready().reason, "unit api: not ready (check db: returned false)");
    assert.equal(status(liveness, "/readyz"), 503);
    await liveness.close();
  });
});

test("watch: called during the drain, it checks its arguments, starts nothing and throws nothing", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let calls = 0;
    let outcome: unknown;
    liveness.onShutdown(async () => {
      // A pool that connects late adds its check now: the program must not crash in its drain.
      try {
        outcome = liveness.watch({ db: () => (calls++, true) });
      } catch (error) {
        outcome = error;
      }
      assert.throws(() => liveness.watch({ "a b": () => true }), TypeError, "still checked");
      await new Promise((resolve) => setTimeout(resolve, 30));
    });
    const result = await liveness.shutdown({ drain: 0 });
    assert.equal(typeof outcome, "function", String(outcome));
    assert.deepEqual(result.errors, []);
    assert.equal(calls, 0, "a check started during the shutdown");
  });
});

test("watch: in any order of set(), ready() and results, every probe and HTTP say what the checks and the program said", async () => {
  await withTempDir(async (rundir) => {
    // Steps from fast-check with a fixed seed: the same on each run and runtime.
    const step = fc.oneof(
      fc.record({ set: fc.constantFrom(0, 3, 69) }),
      fc.record({ ready: fc.boolean() }),
      fc.record({ check: fc.constantFrom("db", "loop"), ok: fc.boolean() }),
    );
    const runs = fc.sample(
      fc.record({
        thresholds: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        steps: fc.array(step, { minLength: 1, maxLength: 14 }),
      }),
      { seed: 19, numRuns: 25 },
    );
    for (const { thresholds: [db, loop], steps } of runs) {
      const liveness = await live(rundir);
      const scripts = { db: scripted(), loop: scripted() };
      liveness.watch({
        db: { check: scripts.db.check, threshold: db, interval: 1, timeout: 60_000 },
        loop: { check: scripts.loop.check, kind: "live", threshold: loop, interval: 1 },
      }, { timeout: 60_000 });
      // The model: what the program said, each check's failures in a row and whether it passed.
      let [code, said] = [0, true];
      const failures = { db: 0, loop: 0 };
      let passed = false; // db, a readiness check: failing until it first passes
      for (const action of steps) {
        if ("set" in action) liveness.set(code = action.set);
        else if ("ready" in action) liveness.ready(said = action.ready);
        else {
          await scripts[action.check].answer(action.ok);
          failures[action.check] = action.ok ? 0 : failures[action.check] + 1;
          if (action.check === "db") passed ||= action.ok;
        }
        const isLive = code === 0 && failures.loop < loop;
        const isReady = isLive && said && passed && failures.db < db;
        const what = `${JSON.stringify(steps)} [${db}, ${loop}] after ${JSON.stringify(action)}`;
        for (
          const [ready, expected, path] of [[false, isLive, "/livez"], [
            true,
            isReady,
            "/readyz",
          ]] as const
        ) {
          const verdict = probe({ unit: "api", rundir, ready });
          assert.equal(verdict.healthy, expected, `${path} probe(): ${verdict.reason}: ${what}`);
          assert.equal(status(liveness, path), expected ? 200 : 503, `${path} HTTP: ${what}`);
          assert.equal(verdictOf(liveness, ready ? "ready" : "live").status, verdict.status, what);
        }
      }
      await liveness.close();
    }
  });
});

test("watch: a program whose checks still run but that has nothing else to do exits by itself", () => {
  return withTempDir((rundir) => {
    const [command, args] = runtimeCommand(fixture("watch_exit"));
    const result = spawnSync(command, [...args, rundir, "api"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(result.signal, null, "it had to be killed: a timer of watch() held it alive");
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "done\n");
  });
});

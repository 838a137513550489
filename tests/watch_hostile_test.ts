/**
 * `watch()` under attack: checks that throw what cannot be shown, checks
 * stopped while the shutdown drains. Each test tries to make a probe say
 * healthy by mistake, make the file probes and HTTP disagree, or crash the
 * program.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createLiveness, type Liveness, probe } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

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

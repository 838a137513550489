/**
 * The watched checks during the shutdown: liveness holds from its start
 * (the liveness checks stop before the `beforeShutdown` hook), while the
 * readiness checks run on as long as readiness is kept (`readiness:
 * "keep"`), so that a dependency lost during the drain still fails it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLiveness, probe, type ShutdownOptions } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

/** Resolves after `calls()` grew by `more`, or after `ms` if it does not. */
function callsOrTime(calls: () => number, more: number, ms: number): Promise<void> {
  const until = calls() + more;
  return new Promise((resolve) => {
    const started = Date.now();
    const look = setInterval(() => {
      if (calls() < until && Date.now() - started < ms) return;
      clearInterval(look);
      resolve();
    }, 5);
  });
}

for (
  const [what, options] of [
    ["a beforeShutdown hook", {}],
    ['a beforeShutdown hook and readiness: "keep"', { readiness: "keep" }],
  ] as const
) {
  test(`shutdown: with ${what}, a liveness check that fails once it began never fails liveness`, async () => {
    await withTempDir(async (rundir) => {
      const liveness = createLiveness({ unit: "api", rundir, onError: () => {} });
      await liveness.load([]);
      liveness.set(0);
      let open = true;
      let calls = 0;
      liveness.watch({
        queue: { check: () => (calls++, open), kind: "live", threshold: 2, interval: 10 },
      });
      await callsOrTime(() => calls, 1, 1000);
      const seen: string[] = [];
      const look = (when: string) =>
        seen.push(
          `${when}: ${probe({ unit: "api", rundir }).status} ${
            liveness.fetch(new Request("http://pod/livez")).status
          } ${liveness.state.live}`,
        );
      liveness.onShutdown(() => look("handler"));
      const result = await liveness.shutdown({
        drain: 50,
        ...options as ShutdownOptions,
        beforeShutdown: async () => {
          open = false; // the hook closes the queue the check looks at
          await callsOrTime(() => calls, 3, 300); // three failing calls, were it still running
          look("hook");
        },
      });
      assert.deepEqual(seen, ["hook: healthy 200 true", "handler: healthy 200 true"]);
      assert.equal(result.code, 0);
    });
  });
}

test('shutdown: with readiness: "keep", a readiness check still runs through the drain', async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, onError: () => {} });
    await liveness.load([]);
    liveness.set(0);
    let up = true;
    let calls = 0;
    liveness.watch({ db: { check: () => (calls++, up), interval: 10 } });
    await callsOrTime(() => calls, 1, 1000);
    let midDrain: string | undefined;
    const result = await liveness.shutdown({
      drain: 400,
      readiness: "keep",
      beforeShutdown: () => {
        // In the drain: the database goes, and readiness says so while it is kept.
        setTimeout(async () => {
          up = false;
          await callsOrTime(() => calls, 2, 300);
          midDrain = `${probe({ unit: "api", rundir, ready: true }).reason} ${
            liveness.fetch(new Request("http://pod/readyz")).status
          } ${liveness.state.ready} ${probe({ unit: "api", rundir }).status}`;
        }, 20);
      },
    });
    assert.equal(midDrain, "unit api: not ready (check db: returned false) 503 false healthy");
    assert.equal(result.code, 0);
  });
});

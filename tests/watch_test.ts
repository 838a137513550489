/**
 * `watch()`: checks that keep running in the background, each on its
 * interval within its timeout, one call at a time; what they find reaches
 * `probe()`, `probe.sh`, the `liveness-probe` command and the HTTP answers
 * alike, and the program's own `set()` and `ready()` combine with it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { createLiveness, type Liveness, probe } from "../mod.ts";
import { fixture, PROBE_CLI, PROBE_SH, runtimeCommand, withTempDir } from "./_helpers.ts";

/** Waits until `condition` holds (checked every 5 ms), or fails after 20 s saying `what`. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never: ${what}`);
}

/** What `liveness.fetch` says at `path`: its status and body. */
async function ask(
  liveness: Liveness,
  path: string,
  accept?: string,
): Promise<{ status: number; body: string }> {
  const headers = accept ? { accept } : undefined;
  const response = liveness.fetch(new Request(`http://pod${path}`, { headers }));
  return { status: response.status, body: await response.text() };
}

/**
 * The verdict of `probe()`, `probe.sh` and the `liveness-probe` command on
 * unit `api` in `rundir`, as `CODE LINE` each: they must say one thing.
 */
function probes(rundir: string, ready: boolean): string {
  const result = probe({ unit: "api", rundir, ready });
  const said = `${result.healthy ? 0 : 1} ${result.reason}`;
  const [command, base] = runtimeCommand(PROBE_CLI);
  const args = ["--unit", "api", "--rundir", rundir, ...(ready ? ["--ready"] : [])];
  for (const [file, ...rest] of [[PROBE_SH], [command, ...base]]) {
    const run = spawnSync(file, [...rest, ...args], { encoding: "utf8", timeout: 30_000 });
    if (run.error) throw run.error;
    assert.equal(`${run.status} ${run.stdout.trim()}`, said, `${file} against probe()`);
  }
  return said;
}

/** A loaded, live owner of unit `api` in `rundir`. */
async function live(rundir: string): Promise<Liveness> {
  const liveness = createLiveness({ unit: "api", rundir });
  await liveness.load([]);
  liveness.set(0);
  return liveness;
}

test("watch: a failing readiness check makes the unit not ready in every probe and HTTP, a passing one ready again", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let ok = true;
    let calls = 0;
    liveness.watch({ db: () => (calls++, ok) }, { interval: 5 });
    await until(() => calls > 0 && probe({ unit: "api", rundir, ready: true }).healthy, "ready");
    ok = false;
    await until(() => !probe({ unit: "api", rundir, ready: true }).healthy, "not ready");
    assert.equal(probes(rundir, true), "1 unit api: not ready (check db: returned false)");
    assert.match(probes(rundir, false), /^0 unit api: healthy \(pid \d+\)$/, "never a restart");
    assert.equal((await ask(liveness, "/readyz")).status, 503);
    assert.equal((await ask(liveness, "/livez")).status, 200);
    assert.equal(probe({ unit: "api", rundir, ready: true }).status, "not-ready");
    ok = true;
    await until(() => probe({ unit: "api", rundir, ready: true }).healthy, "ready again");
    assert.match(probes(rundir, true), /^0 unit api: ready \(pid \d+\)$/);
    assert.equal((await ask(liveness, "/readyz")).status, 200);
    // Nothing written but the unit's own files.
    assert.deepEqual(readdirSync(rundir), ["api"]);
    assert.deepEqual(
      readdirSync(`${rundir}/api`).sort(),
      ["error", "heartbeat", "pid", "ready", "starttime"],
    );
    await liveness.close();
  });
});

test("watch: a check that hangs is cut at its timeout, its signal aborted, and named", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let signal: AbortSignal | undefined;
    liveness.watch({
      db: {
        check: (given) => {
          signal = given;
          return new Promise<boolean>(() => {}); // never settles, ignores its signal
        },
        timeout: 30,
        interval: 60_000,
      },
    });
    await until(() => signal?.aborted === true, "the signal aborted");
    assert.equal((signal!.reason as DOMException).name, "TimeoutError");
    assert.equal(probes(rundir, true), "1 unit api: not ready (check db: timed out after 30ms)");
    const { status, body } = await ask(liveness, "/readyz?verbose");
    assert.equal(status, 503);
    assert.match(
      body,
      /^\[-\]db failed: not ready \(check db: timed out after 30ms\), \d+(\.\d)?s ago$/m,
    );
    await liveness.close();
  });
});

test("watch: a check slower than its interval never runs twice at once", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let running = 0;
    let most = 0;
    let calls = 0;
    liveness.watch({
      slow: {
        check: async () => {
          calls++;
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 30)); // 6 intervals
          running--;
          return true;
        },
        interval: 5,
        timeout: 60_000,
      },
    });
    await until(() => calls >= 5, "five calls");
    assert.equal(most, 1, "two calls of one check ran at once");
    // A call that never ends, past its timeout: no second call, and each tick is one more failure.
    let hung = 0;
    liveness.watch({
      hung: { check: () => (hung++, new Promise<boolean>(() => {})), interval: 5, timeout: 5 },
    });
    let body = "";
    await until(async () => {
      body = (await ask(liveness, "/readyz?verbose")).body;
      return / 4 failures in a row$/m.test(body);
    }, "four failures");
    assert.equal(hung, 1, "a second call started while the first had not ended");
    assert.match(
      body,
      /^\[-\]hung failed: not ready \(check hung: timed out after 5ms, and still running\), /m,
    );
    assert.equal(
      probes(rundir, true),
      "1 unit api: not ready (check hung: timed out after 5ms, and still running)",
    );
    await liveness.close();
  });
});

/**
 * A check the test answers call by call: `answer(ok)` settles the call in
 * flight and returns once the next call started. A call starts only after
 * the one before ended and its result was counted: then `ok` is counted.
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

test("watch: a liveness check fails the unit only after its threshold of failures in a row", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    const { check, answer } = scripted();
    liveness.watch({ loop: { check, kind: "live", threshold: 3, interval: 5, timeout: 60_000 } });
    const healthy = /^0 unit api: healthy \(pid \d+\)$/;
    for (const ok of [false, false, true, false, false]) {
      await answer(ok);
      assert.match(probes(rundir, false), healthy, "fewer than 3 in a row since the last success");
    }
    const { body } = await ask(liveness, "/livez?verbose");
    assert.match(
      body,
      /^\[\+\]loop ok \(2 of 3 failures in a row, the last [\d.]+s ago: returned false\)$/m,
    );
    await answer(false);
    assert.equal(probes(rundir, false), "1 unit api: error 69");
    assert.equal(probes(rundir, true), "1 unit api: error 69", "not live is not ready");
    let answered = await ask(liveness, "/livez?verbose");
    assert.equal(answered.status, 503);
    assert.match(
      answered.body,
      /^\[\+\]error ok\n\[\+\]heartbeat ok\n\[-\]loop failed: check loop: returned false, [\d.]+s ago, 3 failures in a row\n/m,
    );
    assert.equal((await ask(liveness, "/readyz")).status, 503);
    assert.equal((await ask(liveness, "/livez?exclude=loop")).status, 200, "HTTP only");
    // The program's own code wins over the check's; its 0 gives the check's back.
    liveness.set(3);
    assert.equal(probes(rundir, false), "1 unit api: error 3");
    answered = await ask(liveness, "/livez?verbose&exclude=loop");
    assert.match(answered.body, /^\[-\]error failed: error 3$/m);
    liveness.set(0);
    assert.equal(probes(rundir, false), "1 unit api: error 69");
    await answer(true);
    assert.match(probes(rundir, false), healthy, "a success makes it live again");
    assert.equal((await ask(liveness, "/livez")).status, 200);
    await liveness.close();
  });
});

/**
 * The start of the shutdown, on real signals in child processes on Deno,
 * Bun and Node: the `beforeShutdown` hook runs before readiness fails and
 * before the drain, a hook that throws is reported and the program still
 * exits, `readiness: "keep"` keeps `/readyz`, `--ready` and lightship's
 * `/ready` passing through the drain while liveness holds, and a
 * `whenFirstReady()` still waiting never ends the program at its exit.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLiveness, type LivenessError, probe } from "../mod.ts";
import { fixture, readState, withTempDir } from "./_helpers.ts";
import { LineChild, type RuntimeName } from "./_runtimes.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun", "node"];

/** Starts the hooked service on `runtime`; resolves with it and its port once it is up. */
async function start(runtime: RuntimeName, rundir: string, config: object) {
  const child = new LineChild(runtime, fixture("hooked_service"), [
    rundir,
    "api",
    JSON.stringify(config),
  ]);
  const port = Number((await child.next((line) => line.startsWith("port "))).slice(5));
  await child.next((line) => line === "ready");
  return { child, port };
}

/** `GET path` of the child's health server: `status body`. */
async function get(port: number, path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return `${response.status} ${await response.text()}`;
}

/** The state a `hook ...` or `handler ...` line printed. */
function stateOf(line: string): Record<string, boolean> {
  return JSON.parse(line.slice(line.indexOf("{")));
}

/** The verdicts of every probe of the unit, the files' and the child's HTTP answers. */
async function verdicts(rundir: string, port: number) {
  return {
    live: probe({ unit: "api", rundir }).status,
    ready: probe({ unit: "api", rundir, ready: true }).status,
    livez: (await get(port, "/livez")).slice(0, 3),
    readyz: (await get(port, "/readyz")).slice(0, 3),
    lightship: [await get(port, "/live"), await get(port, "/ready"), await get(port, "/health")],
  };
}

for (const runtime of RUNTIMES) {
  test(
    `${runtime}: the beforeShutdown hook runs at the signal, before readiness fails and the drain`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child, port } = await start(runtime, rundir, {
          signals: { drain: 500, timeout: 20_000, signals: ["SIGTERM"] },
          hook: "wait",
          handler: "wait",
        });
        try {
          child.signal("SIGTERM");
          const hook = await child.next((line) => line.startsWith("hook "));
          assert.match(hook, /^hook SIGTERM /);
          assert.deepEqual(stateOf(hook), {
            loaded: true,
            live: true,
            ready: true,
            draining: true,
            closed: false,
          });
          // The hook waits: every probe still says ready.
          assert.deepEqual(await verdicts(rundir, port), {
            live: "healthy",
            ready: "healthy",
            livez: "200",
            readyz: "200",
            lightship: [
              "500 SERVER_IS_SHUTTING_DOWN",
              "200 SERVER_IS_READY",
              "500 SERVER_IS_SHUTTING_DOWN",
            ],
          });
          child.send("release");
          // Then readiness fails at once (the default), liveness holds, and the handler runs after the drain.
          const handler = await child.next((line) => line.startsWith("handler "));
          assert.deepEqual(stateOf(handler), {
            loaded: true,
            live: true,
            ready: false,
            draining: true,
            closed: false,
          });
          assert.deepEqual(await verdicts(rundir, port), {
            live: "healthy",
            ready: "draining",
            livez: "200",
            readyz: "503",
            lightship: [
              "500 SERVER_IS_SHUTTING_DOWN",
              "500 SERVER_IS_NOT_READY",
              "500 SERVER_IS_SHUTTING_DOWN",
            ],
          });
          child.send("release");
          assert.equal(await child.exited(), 0);
          assert.deepEqual(readState(`${rundir}/api`), {}, "the state is gone");
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(
    `${runtime}: a beforeShutdown hook that throws is reported, and the shutdown goes on to exit 1`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const { child } = await start(runtime, rundir, {
          signals: { drain: 0, timeout: 10_000 },
          hook: "throw",
        });
        try {
          child.signal("SIGTERM");
          await child.next((line) => line.startsWith("hook SIGTERM"));
          await child.next((line) => line.startsWith("handler SIGTERM"));
          assert.equal(await child.exited(), 1);
          assert.match(
            child.stderr,
            /^@cic\/liveness: Cannot shut down cleanly: the beforeShutdown hook \(throw\) failed: Error: hook failed$/m,
          );
          assert.deepEqual(readState(`${rundir}/api`), {});
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(
    `${runtime}: readiness: "keep" answers ready through the drain, fails it when the drain ends`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        // The drain is long enough for the looks below; a slower machine fails, never passes wrongly.
        const { child, port } = await start(runtime, rundir, {
          signals: { drain: 5000, timeout: 20_000, readiness: "keep" },
          hook: "wait",
          handler: "wait",
        });
        try {
          child.signal("SIGTERM");
          await child.next((line) => line.startsWith("hook "));
          child.send("release");
          // The drain: still ready everywhere; lightship's /live and /health say it shuts down.
          await child.next((line) => line === "hook released");
          const during = await verdicts(rundir, port);
          const handler = await child.next((line) => line.startsWith("handler "));
          assert.deepEqual(during, {
            live: "healthy",
            ready: "healthy",
            livez: "200",
            readyz: "200",
            lightship: [
              "500 SERVER_IS_SHUTTING_DOWN",
              "200 SERVER_IS_READY",
              "500 SERVER_IS_SHUTTING_DOWN",
            ],
          });
          // The drain ended: not ready from here on, still live.
          assert.deepEqual(stateOf(handler), {
            loaded: true,
            live: true,
            ready: false,
            draining: true,
            closed: false,
          });
          const after = await verdicts(rundir, port);
          assert.deepEqual([after.live, after.ready, after.livez, after.readyz], [
            "healthy",
            "draining",
            "200",
            "503",
          ]);
          child.send("release");
          assert.equal(await child.exited(), 0);
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: a whenFirstReady() still waiting at a handled signal never settles: exit 0`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      const { child } = await start(runtime, rundir, {
        signals: { drain: 0, timeout: 10_000 },
        warming: true,
      });
      try {
        assert.equal(probe({ unit: "api", rundir, ready: true }).status, "not-ready");
        child.signal("SIGTERM");
        assert.equal(await child.exited(), 0);
        assert.doesNotMatch(child.stderr, /first ready/);
        assert.equal(child.stderr, "");
      } finally {
        await child.stop();
      }
    });
  });
}

test("shutdown(): the hook's and the readiness options are checked, the hook cut at the deadline", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, onError: () => {} });
    assert.throws(
      () => liveness.shutdown({ beforeShutdown: "x" as never }),
      /^TypeError: Cannot shut down: options\.beforeShutdown must be a function, got "x"$/,
    );
    assert.throws(
      () => liveness.shutdown({ readiness: "stay" as never }),
      /^TypeError: Cannot shut down: options\.readiness must be "fail" or "keep", got "stay"$/,
    );
    assert.throws(() => liveness.handleSignals({ readiness: "ready" as never }), TypeError);
    await liveness.close();
  });
  await withTempDir(async (rundir) => {
    const errors: string[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      onError: (error: LivenessError) => errors.push(error.message),
    });
    await liveness.load([]);
    liveness.set(0);
    let handled = false;
    liveness.onShutdown(() => (handled = true));
    const result = await liveness.shutdown({
      drain: 0,
      timeout: 50,
      beforeShutdown: function stuck() {
        return new Promise(() => {});
      },
    });
    assert.deepEqual([result.code, result.timedOut, handled], [1, true, false]);
    assert.deepEqual(errors, [
      "Cannot shut down cleanly: the beforeShutdown hook (stuck) did not finish within 50 ms: " +
      "the drain and the handlers are skipped",
    ]);
    assert.deepEqual(liveness.state, {
      loaded: false,
      live: false,
      ready: false,
      draining: false,
      closed: true,
    });
  });
});

test("shutdown(): a hook that calls shutdown() gets the sequence it runs in; one that throws counts", async () => {
  await withTempDir(async (rundir) => {
    const errors: string[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      onError: (error: LivenessError) => errors.push(error.message),
    });
    await liveness.load([]);
    liveness.set(0);
    let inner: Promise<unknown> | undefined;
    let handled = false;
    liveness.onShutdown(() => (handled = true));
    const outer = liveness.shutdown({
      drain: 0,
      beforeShutdown: function again() {
        inner = liveness.shutdown();
        throw new Error("hook failed");
      },
    });
    const result = await outer;
    assert.equal(inner, outer, "one sequence");
    assert.deepEqual([result.code, result.timedOut, handled], [1, false, true]);
    assert.deepEqual(result.errors.map(String), ["Error: hook failed"]);
    assert.deepEqual(errors, [
      "Cannot shut down cleanly: the beforeShutdown hook (again) failed: Error: hook failed",
    ]);
  });
});

test("shutdown(): a hook and a drain that outlast the timeout skip the handlers", async () => {
  await withTempDir(async (rundir) => {
    const errors: string[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      onError: (error: LivenessError) => errors.push(error.message),
    });
    await liveness.load([]);
    liveness.set(0);
    let handled = false;
    liveness.onShutdown(() => (handled = true));
    // The hook ends at a fifth of the timeout, the drain would end past it.
    const result = await liveness.shutdown({
      drain: 900,
      timeout: 1000,
      beforeShutdown: () => new Promise((resolve) => setTimeout(resolve, 200)),
    });
    assert.deepEqual([result.code, result.timedOut, handled], [1, true, false]);
    assert.deepEqual(errors, [
      "Cannot shut down cleanly: the beforeShutdown hook and the drain (900 ms) outlasted the " +
      "timeout (1000 ms): the handlers are skipped",
    ]);
  });
});

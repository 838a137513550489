/**
 * The unit as values: `liveness.state` at each step of the life cycle
 * agrees with what `probe()` and the HTTP answers say at the same moment,
 * and `whenFirstReady()` resolves at the first live and ready moment, not
 * before, and rejects when the owner closes first.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLiveness, type Liveness, LivenessError, probe } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

/** The state, and what the probes and HTTP say of the unit, as booleans of the same names. */
function looks(liveness: Liveness, rundir: string) {
  const status = (path: string) => liveness.fetch(new Request(`http://localhost${path}`)).status;
  return {
    state: { ...liveness.state },
    probes: {
      live: probe({ unit: "api", rundir }).healthy,
      ready: probe({ unit: "api", rundir, ready: true }).healthy,
      livez: status("/livez") === 200,
      readyz: status("/readyz") === 200,
    },
  };
}

/** Asserts the state is `expected`, and that every probe's verdict agrees with its live and ready. */
function assertState(
  liveness: Liveness,
  rundir: string,
  expected: Record<string, boolean>,
  step: string,
): void {
  const { state, probes } = looks(liveness, rundir);
  assert.deepEqual(state, expected, step);
  assert.deepEqual(probes, {
    live: state.live,
    ready: state.ready,
    livez: state.live,
    readyz: state.ready,
  }, `${step}: the probes agree`);
}

/** Whether `promise` settled after the pending jobs ran: `"pending"`, `"resolved"` or the rejection. */
async function settled(promise: Promise<unknown>): Promise<unknown> {
  let result: unknown = "pending";
  promise.then(() => (result = "resolved"), (error) => (result = error));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return result;
}

test("state: each step of the life cycle, as the probes and /livez, /readyz say it", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    const step = (expected: string, name: string) => {
      const [loaded, live, ready, draining, closed] = expected.split(" ").map((x) => x === "1");
      assertState(liveness, rundir, { loaded, live, ready, draining, closed }, name);
    };
    step("0 0 0 0 0", "not loaded");
    assert.ok(Object.isFrozen(liveness.state), "a frozen snapshot");
    assert.notEqual(liveness.state, liveness.state, "taken at each read");
    await liveness.load([]);
    step("1 0 0 0 0", "loaded, before set(0)");
    liveness.set(0);
    step("1 1 1 0 0", "live and ready");
    liveness.ready(false, "warming");
    step("1 1 0 0 0", "live, not ready");
    liveness.ready(true);
    liveness.set(3);
    step("1 0 0 0 0", "set(3): neither live nor ready");
    liveness.set(0);
    let release = () => {};
    const hookSeen: unknown[] = [];
    const handlerSeen: unknown[] = [];
    liveness.onShutdown(async () => {
      handlerSeen.push(looks(liveness, rundir));
      await new Promise<void>((resolve) => release = resolve);
    });
    const done = liveness.shutdown({
      drain: 0,
      beforeShutdown: () => void hookSeen.push(looks(liveness, rundir)),
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    const draining = { loaded: true, live: true, draining: true, closed: false };
    assert.deepEqual(hookSeen, [{
      state: { ...draining, ready: true },
      probes: { live: true, ready: true, livez: true, readyz: true },
    }], "the hook: draining begun, readiness not failed yet");
    step("1 1 0 1 0", "draining");
    assert.equal(handlerSeen.length, 1);
    release();
    assert.equal((await done).code, 0);
    step("0 0 0 0 1", "closed");
  });
});

test("state: the unit lost to an operator's rm is not live, as the probes say", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, onError: () => {} });
    await liveness.load([]);
    liveness.set(0);
    const { rmSync } = await import("node:fs");
    rmSync(`${rundir}/api/pid`);
    // The answers look at the pid file once a millisecond at most: a few later, they see it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    assertState(liveness, rundir, {
      loaded: true,
      live: false,
      ready: false,
      draining: false,
      closed: false,
    }, "pid file removed");
    await liveness.close();
  });
});

test("whenFirstReady(): resolves at the first live and ready moment, not before", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    const first = liveness.whenFirstReady();
    assert.equal(liveness.whenFirstReady(), first, "one promise");
    assert.equal(await settled(first), "pending", "not loaded");
    await liveness.load([]);
    assert.equal(await settled(first), "pending", "loaded, before set(0)");
    liveness.ready(false, "warming");
    liveness.set(0);
    assert.equal(await settled(first), "pending", "live, not ready");
    liveness.ready(true);
    assert.equal(await settled(first), "resolved", "live and ready");
    liveness.set(3);
    assert.equal(await settled(liveness.whenFirstReady()), "resolved", "once reached, always");
    await liveness.close();
    assert.equal(await settled(liveness.whenFirstReady()), "resolved", "after the close too");
  });
});

test("whenFirstReady(): ready before set(0) counts only once live", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]); // load() records ready
    const first = liveness.whenFirstReady();
    assert.equal(await settled(first), "pending");
    liveness.set(0);
    assert.equal(await settled(first), "resolved");
    await liveness.close();
  });
});

test("whenFirstReady(): rejects when the owner closes first, and after", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    const first = liveness.whenFirstReady();
    assert.equal(await settled(first), "pending");
    await liveness.shutdown({ drain: 0 });
    await assert.rejects(first, (error) => {
      assert.ok(error instanceof LivenessError);
      assert.equal(
        error.message,
        `Cannot wait for the first ready: unit ${rundir}/api was closed before it was ever live and ready`,
      );
      return true;
    });
    await assert.rejects(liveness.whenFirstReady(), LivenessError);
  });
});

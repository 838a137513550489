/**
 * The owner's HTTP answers against `probe()`, over every state an owner can
 * be in: the same verdict from memory as from the files, and the drain
 * seen over a real server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import {
  createLiveness,
  type HeartbeatOptions,
  type Liveness,
  type LivenessError,
  probe,
  UnitLostError,
} from "../mod.ts";
import { writerFs } from "../src/_state.ts";
import { Unit } from "../src/_unit.ts";
import { runtime as realRuntime } from "../src/runtime/_current.ts";
import { faultyRuntime } from "./_fake_runtime.ts";
import { withTempDir } from "./_helpers.ts";
import { holdState, kill } from "./_subjects.ts";

/** What `liveness.fetch` says at `path`: its status and, with `?verbose`, its body. */
async function ask(liveness: Liveness, path: string): Promise<{ status: number; body: string }> {
  const response = liveness.fetch(new Request(`http://pod${path}`));
  return { status: response.status, body: await response.text() };
}

/** The reason the verbose body gives for the first failing part, as `probe()` words it. */
function firstFailure(body: string): string | undefined {
  return /^\[-\]\w+ failed: (.*)$/m.exec(body)?.[1];
}

/**
 * Checks that `/livez` and `/readyz` agree with `probe()` and `probe({ ready: true })`:
 * the same health, and the same reason for the first failing part.
 */
async function assertAgree(liveness: Liveness, rundir: string, state: string) {
  for (const [path, ready] of [["/livez", false], ["/readyz", true]] as const) {
    const verdict = probe({ unit: "api", rundir, ready });
    const { status, body } = await ask(liveness, `${path}?verbose`);
    assert.equal(status, verdict.healthy ? 200 : 503, `${state} ${path}: ${body}`);
    if (!verdict.healthy) {
      assert.equal(`unit api: ${firstFailure(body)}`, verdict.reason, `${state} ${path}`);
    }
  }
}

/** Checks the line of the first failing part of `/livez` and `/readyz`. */
async function assertFirstFailure(liveness: Liveness, line: string) {
  for (const path of ["/livez", "/readyz"]) {
    assert.equal(firstFailure((await ask(liveness, `${path}?verbose`)).body), line, path);
  }
}

test("owner: /livez and /readyz answer what probe() says, in every state of the owner", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    const dir = `${rundir}/api`;
    await assertAgree(liveness, rundir, "not loaded");
    await assertFirstFailure(liveness, `no pid file at ${dir}/pid (no directory ${dir})`);
    await liveness.load([]);
    await assertAgree(liveness, rundir, "loaded");
    await assertFirstFailure(liveness, "not started: set(0) not called yet");
    for (const code of [0, 3, -1, 0]) {
      liveness.set(code);
      await assertAgree(liveness, rundir, `set(${code})`);
    }
    liveness.ready(false, "warming");
    await assertAgree(liveness, rundir, "not ready");
    liveness.ready(false);
    await assertAgree(liveness, rundir, "not ready, no reason");
    liveness.ready(true);
    await assertAgree(liveness, rundir, "ready again");
    assert.equal((await ask(liveness, "/healthz")).status, 200, "/healthz is /livez");
    liveness.reset();
    await assertAgree(liveness, rundir, "reset");
    await assertFirstFailure(
      liveness,
      `no pid file at ${dir}/pid (the directory exists: not loaded)`,
    );
    await liveness.close();
  });
});

test("owner: a failed write and a lost unit answer 503", async () => {
  await withTempDir(async (rundir) => {
    const runtime = faultyRuntime();
    const reported: LivenessError[] = [];
    const liveness = new Unit(runtime, {
      unit: "api",
      rundir,
      heartbeat: false,
      onError: (error) => reported.push(error),
    });
    await liveness.load([]);
    liveness.set(0);
    runtime.fail("createFile", "ENOSPC");
    liveness.set(3); // the file is removed: the probe says "no-error"
    assert.equal(probe({ unit: "api", rundir }).status, "no-error");
    const failed = await ask(liveness, "/livez?verbose");
    assert.equal(failed.status, 503, "a state it could not write");
    assert.match(failed.body, /\[-\]error failed: Cannot write liveness state .*ENOSPC/, "and why");
    liveness.set(0);
    assert.equal((await ask(liveness, "/livez")).status, 503, "still not written");
    runtime.heal();
    liveness.set(0);
    await assertAgree(liveness, rundir, "healed");

    rmSync(`${rundir}/api/pid`);
    const other = await holdState(rundir, "api", 0);
    try {
      liveness.set(0);
      assert.equal(probe({ unit: "api", rundir }).healthy, true, "the other process is healthy");
      const { status, body } = await ask(liveness, "/livez?verbose");
      assert.equal(status, 503, "but this process lost its unit");
      assert.match(body, new RegExp(`\\[-\\]pid failed: .*belongs to process ${other.pid}`));
    } finally {
      await kill(other);
    }
    await liveness.close();
  });
});

test("owner: without a heartbeat timer, a unit another process took over answers 503 a millisecond later", async () => {
  await withTempDir(async (rundir) => {
    const heartbeats: (false | HeartbeatOptions)[] = [false, { manual: true, maxAge: 60_000 }];
    for (const heartbeat of heartbeats) {
      const reported: LivenessError[] = [];
      const liveness = createLiveness({
        unit: "api",
        rundir,
        heartbeat,
        onError: (error) => reported.push(error),
      });
      await liveness.load([]);
      liveness.set(0);
      assert.equal((await ask(liveness, "/livez")).status, 200);
      rmSync(`${rundir}/api/pid`);
      // The answers look at the pid file once a millisecond at most.
      await new Promise((resolve) => setTimeout(resolve, 2));
      // Removed, by nobody else: no write since, the answer says so all the same.
      const removed = await ask(liveness, "/livez?verbose");
      assert.equal(removed.status, 503, JSON.stringify(heartbeat));
      assert.match(removed.body, /\[-\]pid failed: the pid file this process wrote was removed/);
      const other = await holdState(rundir, "api", 0);
      try {
        assert.equal(probe({ unit: "api", rundir }).healthy, true, "the other process is healthy");
        for (const path of ["/livez?verbose", "/readyz?verbose"]) {
          const { status, body } = await ask(liveness, path);
          assert.equal(status, 503, `${JSON.stringify(heartbeat)} ${path}`);
          assert.match(body, new RegExp(`\\[-\\]pid failed: .*belongs to process ${other.pid}`));
        }
        assert.equal(reported.length, 1, "reported once");
        assert.ok(reported[0] instanceof UnitLostError);
        assert.equal(probe({ unit: "api", rundir }).healthy, true, "and nothing written over it");
      } finally {
        await kill(other);
      }
      await liveness.close();
    }
  });
});

test("owner: the answers look at the pid file once a millisecond at most, and see a removal after it", async () => {
  await withTempDir(async (rundir) => {
    let clock = 1_000_000;
    let looks = 0;
    const real = writerFs(realRuntime);
    const runtime = {
      ...realRuntime,
      now: () => clock,
      stateFs: {
        ...real,
        hold(path: string) {
          const held = real.hold(path);
          return { ...held, links: () => (looks++, held.links()) };
        },
      },
    };
    const liveness = new Unit(runtime, { unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    liveness.set(0);
    clock += 1;
    looks = 0;
    for (let i = 0; i < 100; i++) assert.equal((await ask(liveness, "/livez")).status, 200);
    assert.equal(looks, 1, "100 answers in one millisecond: one look");
    clock += 1;
    assert.equal((await ask(liveness, "/livez")).status, 200);
    assert.equal(looks, 2, "a millisecond later: another");
    clock -= 10; // a clock that goes back trusts nothing
    assert.equal((await ask(liveness, "/livez")).status, 200);
    assert.equal(looks, 3);
    rmSync(`${rundir}/api/pid`);
    clock += 1;
    const removed = await ask(liveness, "/livez?verbose");
    assert.equal(removed.status, 503);
    assert.match(removed.body, /\[-\]pid failed: the pid file this process wrote was removed/);
    await liveness.close();
  });
});

test("owner: during the drain /readyz says draining while /livez stays 200, over a real server", {
  timeout: 60_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    const server = await liveness.serve({ port: 0, hostname: "127.0.0.1" });
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return `${response.status} ${(await response.text()).trim()}`;
    };
    assert.equal(await get("/readyz"), "200 ok");
    const seen: string[] = [];
    liveness.onShutdown(async () => {
      seen.push(`handler: ${await get("/readyz?verbose")} | ${await get("/livez")}`);
    });
    const shutdown = liveness.shutdown({ drain: 300 });
    seen.push(`drain: ${await get("/readyz")} | ${await get("/livez")}`);
    assert.equal((await shutdown).code, 0);
    assert.deepEqual(seen, [
      "drain: 503 [+]pid ok\n[+]error ok\n[+]heartbeat ok\n[-]ready failed: reason withheld\nreadyz check failed | 200 ok",
      "handler: 503 [+]pid ok\n[+]error ok\n[+]heartbeat ok\n[-]ready failed: draining\nreadyz check failed | 200 ok",
    ]);
    await assert.rejects(get("/livez"), "closed by the shutdown");
    assert.equal(probe({ unit: "api", rundir }).status, "no-pid");
    assert.ok(process.pid > 0);
  });
});

test("owner: close() closes the servers it started, and fetch() is a plain function", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, http: { prefix: "/health" } });
    const { fetch: handler } = liveness; // bound: it can be passed around
    assert.equal(handler(new Request("http://pod/health/livez")).status, 503);
    assert.equal(handler(new Request("http://pod/livez")).status, 404);
    const server = await liveness.serve({ port: 0, hostname: "127.0.0.1" });
    await liveness.close();
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/health/livez`));
    await server.close(); // idempotent
  });
});

/**
 * State others can touch: stale locks raced by many loaders on every
 * runtime, links planted where the unit directory or a state file should
 * be, another user swapping the unit directory while it is made, a unit
 * taken over by another process. Each test tries to make the library lie,
 * hang, crash its program or write outside `<rundir>/<unit>`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { createLiveness, type LivenessError, probe, StateError, UnitLostError } from "../mod.ts";
import { canDropRoot, NOBODY } from "./_env.ts";
import { fixture, readState, withTempDir } from "./_helpers.ts";
import { LineChild, type RuntimeName } from "./_runtimes.ts";
import { deadPid, holdState, kill } from "./_subjects.ts";
import { verdictOf } from "../src/_unit.ts";

/** Everything under `dir`: path, type, mode, size and content of files. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    const content = stat.isFile() ? readFileSync(path, "utf8") : "";
    out.push(`${path} ${stat.mode.toString(8)} ${stat.size} ${content}`);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        walk(`${path}/${name}`);
      }
    }
  };
  walk(dir);
  return out;
}

const ROUNDS = 100;
const LOADERS: RuntimeName[] = ["deno", "deno", "deno", "bun", "bun", "bun", "node", "node"];

test("a stale lock raced by 8 loaders on three runtimes: exactly one winner a round", {
  timeout: 240_000,
}, async () => {
  await withTempDir(async (tmp) => {
    const loaders = LOADERS.map((runtime) => new LineChild(runtime, fixture("loader")));
    try {
      await Promise.all(loaders.map((loader) => loader.next((line) => line === "armed")));
      const dead = deadPid();
      for (let round = 0; round < ROUNDS; round++) {
        const rundir = `${tmp}/${round}`;
        // The lock of a holder that died: a 0.2 lock, or (every third round) 0.1's file.
        mkdirSync(`${rundir}/api`, { recursive: true });
        if (round % 3 === 2) writeFileSync(`${rundir}/api/.lock`, `${dead} 1\n`);
        else {
          mkdirSync(`${rundir}/api/.lock`);
          writeFileSync(`${rundir}/api/.lock/owner.${dead}.1`, "");
        }
        for (const loader of loaders) loader.send(`load ${rundir}`);
        const answers = await Promise.all(
          loaders.map((loader) =>
            loader.next((line) => line.endsWith(` ${rundir}`) || line.includes(` ${rundir} `))
          ),
        );
        const winners = answers.filter((line) => line.startsWith("won"));
        assert.deepEqual(
          answers.filter((line) => !/^(won|refused) /.test(line)),
          [],
          `round ${round}: every loser is refused`,
        );
        assert.equal(winners.length, 1, `round ${round}: ${answers.join("; ")}`);
        const winner = loaders[answers.indexOf(winners[0])];
        assert.equal(readFileSync(`${rundir}/api/pid`, "utf8"), `${winner.child.pid}\n`);
        assert.ok(
          !readdirSync(`${rundir}/api`).some((name) => name.startsWith(".")),
          "no lock left",
        );
        for (const loader of loaders) loader.send(`close ${rundir}`);
        await Promise.all(
          loaders.map((loader) => loader.next((line) => line === `closed ${rundir}`)),
        );
      }
    } finally {
      await Promise.all(loaders.map((loader) => loader.stop()));
    }
  });
});

test("a unit directory that is a symbolic link is refused, and nothing outside changes", async () => {
  await withTempDir(async (tmp) => {
    const outside = `${tmp}/outside`;
    mkdirSync(outside);
    writeFileSync(`${outside}/error`, "0\n");
    writeFileSync(`${outside}/pid`, "1\n");
    chmodSync(outside, 0o700);
    const before = snapshot(outside);
    mkdirSync(`${tmp}/run`);
    symlinkSync(outside, `${tmp}/run/api`);
    const liveness = createLiveness({ unit: "api", rundir: `${tmp}/run` });
    await assert.rejects(liveness.load([]), (error: StateError) => {
      assert.ok(error instanceof StateError);
      assert.match(error.message, /is a symbolic link/);
      return true;
    });
    assert.throws(() => liveness.reset(), StateError);
    await liveness.close().catch(() => {});
    assert.deepEqual(snapshot(outside), before);
  });
});

test("a rundir that is a link the administrator made is followed", async () => {
  await withTempDir(async (tmp) => {
    mkdirSync(`${tmp}/real`);
    symlinkSync(`${tmp}/real`, `${tmp}/run`);
    const liveness = createLiveness({ unit: "api", rundir: `${tmp}/run` });
    await liveness.load([]);
    liveness.set(0);
    assert.equal(readFileSync(`${tmp}/real/api/error`, "utf8"), "0\n");
    await liveness.close();
  });
});

test("links planted for each state file are replaced, never written through", async () => {
  await withTempDir(async (tmp) => {
    const outside = `${tmp}/outside`;
    mkdirSync(outside);
    const names = ["pid", "error", "starttime", "heartbeat", "ready", ".lock"];
    for (const name of names) writeFileSync(`${outside}/${name}`, "untouched\n");
    const before = snapshot(outside);
    const dir = `${tmp}/run/api`;
    mkdirSync(dir, { recursive: true });
    for (const name of names) symlinkSync(`${outside}/${name}`, `${dir}/${name}`);
    const liveness = createLiveness({ unit: "api", rundir: `${tmp}/run` });
    await liveness.load([]);
    liveness.set(3);
    liveness.ready(false, "warming");
    liveness.beat();
    for (const name of ["pid", "error", "starttime", "heartbeat", "ready"]) {
      assert.ok(lstatSync(`${dir}/${name}`).isFile(), `${name} is a file of ours now`);
    }
    assert.equal(probe({ unit: "api", rundir: `${tmp}/run` }).reason, "unit api: error 3");
    await liveness.close();
    assert.deepEqual(snapshot(outside), before);
  });
});

test("a directory named like a temporary file does not block load()", async () => {
  await withTempDir(async (rundir) => {
    const dead = deadPid();
    mkdirSync(`${rundir}/api/.error.${dead}.1.0.tmp`, { recursive: true });
    mkdirSync(`${rundir}/api/.error.${dead}.0a1b2c3d4e5f.tmp`);
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    assert.equal(probe({ unit: "api", rundir }).healthy, true);
    assert.ok(statSync(`${rundir}/api/.error.${dead}.1.0.tmp`).isDirectory(), "left alone");
    await liveness.close();
  });
});

test("set() never writes over the state of a process that took the unit over", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    // No heartbeat: its timer would restore the state before B starts.
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: false,
      onError: (e) => reported.push(e),
    });
    await liveness.load([]);
    liveness.set(0);
    rmSync(`${rundir}/api/pid`); // A's pid file disappears ...
    const other = await holdState(rundir, "api", 5); // ... B loads and reports 5
    try {
      liveness.set(0); // A: must not make B look healthy
      liveness.ready(true);
      assert.equal(readState(`${rundir}/api`).error, "5\n");
      assert.equal(readState(`${rundir}/api`).pid, `${other.pid}\n`);
      assert.equal(probe({ unit: "api", rundir }).reason, "unit api: error 5");
      assert.equal(reported.length, 1, "reported once");
      assert.ok(reported[0] instanceof UnitLostError);
      assert.equal((reported[0] as UnitLostError).pid, other.pid);
      assert.equal(verdictOf(liveness, "live").status, "failed");
    } finally {
      await kill(other);
    }
    // B is gone and its state is stale: A takes its unit back at the next write.
    liveness.set(0);
    assert.equal(readState(`${rundir}/api`).pid, `${process.pid}\n`);
    assert.equal(probe({ unit: "api", rundir }).healthy, true);
    await liveness.close();
  });
});

test("set() writes nothing while a live process holds the lock of a unit it lost, then restores it", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    rmSync(`${rundir}/api/pid`);
    // A live process holds the lock (this test's parent stands in for it).
    mkdirSync(`${rundir}/api/.lock`);
    writeFileSync(`${rundir}/api/.lock/owner.${process.ppid}.-`, "");
    liveness.set(0);
    assert.ok(!readdirSync(`${rundir}/api`).includes("error"), "nothing written");
    assert.ok(reported.at(-1) instanceof UnitLostError);
    rmSync(`${rundir}/api/.lock`, { recursive: true });
    liveness.set(0);
    assert.equal(probe({ unit: "api", rundir }).healthy, true);
    await liveness.close();
  });
});

test("another user swapping the new unit directory for a link never gets a mode changed outside", {
  skip: !canDropRoot && "needs root and setpriv to run a second user",
  timeout: 120_000,
}, async () => {
  await withTempDir(async (tmp) => {
    // A world-writable rundir without the sticky bit, as an emptyDir is by default.
    const rundir = `${tmp}/run`;
    mkdirSync(rundir);
    chmodSync(tmp, 0o755);
    chmodSync(rundir, 0o777);
    const victim = `${tmp}/victim`;
    mkdirSync(victim);
    chmodSync(victim, 0o700);
    const before = snapshot(victim);
    // The other user swaps <rundir>/api for a link to the victim as fast as it can.
    const swapper = spawn(NOBODY[0], [
      ...NOBODY.slice(1),
      "bash",
      "-c",
      `cd "$1" || exit 1
       end=$((SECONDS + 60))
       while ((SECONDS < end)); do
         mv api gone 2>/dev/null && ln -s "$2" api 2>/dev/null; rm -rf gone 2>/dev/null
         [[ -L api ]] && rm -f api
         [[ -e stop ]] && exit 0
       done`,
      "swapper",
      rundir,
      victim,
    ], { stdio: "ignore" });
    try {
      let refused = 0;
      for (let i = 0; i < 300; i++) {
        const liveness = createLiveness({
          unit: "api",
          rundir,
          heartbeat: false,
          onError: () => {},
        });
        try {
          await liveness.load([]);
          liveness.set(0);
        } catch (error) {
          assert.ok(error instanceof StateError, String(error));
          refused++;
        }
        await liveness.close().catch(() => {});
      }
      assert.deepEqual(snapshot(victim), before, "nothing outside <rundir>/<unit> changed");
      assert.ok(refused >= 0);
    } finally {
      writeFileSync(`${rundir}/stop`, "");
      swapper.kill("SIGKILL");
    }
  });
});

test("a unit directory swapped for a link after load() leads no write outside, in a rundir others may write", async () => {
  await withTempDir(async (tmp) => {
    chmodSync(tmp, 0o755);
    const rundir = `${tmp}/run`;
    mkdirSync(rundir);
    chmodSync(rundir, 0o777); // an emptyDir: world-writable, not sticky
    const outside = `${tmp}/outside`;
    mkdirSync(outside);
    const before = snapshot(outside);
    const liveness = createLiveness({ unit: "api", rundir, onError: () => {} });
    await liveness.load([]);
    liveness.set(0);
    renameSync(`${rundir}/api`, `${rundir}/moved`);
    symlinkSync(outside, `${rundir}/api`);
    liveness.set(3);
    liveness.ready(false, "x");
    liveness.beat();
    assert.deepEqual(snapshot(outside), before, "nothing written through the link");
    assert.equal(
      readFileSync(`${rundir}/moved/error`, "utf8"),
      "3\n",
      "the opened directory got it",
    );
    await liveness.close().catch(() => {});
    assert.deepEqual(snapshot(outside), before);
  });
});

/**
 * Tests that a plausible one-line bug would fail: each pins down one step of
 * a mechanism (the owner checks of `load()`, the lock, process identity,
 * temporary files, the order in which state is removed, the ownership fast
 * path and the restore, the heartbeat line, readiness, the shutdown
 * sequence), where the happy path alone would pass a broken build too.
 * Events are asserted in their order, never against a clock.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  existsSync,
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
import {
  createLiveness,
  type LivenessError,
  probe,
  StateError,
  UnitInUseError,
  UnitLostError,
} from "../mod.ts";
import { LockBusy, withUnitLock, withUnitLockSync } from "../src/_lock.ts";
import type { Runtime } from "../src/runtime/_runtime.ts";
import { runtime } from "../src/runtime/_current.ts";
import { UnitDirectory } from "../src/_state.ts";
import { Unit, verdictOf } from "../src/_unit.ts";
import { faultyRuntime, interceptedRuntime, type Operation, systemError } from "./_fake_runtime.ts";
import { readState, withTempDir } from "./_helpers.ts";
import { deadProcess, holdState, kill, sleeper, startTime, zombie } from "./_subjects.ts";

const me = { pid: process.pid, starttime: startTime(process.pid) };
/** Long enough for a child process to start on a busy machine. */
const SLOW = { timeout: 120_000 };

/** The names in `dir` that start with a dot: locks and temporary files. */
function hidden(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(".")).sort();
}

/** Writes the state files a process that loaded `dir` would have left, naming `owner`. */
function writeOwnerState(dir: string, owner: { pid: number; starttime: string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/pid`, `${owner.pid}\n`);
  writeFileSync(`${dir}/starttime`, `${owner.starttime}\n`);
  writeFileSync(`${dir}/error`, "0\n");
  writeFileSync(`${dir}/ready`, "ready\n");
}

/** A lock of 0.2 held by `holder`, as its `rename()` leaves it. */
function plantLock(dir: string, holder: { pid: number; starttime: string }): string {
  mkdirSync(`${dir}/.lock`, { recursive: true });
  const owner = `${dir}/.lock/owner.${holder.pid}.${holder.starttime}`;
  writeFileSync(owner, "");
  return owner;
}

/** The last path segment: the state file an operation of the writer touches. */
function nameOf(path: unknown): string {
  return String(path).slice(String(path).lastIndexOf("/") + 1);
}

// --- the owner checks of load() ----------------------------------------------

test("load() refuses a live owner's unit before running any check", SLOW, async () => {
  await withTempDir(async (rundir) => {
    const owner = await holdState(rundir, "api", 0);
    try {
      const ran: string[] = [];
      const liveness = createLiveness({ unit: "api", rundir });
      await assert.rejects(
        liveness.load([() => ran.push("check") > 0]),
        (error: UnitInUseError) => error instanceof UnitInUseError && error.pid === owner.pid,
      );
      assert.deepEqual(ran, [], "no check ran");
      await liveness.close();
    } finally {
      await kill(owner);
    }
  });
});

test("load() refuses a unit another process loaded while its checks ran", SLOW, async () => {
  await withTempDir(async (rundir) => {
    let other: Awaited<ReturnType<typeof holdState>> | undefined;
    try {
      const liveness = createLiveness({ unit: "api", rundir });
      // The check itself lets another process load the unit: the first owner check passed.
      const meanwhile = async () => {
        other = await holdState(rundir, "api", 4);
        return true;
      };
      await assert.rejects(
        liveness.load([meanwhile], { timeout: 60_000 }),
        (error: UnitInUseError) => error instanceof UnitInUseError && error.pid === other?.pid,
      );
      const state = readState(`${rundir}/api`);
      assert.equal(state.pid, `${other!.pid}\n`, "the other process keeps the unit");
      assert.equal(state.error, "4\n");
      assert.deepEqual(hidden(`${rundir}/api`), [], "no lock left");
      await liveness.close();
      assert.equal(readState(`${rundir}/api`).pid, `${other!.pid}\n`, "close() left it alone");
    } finally {
      if (other) await kill(other);
    }
  });
});

// --- process identity ----------------------------------------------------------

test("load() takes over the state of a zombie owner and of a reused pid", SLOW, async () => {
  await withTempDir(async (rundir) => {
    const undead = await zombie();
    const live = sleeper();
    try {
      const cases: [string, { pid: number; starttime: string }][] = [
        ["a zombie", undead],
        ["a live pid with another start time (a reused pid)", { pid: live.pid, starttime: "1" }],
      ];
      for (const [what, owner] of cases) {
        writeOwnerState(`${rundir}/api`, owner);
        const liveness = createLiveness({ unit: "api", rundir });
        await liveness.load([]);
        assert.equal(readState(`${rundir}/api`).pid, `${process.pid}\n`, what);
        await liveness.close();
      }
      // The same state naming the live process as it is: refused.
      writeOwnerState(`${rundir}/api`, live);
      const liveness = createLiveness({ unit: "api", rundir });
      await assert.rejects(liveness.load([]), UnitInUseError);
      await liveness.close();
    } finally {
      await undead.stop();
      await live.stop();
    }
  });
});

// --- the lock --------------------------------------------------------------------

/** The unit directory `<rundir>/api`, opened for the lock functions. */
function openUnit(rundir: string, on: Runtime = runtime): UnitDirectory {
  return UnitDirectory.open(on, `${rundir}/api`, true);
}

test("the lock of a dead holder is broken at the first try: 0.2's, 0.1's, a planted link", async () => {
  await withTempDir(async (rundir) => {
    const dead = await deadProcess();
    const plants: [string, (dir: string) => void][] = [
      ["0.2's lock", (dir) => plantLock(dir, dead)],
      [
        "0.1's lock file",
        (dir) => writeFileSync(`${dir}/.lock`, `${dead.pid} ${dead.starttime}\n`),
      ],
      ["a link", (dir) => symlinkSync(`${rundir}/elsewhere`, `${dir}/.lock`)],
    ];
    for (const [what, plant] of plants) {
      const directory = openUnit(rundir);
      try {
        plant(directory.path);
        const held: string[][] = [];
        // No waiting: a lock that could not be broken at once is a LockBusy.
        const result = await withUnitLock(
          directory,
          me,
          () => held.push(hidden(directory.path)),
          false,
        );
        assert.ok(!(result instanceof LockBusy), `${what}: taken`);
        assert.deepEqual(held, [[".lock"]], `${what}: held while the body ran`);
        assert.deepEqual(hidden(directory.path), [], `${what}: released, nothing left`);
      } finally {
        directory.close();
      }
    }
  });
});

test("a live holder's lock is never broken, and the failed try leaves no temporary lock", async () => {
  await withTempDir(async (rundir) => {
    const live = sleeper();
    const directory = openUnit(rundir);
    try {
      const owner = plantLock(directory.path, live);
      let ran = false;
      const now = withUnitLockSync(directory, me, () => (ran = true));
      assert.ok(now instanceof LockBusy, "busy");
      assert.equal(now.pid, live.pid);
      const result = await withUnitLock(directory, me, () => (ran = true), false);
      assert.ok(result instanceof LockBusy);
      assert.equal(ran, false, "the body never ran");
      assert.ok(existsSync(owner), "the holder's file stays");
      assert.deepEqual(hidden(directory.path), [".lock"], "no .lock.*.tmp left");
      assert.deepEqual(readdirSync(`${directory.path}/.lock`), [
        `owner.${live.pid}.${live.starttime}`,
      ]);
    } finally {
      directory.close();
      await live.stop();
    }
  });
});

test("breaking a dead holder's lock never removes the lock another process takes meanwhile", async () => {
  await withTempDir(async (rundir) => {
    const dead = await deadProcess();
    const live = sleeper();
    const path = `${rundir}/api`;
    // The moment the breaker has removed the dead holder's file, the live
    // process renames its complete lock over the now empty `.lock`.
    const racing = interceptedRuntime((operation, args, proceed) => {
      const result = proceed();
      if (operation === "unlink" && nameOf(args[0]) === `owner.${dead.pid}.${dead.starttime}`) {
        const temp = `${path}/.lock.${live.pid}.${live.starttime}.0.tmp`;
        mkdirSync(temp);
        writeFileSync(`${temp}/owner.${live.pid}.${live.starttime}`, "");
        renameSync(temp, `${path}/.lock`);
      }
      return result;
    });
    const directory = openUnit(rundir, racing);
    try {
      plantLock(path, dead);
      let ran = false;
      const result = await withUnitLock(directory, me, () => (ran = true), false);
      assert.ok(result instanceof LockBusy, "the new holder's lock holds");
      assert.equal(result.pid, live.pid);
      assert.equal(ran, false);
      assert.deepEqual(readdirSync(`${path}/.lock`), [`owner.${live.pid}.${live.starttime}`]);
    } finally {
      directory.close();
      await live.stop();
    }
  });
});

test("load() and a restoring set() leave no lock and no temporary file behind", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    assert.deepEqual(hidden(liveness.dir), []);
    rmSync(`${liveness.dir}/pid`); // the restore takes the lock too
    liveness.set(0);
    assert.equal(readState(liveness.dir).pid, `${process.pid}\n`);
    assert.deepEqual(hidden(liveness.dir), []);
    await liveness.close();
  });
});

// --- temporary files ---------------------------------------------------------------

test(
  "load() removes the temporary files and lock directories of writers that are gone",
  SLOW,
  async () => {
    await withTempDir(async (rundir) => {
      const dead = await deadProcess();
      const live = sleeper();
      try {
        const dir = `${rundir}/api`;
        mkdirSync(dir);
        const tempLock = (writer: { pid: number; starttime: string }, n: number) => {
          const name = `.lock.${writer.pid}.${writer.starttime}.${n}.tmp`;
          mkdirSync(`${dir}/${name}`);
          writeFileSync(`${dir}/${name}/owner.${writer.pid}.${writer.starttime}`, "");
          return name;
        };
        const reused = { pid: live.pid, starttime: "1" };
        // A writer killed between creating its temporary file and renaming it.
        writeFileSync(`${dir}/.error.${dead.pid}.${dead.starttime}.0.tmp`, "1");
        tempLock(dead, 1);
        writeFileSync(`${dir}/.ready.${reused.pid}.${reused.starttime}.2.tmp`, "ready");
        tempLock(reused, 3);
        // A writer that still runs is mid-write: its files stay.
        const kept = [`.error.${live.pid}.${live.starttime}.4.tmp`, tempLock(live, 5)];
        writeFileSync(`${dir}/${kept[0]}`, "1");
        const liveness = createLiveness({ unit: "api", rundir });
        await liveness.load([]);
        assert.deepEqual(hidden(dir), kept.sort());
        await liveness.close();
      } finally {
        await live.stop();
      }
    });
  },
);

test("a failed write leaves no temporary file, whichever step failed", async () => {
  await withTempDir(async (rundir) => {
    const faulty = faultyRuntime();
    const liveness = new Unit(faulty, { unit: "api", rundir, onError: () => {} });
    await liveness.load([]);
    const steps: [Operation, boolean][] = [["createFile", false], ["createFile", true], [
      "rename",
      false,
    ]];
    for (const [operation, after] of steps) {
      faulty.fail(operation, "EIO", { after });
      liveness.set(1);
      liveness.ready(false);
      liveness.beat();
      faulty.heal();
      assert.deepEqual(hidden(liveness.dir), [], `${operation}${after ? " after writing" : ""}`);
    }
    await liveness.close();
  });
});

// --- the order in which state goes -------------------------------------------------

/**
 * A runtime whose writer records the state files it removes, and fails the
 * removal of `heartbeat` (a file in the middle of the order) while `failing`.
 */
function removalRecorder() {
  const removed: string[] = [];
  const control = { failing: false };
  const recording = interceptedRuntime((operation, args, proceed) => {
    if (operation !== "unlink") return proceed();
    const name = nameOf(args[0]);
    if (!/^[a-z]+$/.test(name)) return proceed();
    removed.push(name);
    if (control.failing && name === "heartbeat") throw systemError("EIO");
    return proceed();
  });
  return { removed, control, recording };
}

test("reset() removes error first and pid last: a removal failing part-way never looks healthy", async () => {
  await withTempDir(async (rundir) => {
    const { removed, control, recording } = removalRecorder();
    const liveness = new Unit(recording, { unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    removed.length = 0;
    control.failing = true;
    assert.throws(() => liveness.reset(), StateError);
    assert.equal(removed[0], "error", "error goes first");
    const left = readState(liveness.dir);
    assert.ok(!("error" in left), "no error file left");
    assert.equal(left.pid, `${process.pid}\n`, "the pid file goes last");
    assert.equal(probe({ unit: "api", rundir }).status, "no-error");
    control.failing = false;
    liveness.reset();
    assert.deepEqual(removed.slice(-1), ["pid"]);
    assert.deepEqual(readState(liveness.dir), {});
  });
});

test("load() removes the earlier state error first and pid last", async () => {
  await withTempDir(async (rundir) => {
    const dead = await deadProcess();
    writeOwnerState(`${rundir}/api`, dead);
    writeFileSync(`${rundir}/api/heartbeat`, `1.00 10000 ${dead.pid} ${dead.starttime}\n`);
    const { removed, control, recording } = removalRecorder();
    control.failing = true;
    const liveness = new Unit(recording, { unit: "api", rundir });
    await assert.rejects(liveness.load([]), StateError);
    assert.equal(removed[0], "error");
    const left = readState(`${rundir}/api`);
    assert.ok(!("error" in left), "no error file left");
    assert.equal(left.pid, `${dead.pid}\n`, "the pid file goes last");
    control.failing = false;
    await liveness.load([]);
    assert.deepEqual(removed.slice(0, 5), ["error", "heartbeat", "error", "heartbeat", "ready"]);
    assert.equal(removed.at(-1), "pid");
    await liveness.close();
  });
});

// --- the ownership fast path and the restore -----------------------------------------

test("writes of the owner keep its pid file; a removed pid file is restored with the state", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: { manual: true, maxAge: 60_000 },
      onError: (error) => reported.push(error),
    });
    await liveness.load([]);
    const pidFile = () => statSync(`${liveness.dir}/pid`).ino;
    const first = pidFile();
    liveness.set(0);
    liveness.ready(false, "warming");
    liveness.beat();
    assert.equal(pidFile(), first, "the fast path: no restore while the pid file is ours");

    rmSync(`${liveness.dir}/pid`);
    liveness.set(2);
    const state = readState(liveness.dir);
    assert.equal(state.pid, `${process.pid}\n`, "restored");
    assert.equal(state.error, "2\n");
    assert.equal(state.ready, "not-ready warming\n", "with the readiness it had");
    assert.deepEqual(reported, []);
    await liveness.close();
  });
});

test("a unit whose pid file now names another live process is never restored over", async () => {
  await withTempDir(async (rundir) => {
    const live = sleeper();
    try {
      const reported: LivenessError[] = [];
      const liveness = createLiveness({
        unit: "api",
        rundir,
        heartbeat: false,
        onError: (error) => reported.push(error),
      });
      await liveness.load([]);
      liveness.set(0);
      // Another process took the unit over: load() removes the state, then writes its own.
      for (const name of readdirSync(liveness.dir)) rmSync(`${liveness.dir}/${name}`);
      writeOwnerState(liveness.dir, live);
      writeFileSync(`${liveness.dir}/error`, "6\n");
      liveness.set(0);
      liveness.ready(false);
      const state = readState(liveness.dir);
      assert.equal(state.pid, `${live.pid}\n`);
      assert.equal(state.error, "6\n");
      assert.equal(state.ready, "ready\n");
      assert.equal(reported.length, 1);
      assert.ok(reported[0] instanceof UnitLostError);
      assert.equal((reported[0] as UnitLostError).pid, live.pid);
      await liveness.close();
      assert.equal(readState(`${rundir}/api`).pid, `${live.pid}\n`, "close() left it alone");
    } finally {
      await live.stop();
    }
  });
});

// --- the heartbeat ----------------------------------------------------------------

test("every heartbeat names this process and records the max age", async () => {
  await withTempDir(async (rundir) => {
    const line = new RegExp(`^\\d+\\.\\d\\d 4321 ${me.pid} ${me.starttime}\\n$`);
    const liveness = createLiveness({
      unit: "api",
      rundir,
      heartbeat: { interval: 30, maxAge: 4321 },
    });
    await liveness.load([]);
    const first = readState(liveness.dir).heartbeat;
    assert.match(first, line, "load()'s beat");
    for (const deadline = Date.now() + 20_000; readState(liveness.dir).heartbeat === first;) {
      assert.ok(Date.now() < deadline, "the timer never beat");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match(readState(liveness.dir).heartbeat, line, "the timer's beat");
    liveness.beat();
    assert.match(readState(liveness.dir).heartbeat, line, "beat()");
    assert.equal(probe({ unit: "api", rundir }).status, "no-error", "a beat of the owner's");
    await liveness.close();
  });
});

test("the heartbeat timer is never what keeps the program alive", async () => {
  await withTempDir(async (rundir) => {
    const unref: unknown[] = [];
    const watched: Runtime = {
      ...runtime,
      unrefTimer(timer) {
        unref.push(timer);
        runtime.unrefTimer(timer);
      },
    };
    const liveness = new Unit(watched, { unit: "api", rundir, heartbeat: { interval: 60_000 } });
    try {
      await liveness.load([]);
      assert.equal(unref.length, 1, "the interval timer is unref'd as it starts");
    } finally {
      await liveness.close(); // where it is not, this test must not hold the suite open
    }
  });
});

// --- readiness --------------------------------------------------------------------

test("a failed ready(false) never leaves the ready file reading ready", async () => {
  await withTempDir(async (rundir) => {
    const faulty = faultyRuntime();
    const reported: LivenessError[] = [];
    const liveness = new Unit(faulty, {
      unit: "api",
      rundir,
      onError: (error) => reported.push(error),
    });
    await liveness.load([]);
    liveness.set(0);
    for (const code of ["ENOSPC", "EIO"]) {
      liveness.ready(true);
      faulty.fail("createFile", code);
      liveness.ready(false, "overloaded");
      faulty.heal();
      assert.equal(reported.at(-1)?.message.includes(code), true);
      assert.equal(readFileSync(`${liveness.dir}/ready`, "utf8"), "", code);
      const result = probe({ unit: "api", rundir, ready: true } as never);
      assert.equal(result.reason, "unit api: ready file is empty");
      assert.equal(result.healthy, false);
    }
    await liveness.close();
  });
});

test("ready() while shutting down changes nothing: the unit stays draining", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    const seen: string[] = [];
    liveness.onShutdown(() => {
      liveness.ready(true);
      liveness.ready(false, "busy");
      seen.push(readFileSync(`${liveness.dir}/ready`, "utf8"));
      seen.push(verdictOf(liveness, "ready").status);
    });
    const result = await liveness.shutdown({ drain: 0 });
    assert.equal(result.code, 0);
    assert.deepEqual(seen, ["draining\n", "draining"]);
  });
});

// --- the shutdown sequence ----------------------------------------------------------

test("the drain comes before the handlers", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    const events: string[] = [];
    liveness.onShutdown(() => void events.push("handler"));
    const done = liveness.shutdown({ drain: 1000, timeout: 20_000 });
    events.push(`ready file: ${readFileSync(`${liveness.dir}/ready`, "utf8").trim()}`);
    // A timer of 0 ms fires long before a drain of 1 s ends, and after any microtask.
    setTimeout(() => events.push("a turn of the event loop"), 0);
    await done;
    assert.deepEqual(events, ["ready file: draining", "a turn of the event loop", "handler"]);
  });
});

test("the deadline counts from the start of the shutdown, drain included", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    const events: string[] = [];
    liveness.onShutdown(() => new Promise(() => events.push("handler hangs")));
    const done = liveness.shutdown({ drain: 200, timeout: 400 }).then((result) => {
      events.push("shut down");
      return result;
    });
    // Between the deadline (400 ms from the start) and drain + timeout (600 ms).
    setTimeout(() => events.push("500 ms after the start"), 500);
    const result = await done;
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(events, ["handler hangs", "shut down", "500 ms after the start"]);
    assert.equal(result.timedOut, true);
    assert.equal(result.code, 1);
    assert.equal(
      reported.at(-1)!.message,
      "Cannot shut down cleanly: the shutdown handler #1 did not finish within 400 ms",
      "an anonymous handler is named by its place",
    );
    assert.deepEqual(readState(`${rundir}/api`), {}, "closed all the same");
  });
});

test("a handler that throws makes the shutdown's code 1, and the others still run", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    const events: string[] = [];
    const failure = new Error("flush failed");
    liveness.onShutdown(() => void events.push("first registered"));
    liveness.onShutdown(() => {
      events.push("throws");
      throw failure;
    });
    const result = await liveness.shutdown({ drain: 0 });
    assert.deepEqual(events, ["throws", "first registered"]);
    assert.deepEqual(result, { code: 1, signal: undefined, errors: [failure], timedOut: false });
    assert.equal(reported.at(-1)?.cause, failure);
    assert.equal(
      reported.at(-1)?.message,
      "Cannot shut down cleanly: the shutdown handler #2 failed: Error: flush failed",
    );
  });
});

test("a handler cut at the deadline, or one that throws, is named: its place and its name", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    const ran: string[] = [];
    liveness.onShutdown(function stopQueue() {
      ran.push("stopQueue");
    });
    const remove = liveness.onShutdown(() => ran.push("removed"));
    liveness.onShutdown(async function flushLogs() {
      ran.push("flushLogs");
      await Promise.resolve();
      throw new Error("disk full");
    });
    liveness.onShutdown(function closeDatabase() {
      ran.push("closeDatabase");
      return new Promise(() => {});
    });
    remove(); // the places are those of the handlers left: #1, #2, #3
    const result = await liveness.shutdown({ drain: 0, timeout: 300 });
    assert.deepEqual(ran, ["closeDatabase"], "last registered first; the deadline stops the rest");
    assert.deepEqual(result, { code: 1, signal: undefined, errors: [], timedOut: true });
    assert.deepEqual(reported.map((error) => error.message), [
      "Cannot shut down cleanly: the shutdown handler #3 (closeDatabase) did not finish within 300 ms",
    ]);
  });
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    const failure = new Error("disk full");
    liveness.onShutdown(async function flushLogs() {
      await Promise.resolve();
      throw failure;
    });
    liveness.onShutdown(() => {});
    const result = await liveness.shutdown({ drain: 0 });
    assert.deepEqual(result.errors, [failure]);
    assert.deepEqual(reported.map((error) => error.message), [
      "Cannot shut down cleanly: the shutdown handler #1 (flushLogs) failed: Error: disk full",
    ]);
    assert.equal(reported[0].cause, failure);
  });
});

// --- the location -------------------------------------------------------------------

test("rundir / gives the unit directory /api, for the owner as for probe()", () => {
  for (const rundir of ["/", "//"]) {
    const liveness = new Unit(runtime, { unit: "api", rundir });
    assert.equal(liveness.dir, "/api", rundir);
    assert.equal(probe({ unit: "api", rundir }).dir, "/api", rundir);
  }
});

test("a planted .lock link's target is never touched", async () => {
  await withTempDir(async (rundir) => {
    writeFileSync(`${rundir}/elsewhere`, "untouched\n");
    mkdirSync(`${rundir}/api`);
    symlinkSync(`${rundir}/elsewhere`, `${rundir}/api/.lock`);
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    assert.equal(readFileSync(`${rundir}/elsewhere`, "utf8"), "untouched\n");
    assert.ok(
      !existsSync(`${rundir}/api/.lock`) || !lstatSync(`${rundir}/api/.lock`).isSymbolicLink(),
    );
    await liveness.close();
  });
});

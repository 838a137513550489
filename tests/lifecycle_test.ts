/**
 * The production life cycle: one owner per unit, the heartbeat that catches
 * a hung program, readiness apart from liveness, the shutdown sequence on
 * real signals, and a program that exits as if the library were not there.
 * Child processes run on Deno, Bun and Node whatever runtime runs the suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import {
  createLiveness,
  type Liveness,
  type LivenessError,
  load,
  NotLoadedError,
  probe,
  type ProbeOptions,
  reset,
  set,
  StateError,
} from "../mod.ts";
import type { Runtime } from "../src/runtime/_runtime.ts";
import { runtime as current } from "../src/runtime/_current.ts";
import { Unit, verdictOf } from "../src/_unit.ts";
import { fixture, readState, withTempDir } from "./_helpers.ts";
import { commandFor, LineChild, type RuntimeName } from "./_runtimes.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun", "node"];

/** Polls `condition` every 20 ms; fails after `ms` (a bound on a hang, not a timing claim). */
async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The probe's verdict with the readiness and max-age options of 0.2. */
function verdict(options: ProbeOptions & { ready?: boolean; maxAge?: number }) {
  return probe(options as ProbeOptions);
}

/** `text` as a regular expression that matches it alone. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Starts the service fixture on `runtime`; resolves once it is healthy. */
async function service(runtime: RuntimeName, rundir: string, config: object): Promise<LineChild> {
  const child = new LineChild(runtime, fixture("service"), [rundir, "api", JSON.stringify(config)]);
  await child.next((line) => line === "ready");
  return child;
}

test("one owner per unit: createLiveness and the free functions reach the same object", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    assert.equal(createLiveness({ unit: "api", rundir }), liveness);
    assert.equal(
      createLiveness({ unit: "api", rundir: `${rundir}/` }),
      liveness,
      "the same directory",
    );
    assert.throws(
      () => createLiveness({ unit: "api", rundir, heartbeat: false }),
      /Cannot create a second owner/,
    );
    await load([], { unit: "api", rundir });
    set(0, { unit: "api", rundir });
    assert.equal(verdictOf(liveness, "live").status, "healthy");
    reset({ unit: "api", rundir });
    assert.throws(() => liveness.set(0), NotLoadedError);
    await liveness.close();
    assert.notEqual(createLiveness({ unit: "api", rundir }), liveness, "closed: a new owner");
    await createLiveness({ unit: "api", rundir }).close();
  });
});

test("ready(), beat() and set() before load() are a NotLoadedError", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    assert.throws(
      () => liveness.ready(true),
      (error: NotLoadedError) => /^Cannot ready\(\)/.test(error.message),
    );
    assert.throws(() => liveness.beat(), NotLoadedError);
    assert.throws(() => liveness.set(0), NotLoadedError);
    await liveness.close();
  });
});

test("bad options are TypeErrors that name them", async () => {
  await withTempDir(async (rundir) => {
    const bad: [object, RegExp][] = [
      [{ unti: "x" }, /unknown option "unti"/],
      [{ heartbeat: { interval: 0 } }, /heartbeat.interval/],
      [{ heartbeat: { interval: 1000, maxAge: 1000 } }, /longer than the interval/],
      [{ heartbeat: { intervall: 5 } }, /unknown option "intervall"/],
      [{ heartbeat: true }, /false or an object/],
      [{ onError: "log" }, /onError must be a function/],
      [{ procfs: "maybe" }, /procfs/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => createLiveness({ unit: "api", rundir, ...options }), message);
    }
    const liveness = createLiveness({ unit: "api", rundir });
    assert.throws(
      () => liveness.handleSignals({ drain: 30_000, timeout: 25_000 }),
      /longer than the timeout/,
    );
    assert.throws(() => liveness.handleSignals({ drian: 5 } as never), /unknown option "drian"/);
    // Past 2^31 - 1 ms a timer fires at once: the handlers would be cut short at the start.
    for (
      const timing of [
        { timeout: 2 ** 31 },
        { drain: 2 ** 31, timeout: 2 ** 31 },
        { timeout: -1 },
        { drain: Number.NaN },
        { timeout: "5" as never },
      ]
    ) {
      const limit = /must be a number of milliseconds from 0 to 2147483647/;
      assert.throws(() => liveness.handleSignals(timing), limit, JSON.stringify(timing));
      assert.throws(() => liveness.shutdown(timing), limit, JSON.stringify(timing));
    }
    await assert.rejects(liveness.load([], { tiemout: 5 } as never), /unknown option "tiemout"/);
    await liveness.load([]);
    for (const reason of ["two\nlines", "x".repeat(201), 5 as never]) {
      assert.throws(() => liveness.ready(false, reason), TypeError);
    }
    assert.throws(() => liveness.ready("yes" as never), TypeError);
    await liveness.close();
  });
});

test("readiness is never part of liveness", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const liveness = createLiveness(options);
    await liveness.load([]);
    liveness.set(0);
    assert.equal(readState(liveness.dir).ready, "ready\n", "load() records ready");
    liveness.ready(false, "warming");
    assert.equal(readState(liveness.dir).ready, "not-ready warming\n");
    assert.equal(verdict(options).status, "healthy");
    assert.equal(verdict({ ...options, ready: true }).reason, "unit api: not ready (warming)");
    liveness.ready(false);
    assert.equal(verdict({ ...options, ready: true }).reason, "unit api: not ready");
    liveness.ready(true);
    assert.equal(
      verdict({ ...options, ready: true }).reason,
      `unit api: ready (pid ${process.pid})`,
    );
    liveness.set(2);
    assert.equal(
      verdict({ ...options, ready: true }).reason,
      "unit api: error 2",
      "not live: not ready",
    );
    await liveness.close();
  });
});

test("the heartbeat: on by default, manual, or off", async () => {
  await withTempDir(async (rundir) => {
    const auto = createLiveness({ unit: "auto", rundir, heartbeat: { interval: 50, maxAge: 500 } });
    await auto.load([]);
    const first = readState(auto.dir).heartbeat;
    await until("a second beat", () => readState(auto.dir).heartbeat !== first, 10_000);
    await auto.close();

    const manual = createLiveness({
      unit: "manual",
      rundir,
      heartbeat: { manual: true, maxAge: 200 },
    });
    await manual.load([]);
    manual.set(0);
    const beat = readState(manual.dir).heartbeat;
    assert.match(beat, new RegExp(` 200 ${process.pid} `));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(readState(manual.dir).heartbeat, beat, "no timer beats for it");
    assert.equal(verdict({ unit: "manual", rundir }).status, "stale");
    assert.equal(verdictOf(manual, "live").status, "stale", "the owner agrees");
    manual.beat();
    assert.equal(verdict({ unit: "manual", rundir }).status, "healthy");
    await manual.close();

    const off = createLiveness({ unit: "off", rundir, heartbeat: false });
    await off.load([]);
    assert.ok(!("heartbeat" in readState(off.dir)));
    assert.throws(() => off.beat(), /heartbeat off/);
    await off.close();
  });
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: a program stuck in an endless loop reads stale, not healthy`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      const child = await service(runtime, rundir, { heartbeat: { interval: 100, maxAge: 800 } });
      try {
        assert.equal(verdict({ unit: "api", rundir }).status, "healthy");
        child.send("hang");
        await until(
          "the probe says stale",
          () => verdict({ unit: "api", rundir }).status === "stale",
        );
        assert.match(
          verdict({ unit: "api", rundir }).reason,
          /^unit api: no heartbeat for \d+(\.\d)?s \(max 0\.8s\)$/,
        );
        assert.equal(existsSync(`/proc/${child.child.pid}`), true, "while the process still runs");
      } finally {
        await child.stop();
      }
    });
  });

  test(
    `${runtime}: SIGTERM drains (not ready, still live), runs the handlers last first, exits 0, state gone`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const child = await service(runtime, rundir, {
          signals: { drain: 1500, timeout: 10_000 },
          handlers: ["ok", "ok"],
        });
        const events: string[] = [];
        try {
          assert.equal(verdict({ unit: "api", rundir, ready: true }).status, "healthy");
          child.signal("SIGTERM");
          await until(
            "not ready",
            () => verdict({ unit: "api", rundir, ready: true }).status === "draining",
          );
          events.push("draining");
          if (verdict({ unit: "api", rundir }).status === "healthy") {
            events.push("live");
          }
          events.push(await child.next((line) => line.startsWith("handler")));
          events.push(await child.next((line) => line.startsWith("handler")));
          events.push(`exit ${await child.exited()}`);
          assert.deepEqual(events, [
            "draining",
            "live",
            "handler 2 SIGTERM",
            "handler 1 SIGTERM",
            "exit 0",
          ]);
          assert.deepEqual(readState(`${rundir}/api`), {}, "the state is gone");
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: a handler that hangs is cut at the deadline, one that throws makes it exit 1`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      // Each names the handler on standard error: its place, and its function's name.
      const cases: [string[], string][] = [
        [["ok", "hang"], "the shutdown handler #2 (hang) did not finish within 1000 ms"],
        [["throw"], "the shutdown handler #1 (throw) failed: Error: handler 1 failed"],
      ];
      for (const [handlers, line] of cases) {
        const child = await service(runtime, rundir, {
          signals: { drain: 0, timeout: 1000 },
          handlers,
        });
        try {
          child.signal("SIGTERM");
          assert.equal(await child.exited(), 1, handlers.join());
          assert.deepEqual(readState(`${rundir}/api`), {});
          assert.match(
            child.stderr,
            new RegExp(`^@cic/liveness: Cannot shut down cleanly: ${escape(line)}$`, "m"),
          );
        } finally {
          await child.stop();
        }
      }
    });
  });

  test(
    `${runtime}: a second signal during the drain exits at once with 1`,
    { timeout: 60_000 },
    async () => {
      await withTempDir(async (rundir) => {
        const child = await service(runtime, rundir, {
          signals: { drain: 20_000, timeout: 25_000 },
          handlers: ["ok"],
        });
        try {
          child.signal("SIGTERM");
          await until(
            "draining",
            () => verdict({ unit: "api", rundir, ready: true }).status === "draining",
          );
          child.signal("SIGINT");
          assert.equal(await child.exited(), 1);
          assert.equal(
            child.stderr,
            "@cic/liveness: Cannot shut down cleanly: SIGINT (after SIGTERM) during the shutdown: " +
              "exiting at once with 1\n",
            "says why it exits 1",
          );
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: two units handling signals both shut down before the program exits`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      const child = new LineChild(runtime, fixture("two_units"), [rundir]);
      try {
        await child.next((line) => line === "ready");
        child.signal("SIGTERM");
        const stopped = [
          await child.next((line) => line.startsWith("stopped")),
          await child.next((line) => line.startsWith("stopped")),
        ];
        assert.deepEqual(stopped.sort(), ["stopped api", "stopped worker"]);
        assert.equal(await child.exited(), 0);
        assert.deepEqual(readState(`${rundir}/api`), {});
        assert.deepEqual(readState(`${rundir}/worker`), {});
      } finally {
        await child.stop();
      }
    });
  });

  test(`${runtime}: once a signal began the exit, a load() of another unit writes nothing`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      const child = new LineChild(runtime, fixture("late_load"), [rundir, "api"]);
      try {
        await child.next((line) => line === "checking");
        child.signal("SIGTERM");
        await child.next((line) => line === "handler");
        child.send("other");
        child.send("ping");
        await child.next((line) => line === "pong");
        assert.deepEqual(readState(`${rundir}/other`), {}, "nothing written");
        child.send("finish");
        assert.equal(await child.exited(), 0);
        await assert.rejects(child.next((line) => line.startsWith("other "), 0), /exited/);
      } finally {
        await child.stop();
      }
    });
  });

  test(
    `${runtime}: a SIGTERM while load() runs its checks: the late load writes nothing, and waits for the exit`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const child = new LineChild(runtime, fixture("late_load"), [rundir, "api"]);
        try {
          await child.next((line) => line === "checking");
          child.signal("SIGTERM");
          await child.next((line) => line === "handler"); // the sequence runs: the unit drains
          child.send("pass"); // now the check passes
          await child.next((line) => line === "passed");
          child.send("ping"); // answered after what load() did next
          await child.next((line) => line === "pong");
          assert.equal(verdict({ unit: "api", rundir, ready: true }).healthy, false, "never ready");
          assert.deepEqual(readState(`${rundir}/api`), {}, "nothing written");
          // The program's `await load()` neither went on nor threw: its handler ends, then the exit.
          child.send("finish");
          assert.equal(await child.exited(), 0);
          await assert.rejects(child.next((line) => line === "loaded", 0), /exited/);
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: a close() that cannot remove the state still ends in exit 1 after SIGTERM`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir(async (rundir) => {
      // It listens for unhandled rejections: a rejection would not end it.
      const child = await service(runtime, rundir, {
        signals: { drain: 0, timeout: 10_000 },
        unhandled: true,
      });
      try {
        // A directory where the error file was: root may remove anything else.
        rmSync(`${rundir}/api/error`);
        mkdirSync(`${rundir}/api/error`);
        child.signal("SIGTERM");
        const timer = setTimeout(() => child.signal("SIGKILL"), 30_000); // a bound on a hang
        const code = await child.exited();
        clearTimeout(timer);
        assert.equal(code, 1, "it must exit by itself, with 1");
      } finally {
        await child.stop();
      }
    });
  });

  test(
    `${runtime}: close() during the drain keeps the unit live till the end; a second signal exits 1`,
    {
      timeout: 60_000,
    },
    async () => {
      await withTempDir(async (rundir) => {
        const child = await service(runtime, rundir, {
          heartbeat: { interval: 100, maxAge: 800 },
          signals: { drain: 20_000, timeout: 25_000 },
        });
        try {
          child.signal("SIGTERM");
          await until(
            "draining",
            () => verdict({ unit: "api", rundir, ready: true }).status === "draining",
          );
          child.send("close");
          await child.next((line) => line === "done close");
          // Longer than the heartbeat's max age: it still beats.
          await new Promise((resolve) => setTimeout(resolve, 1500));
          assert.equal(verdict({ unit: "api", rundir }).status, "healthy", "still live");
          assert.equal(verdict({ unit: "api", rundir, ready: true }).status, "draining");
          child.signal("SIGTERM");
          assert.equal(await child.exited(), 1, "exits 1, not killed by the signal");
          assert.match(
            child.stderr,
            /^@cic\/liveness: Cannot shut down cleanly: a second SIGTERM during the shutdown: exiting at once with 1$/m,
          );
        } finally {
          await child.stop();
        }
      });
    },
  );

  test(`${runtime}: a program that has finished its work exits, timers and listeners or not`, {
    timeout: 60_000,
  }, async () => {
    await withTempDir((rundir) => {
      const [command, args] = commandFor(runtime, fixture("finish"));
      const result = spawnSync(command, [...args, rundir, "api"], {
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(result.signal, null, "it had to be killed: something held it alive");
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, "done\n");
    });
  });
}

test("shutdown() runs the sequence without a signal and without exiting", async () => {
  await withTempDir(async (rundir) => {
    const order: string[] = [];
    const liveness: Liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    liveness.onShutdown(() => void order.push("first registered"));
    const remove = liveness.onShutdown(() => void order.push("removed"));
    liveness.onShutdown(({ signal }) => {
      order.push(`last registered ${signal}`);
      assert.equal(readFileSync(`${rundir}/api/ready`, "utf8"), "draining\n");
    });
    remove();
    const shutdown = liveness.shutdown({ drain: 0 });
    assert.equal(liveness.shutdown(), shutdown, "one sequence");
    const result = await shutdown;
    assert.deepEqual(order, ["last registered undefined", "first registered"]);
    assert.deepEqual(result, { code: 0, signal: undefined, errors: [], timedOut: false });
    assert.deepEqual(readState(`${rundir}/api`), {});
    await liveness.close(); // idempotent
  });
});

test("close() is idempotent and `await using` disposes the owner", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    const dispose = (liveness as unknown as Record<symbol, () => Promise<void>>)[
      Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")
    ];
    assert.equal(typeof dispose, "function");
    await dispose.call(liveness);
    await liveness.close();
    assert.deepEqual(readState(`${rundir}/api`), {});
  });
});

/** Resolves once `check` has been called: it then waits until the test settles it. */
function pendingCheck(): { check: () => Promise<boolean>; called: Promise<void>; pass(): void } {
  let pass = () => {};
  let called = () => {};
  const calledPromise = new Promise<void>((resolve) => (called = resolve));
  const result = new Promise<boolean>((resolve) => (pass = () => resolve(true)));
  return {
    check: () => {
      called();
      return result;
    },
    called: calledPromise,
    pass: () => pass(),
  };
}

test("a load() whose checks end after close() writes nothing, and never disturbs the next owner", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const old = createLiveness({ ...options, heartbeat: { interval: 20, maxAge: 5000 } });
    const { check, called, pass } = pendingCheck();
    const loading = old.load([check]);
    await called;
    await old.close();
    pass();
    const failure = await loading.then(() => undefined, (error: unknown) => error);
    const written = readState(`${rundir}/api`);

    const next = createLiveness({ ...options, heartbeat: false });
    assert.notEqual(next, old);
    await next.load([]);
    next.set(0);
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) { // many of the old owner's intervals, had its timer run
      seen.add(verdict(options).status);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual([...seen], ["healthy"], "the next owner stays healthy");
    old.reset(); // closed: it touches nothing any more
    assert.equal(verdict(options).status, "healthy", "not even by reset()");
    assert.deepEqual(written, {}, "the late load wrote nothing");
    assert.throws(() => old.set(0), NotLoadedError, "nor loaded the closed owner");
    assert.match(
      String(failure),
      /^LivenessError: Cannot load\(\): unit .* was closed while load\(\) ran its checks: nothing was written/,
    );
    await next.close();
  });
});

test("a load() whose checks end after shutdown() began writes nothing, and the unit stays draining", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir }) as Unit;
    const { check, called, pass } = pendingCheck();
    const loading = liveness.load([check]);
    await called;
    const shutdown = liveness.shutdown({ drain: 300 });
    pass();
    const failure = await loading.then(() => undefined, (error: unknown) => error);
    assert.equal(liveness.fetch(new Request("http://pod/readyz")).status, 503, "not ready");
    assert.deepEqual(readState(`${rundir}/api`), {}, "nothing written during the drain");
    assert.equal(verdictOf(liveness, "ready").status, "no-pid");
    assert.match(String(failure), /began shutting down while load\(\) ran its checks/);
    await assert.rejects(
      liveness.load([]),
      /^TypeError: Cannot load\(\): unit .* is shutting down/,
    );
    assert.equal((await shutdown).code, 0);
    assert.deepEqual(readState(`${rundir}/api`), {});
  });
});

test("an onError that throws breaks no shutdown: it resolves, the unit closed", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({
      unit: "api",
      rundir,
      onError: () => {
        throw new Error("reporter down");
      },
    });
    await liveness.load([]);
    liveness.set(0);
    const failure = new Error("handler failed");
    liveness.onShutdown(() => {
      throw failure;
    });
    const result = await liveness.shutdown({ drain: 0 });
    assert.equal(result.code, 1);
    assert.deepEqual(result.errors, [failure]);
    assert.deepEqual(readState(`${rundir}/api`), {}, "closed: the state removed");
    const next = createLiveness({ unit: "api", rundir });
    assert.notEqual(next, liveness, "a new owner may be made");
    await next.close();
  });
});

test("shutdown() resolves with code 1 when the state cannot be removed, and says why", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    liveness.set(0);
    rmSync(`${liveness.dir}/error`);
    mkdirSync(`${liveness.dir}/error`); // a directory: no removal takes it
    const result = await liveness.shutdown({ drain: 0 });
    assert.equal(result.code, 1);
    assert.equal(result.timedOut, false);
    assert.equal(result.errors.length, 1);
    assert.ok(result.errors[0] instanceof StateError);
    assert.equal((result.errors[0] as StateError).path, `${liveness.dir}/error`);
    assert.equal(reported.at(-1), result.errors[0], "reported too");
    assert.throws(() => liveness.set(0), NotLoadedError, "closed all the same");
    assert.notEqual(createLiveness({ unit: "api", rundir }), liveness, "and forgotten");
    rmSync(`${liveness.dir}/error`, { recursive: true });
    await createLiveness({ unit: "api", rundir }).close();
  });
});

test("close() in a shutdown handler leaves the unit live until the sequence ends", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir }) as Unit;
    await liveness.load([]);
    liveness.set(0);
    const seen: string[] = [];
    liveness.onShutdown(async () => {
      await liveness.close(); // resolves at once: awaiting it here must not wait for this handler
      seen.push(`${verdict({ unit: "api", rundir }).status} ${verdictOf(liveness, "live").status}`);
      liveness.set(0);
    });
    const result = await liveness.shutdown({ drain: 0, timeout: 5000 });
    assert.deepEqual(result, { code: 0, signal: undefined, errors: [], timedOut: false });
    assert.deepEqual(seen, ["healthy healthy"]);
    assert.deepEqual(readState(`${rundir}/api`), {}, "closed at the end");
    assert.throws(() => liveness.set(0), NotLoadedError);
  });
});

test("handleSignals() checks every signal name before it handles any, on every runtime", async () => {
  await withTempDir(async (rundir) => {
    const subscribed: string[] = [];
    const recording: Runtime = {
      ...current,
      onSignal(signal, listener) {
        subscribed.push(signal);
        return current.onSignal(signal, listener);
      },
    };
    const liveness = new Unit(recording, { unit: "api", rundir });
    const bad = [
      ["SIGTERM", "SIGKILL"],
      ["SIGINT", "SIGSTOP"],
      ["SIGTERM", "SIGSEGV"],
      ["SIGTERM", "SIGFOO"],
      ["SIGTERM", "sigterm"],
      ["SIGTERM", "TERM"],
    ];
    for (const signals of bad) {
      assert.throws(
        () => liveness.handleSignals({ signals }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message.startsWith(`Cannot handleSignals(): "${signals[1]}" cannot start`),
        signals.join(),
      );
    }
    assert.deepEqual(subscribed, [], "none handled");
    liveness.handleSignals({ signals: ["SIGTERM", "SIGHUP", "SIGTERM"] });
    assert.deepEqual(subscribed, ["SIGTERM", "SIGHUP"], "each once");
    await liveness.close();
    assert.throws(
      () => liveness.handleSignals(),
      /^TypeError: Cannot handleSignals\(\): unit .* was closed/,
    );
  });
});

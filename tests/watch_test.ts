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
    // A synchronous check cannot be cut; one that returns true after its time is up timed out.
    let done = false;
    liveness.watch({
      busy: {
        check: () => {
          const end = Date.now() + 40;
          while (Date.now() < end) done = false;
          return done = true;
        },
        timeout: 10,
        interval: 60_000,
      },
    });
    await until(() => done, "the busy check returned");
    const { body: busy } = await ask(liveness, "/readyz?verbose");
    assert.match(busy, /^\[-\]busy failed: not ready \(check busy: timed out after 10ms\), /m);
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
    for (const ok of [false, false, true, false, false]) {
      await answer(ok);
      const { healthy } = probe({ unit: "api", rundir });
      assert.ok(healthy, `after ${ok}: fewer than 3 failures in a row since the last success`);
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
    assert.match(probes(rundir, false), /^0 unit api: healthy \(pid \d+\)$/, "live again");
    assert.equal((await ask(liveness, "/livez")).status, 200);
    await liveness.close();
  });
});

test("watch: ?verbose lists each check with its last result and age, ?exclude leaves one out", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let calls = 0;
    liveness.watch({ db: () => (calls++, true), cache: () => (calls++, false) }, {
      interval: 60_000,
    });
    liveness.watch({ loop: { check: () => (calls++, true), kind: "live" } });
    await until(() => calls === 3, "three results");
    await until(
      async () => (await ask(liveness, "/readyz?verbose")).body.includes("cache failed"),
      "cache failed",
    );
    const age = "[\\d.]+s ago";
    const readyz = await ask(liveness, "/readyz?verbose");
    assert.equal(readyz.status, 503);
    assert.match(
      readyz.body,
      new RegExp(
        `^\\[\\+\\]pid ok\\n\\[\\+\\]error ok\\n\\[\\+\\]heartbeat ok\\n\\[\\+\\]loop ok \\(passed ${age}\\)\\n` +
          `\\[\\+\\]ready ok\\n\\[\\+\\]db ok \\(passed ${age}\\)\\n` +
          `\\[-\\]cache failed: not ready \\(check cache: returned false\\), ${age}\\nreadyz check failed\\n$`,
      ),
    );
    const livez = await ask(liveness, "/livez?verbose");
    assert.equal(livez.status, 200, "readiness checks are not part of liveness");
    assert.match(livez.body, new RegExp(`^\\[\\+\\]loop ok \\(passed ${age}\\)$`, "m"));
    assert.doesNotMatch(livez.body, /db|cache/);
    // Without ?verbose: no reason, no result.
    assert.match(
      (await ask(liveness, "/readyz")).body,
      /^\[\+\]db ok\n\[-\]cache failed: reason withheld\n/m,
    );
    const excluded = await ask(liveness, "/readyz?verbose&exclude=cache");
    assert.equal(excluded.status, 200);
    assert.match(excluded.body, /^\[\+\]cache excluded: ok$/m);
    // The files know nothing of ?exclude.
    assert.equal(probes(rundir, true), "1 unit api: not ready (check cache: returned false)");
    const json = JSON.parse(
      (await ask(liveness, "/readyz?verbose", "application/health+json")).body,
    );
    assert.equal(json.status, "fail");
    assert.deepEqual(Object.keys(json.checks), [
      "pid",
      "error",
      "heartbeat",
      "loop",
      "ready",
      "db",
      "cache",
    ]);
    assert.equal(json.checks.cache[0].output, "not ready (check cache: returned false)");
    for (const name of ["db", "cache", "loop"]) {
      const time = Date.parse(json.checks[name][0].time);
      assert.ok(
        time <= Date.now() && Date.now() - time < 600_000,
        `${name}: ${json.checks[name][0].time}`,
      );
    }
    assert.equal(json.checks.pid[0].time, undefined);
    await liveness.close();
  });
});

test("watch: a check that throws, rejects or returns no boolean fails with its message, never crashes", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    const cases: [() => unknown, string][] = [
      [() => {
        throw new Error("connection refused");
      }, "connection refused"],
      [() => Promise.reject(new TypeError("bad host")), "bad host"],
      [() => Promise.reject("down"), 'threw "down"'],
      [() => {
        throw {
          toString: () => {
            throw new Error("no");
          },
        };
      }, "threw a value that cannot be shown"],
      [() => "yes", 'returned "yes": a check returns true or false (or a promise of one)'],
      [() => undefined, "returned undefined: a check returns true or false (or a promise of one)"],
      [
        () => new Error("multi\nline\u00e9"),
        "returned an object: a check returns true or false (or a promise of one)",
      ],
    ];
    for (const [check, text] of cases) {
      let called = false;
      const stop = liveness.watch({
        db: () => {
          called = true;
          return (check as () => boolean)();
        },
      }, { interval: 60_000 });
      await until(
        () =>
          called &&
          probe({ unit: "api", rundir, ready: true }).reason !==
            "unit api: not ready (check db: not run yet)",
        "a result",
      );
      assert.equal(
        probe({ unit: "api", rundir, ready: true }).reason,
        `unit api: not ready (check db: ${text})`,
      );
      stop();
      assert.equal(
        probe({ unit: "api", rundir, ready: true }).healthy,
        true,
        "stopped: ready again",
      );
    }
    // A message on several lines, or not ASCII, stays one printable line of the ready file.
    let done = false;
    liveness.watch({
      db: () => (done = true, Promise.reject(new Error(`a\nb\u00e9${"x".repeat(400)}`))),
    });
    await until(
      () => done && /\(check db: a\?b/.test(probe({ unit: "api", rundir, ready: true }).reason),
      "a result",
    );
    const { reason } = probe({ unit: "api", rundir, ready: true });
    assert.equal(reason, `unit api: not ready (check db: a?b??${"x".repeat(145)})`);
    assert.equal(probes(rundir, true), `1 ${reason}`);
    await liveness.close();
  });
});

test("watch: the program's ready(false) and a failing check combine: not ready while either says so", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let ok = false;
    let calls = 0;
    liveness.watch({ db: () => (calls++, ok) }, { interval: 5 });
    await until(() => calls > 0, "a call");
    liveness.ready(false, "warming");
    assert.equal(
      probes(rundir, true),
      "1 unit api: not ready (warming)",
      "the program's reason first",
    );
    assert.match(
      (await ask(liveness, "/readyz?verbose")).body,
      /^\[-\]ready failed: not ready \(warming\)$/m,
    );
    liveness.ready(true);
    assert.equal(probes(rundir, true), "1 unit api: not ready (check db: returned false)");
    ok = true;
    await until(() => probe({ unit: "api", rundir, ready: true }).healthy, "ready");
    liveness.ready(false);
    assert.equal(
      probes(rundir, true),
      "1 unit api: not ready",
      "a passing check never makes it ready",
    );
    assert.equal((await ask(liveness, "/readyz?exclude=db")).status, 503);
    liveness.ready(true);
    assert.equal(probe({ unit: "api", rundir, ready: true }).healthy, true);
    await liveness.close();
  });
});

test("watch: checks watched before load() run at once, and load() writes their verdict first", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    liveness.watch({ db: () => new Promise<boolean>(() => {}) }, { timeout: 60_000 });
    await liveness.load([]);
    liveness.set(0);
    assert.equal(probes(rundir, true), "1 unit api: not ready (check db: not run yet)");
    assert.equal(probe({ unit: "api", rundir }).healthy, true);
    await liveness.close();
  });
});

test("watch: close() and the shutdown stop every check and abort the call in flight", async () => {
  await withTempDir(async (rundir) => {
    for (const end of ["close", "shutdown"] as const) {
      const liveness = await live(rundir);
      let calls = 0;
      let signal: AbortSignal | undefined;
      liveness.watch({
        quick: { check: () => (calls++, true), interval: 1 },
        slow: {
          check: (given) => (signal = given, new Promise<boolean>(() => {})),
          interval: 1,
          timeout: 60_000,
        },
      });
      await until(() => calls >= 3 && signal !== undefined, "three calls");
      if (end === "close") await liveness.close();
      else await liveness.shutdown({ drain: 0 });
      assert.equal((signal!.reason as DOMException).name, "AbortError", end);
      const after = calls;
      await new Promise((resolve) => setTimeout(resolve, 50)); // fifty intervals
      assert.equal(calls, after, `${end}: a check ran after it`);
      if (end === "close") {
        assert.throws(() => liveness.watch({ db: () => true }), {
          name: "TypeError",
          message: `Cannot watch(): unit ${rundir}/api was closed`,
        });
      } else {
        liveness.watch({ db: () => (calls++, true) })(); // after a shutdown: starts nothing
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(calls, after, `${end}: a check ran after it`);
    }
  });
});

test("watch: a program that closes its owner exits at once, the call in flight aborted", async () => {
  await withTempDir((rundir) => {
    const [command, args] = runtimeCommand(fixture("watch_close"));
    const result = spawnSync(command, [...args, rundir, "api"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(result.signal, null, "it had to be killed: something held it alive");
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "done\n");
  });
});

test("watch: bad checks and options are TypeErrors that name them, and nothing starts", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let calls = 0;
    const check = () => (calls++, true);
    const bad: [unknown, unknown, RegExp][] = [
      [[check], undefined, /^Cannot call watch\(\): its checks must be an object of named checks/],
      [check, undefined, /its checks must be an object of named checks .*, got a function$/],
      [{}, undefined, /^Cannot call watch\(\): it was given no check: name at least one$/],
      [
        { pid: check },
        undefined,
        /^Cannot call watch\(\): check "pid" is not a name a check can have/,
      ],
      [{ "a b": check }, undefined, /check "a b" is not a name a check can have/],
      [{ [`a${"b".repeat(63)}`]: check }, undefined, /is not a name a check can have/],
      [
        { db: true },
        undefined,
        /^Cannot call watch\(\): check "db" must be a function or an object with a check\(\) function, got true$/,
      ],
      [
        { db: { check, every: 5 } },
        undefined,
        /^Cannot call watch\(\) with check "db": unknown option "every"/,
      ],
      [
        { db: { check, interval: 0 } },
        undefined,
        /^Cannot call watch\(\): check "db"\.interval must be a whole number of milliseconds from 1 to 2147483647, got 0$/,
      ],
      [
        { db: { check, timeout: Infinity } },
        undefined,
        /check "db"\.timeout must be a whole number of milliseconds from 1 to 2147483647, got Infinity$/,
      ],
      [
        { db: { check, threshold: 1.5 } },
        undefined,
        /check "db"\.threshold must be a whole number of failures/,
      ],
      [
        { db: { check, kind: "startup" } },
        undefined,
        /^Cannot call watch\(\): check "db"\.kind must be "ready" or "live", got "startup"$/,
      ],
      [
        { db: check },
        { interval: "5s" },
        /^Cannot call watch\(\): options\.interval must be a whole number of milliseconds from 1 to 2147483647, got "5s"$/,
      ],
      [
        { db: check },
        { timout: 5 },
        /^Cannot call watch\(\): unknown option "timout" \(did you mean "timeout"\?\)/,
      ],
      [{ db: check, cache: { check, interval: -1 } }, undefined, /check "cache"\.interval/],
    ];
    for (const [checks, options, message] of bad) {
      assert.throws(
        () => liveness.watch(checks as never, options as never),
        (error: Error) => error instanceof TypeError && message.test(error.message),
        `${JSON.stringify(checks)} ${JSON.stringify(options)}`,
      );
    }
    liveness.watch({ db: check }, { interval: 60_000 });
    assert.throws(() => liveness.watch({ db: check }), {
      name: "TypeError",
      message: 'Cannot call watch(): check "db" is already watched: stop it first',
    });
    await until(() => calls === 1, "one call");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls, 1, "only the good db ran");
    await liveness.close();
  });
});

test("watch: after reset() the checks write nothing; a new load() writes their verdict", async () => {
  await withTempDir(async (rundir) => {
    const liveness = await live(rundir);
    let calls = 0;
    let ok = true;
    liveness.watch({ db: () => (calls++, ok) }, { interval: 2 });
    await until(() => calls > 0 && probe({ unit: "api", rundir, ready: true }).healthy, "ready");
    liveness.reset();
    ok = false;
    const after = calls;
    await until(() => calls > after + 3, "more calls");
    assert.deepEqual(readdirSync(`${rundir}/api`), [], "nothing written while not loaded");
    await liveness.load([]);
    liveness.set(0);
    assert.equal(probes(rundir, true), "1 unit api: not ready (check db: returned false)");
    await liveness.close();
  });
});

test("watch(): whenFirstReady() resolves when a readiness check first passes, with no other call", {
  timeout: 20_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, heartbeat: false });
    await liveness.load([]);
    let passing = false;
    liveness.watch({ db: { check: () => passing, interval: 10 } });
    liveness.set(0); // live, and not ready before the check passes
    let first = false;
    const firstReady = liveness.whenFirstReady().then(() => first = true);
    await until(
      () => probe({ unit: "api", rundir, ready: true }).status === "not-ready",
      "the check says not ready",
    );
    assert.equal(first, false, "not before the check passes");
    assert.equal(liveness.state.ready, false);
    passing = true;
    // The checks' timers never keep a program alive: this one waits on its own.
    const alive = setInterval(() => {}, 1000);
    await firstReady.finally(() => clearInterval(alive));
    assert.equal(liveness.state.ready, true);
    assert.equal(probe({ unit: "api", rundir, ready: true }).healthy, true);
    await liveness.close();
  });
});

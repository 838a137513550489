import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { HealthCheckError, load } from "../mod.ts";
import { DEFAULT_CHECK_TIMEOUT, runChecks } from "../src/_checks.ts";
import { assertKnownKeys } from "../src/_options.ts";
import { Unit } from "../src/_unit.ts";
import { runtimeWith } from "./_fake_runtime.ts";
import { fixture, readState, runtimeCommand, withTempDir } from "./_helpers.ts";

/** A runtime whose working directory is `/`, for `runChecks()`. */
const root = runtimeWith({ cwd: "/" });

/**
 * `promise`, or a rejection when it has not settled within `ms`: a check
 * that hangs must fail its test, not the whole run.
 */
async function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** The file name of fixture `name` in the suite's language (`check_pass.ts` or `.js`). */
const fixtureName = (name: string) => fixture(name).replace(/^.*\//, "");

test("each kind of check runs with the load options' args", async () => {
  await withTempDir(async (rundir) => {
    const seen: unknown[][] = [];
    const counter = {
      calls: 0,
      health(...args: unknown[]) {
        this.calls++;
        seen.push(args);
        return true;
      },
    };
    await load(
      [
        fixture("check_args"),
        pathToFileURL(fixture("check_args")),
        pathToFileURL(fixture("check_args")).href,
        (...args: unknown[]) => (seen.push(args), true),
        async () => await Promise.resolve(true),
        counter,
      ],
      { unit: "api", rundir, args: ["db", 5432] },
    );
    assert.equal(counter.calls, 1, "health() is called as a method");
    assert.deepEqual(seen, [["db", 5432], ["db", 5432]]);
    assert.equal(readState(`${rundir}/api`).pid, `${process.pid}\n`);
  });
});

test("relative specifiers resolve against the working directory", async () => {
  await withTempDir(async (rundir) => {
    const fixtures = fixture("check_pass").replace(/\/[^/]+$/, "");
    const name = fixture("check_pass").slice(fixtures.length + 1);
    const failing = fixture("check_fail").slice(fixtures.length + 1);
    const liveness = new Unit(runtimeWith({ cwd: `${fixtures}/..` }), { unit: "api", rundir });
    await liveness.load([`./fixtures/${name}`]);
    assert.equal(readState(liveness.dir).pid, `${process.pid}\n`);
    // From inside fixtures/, "../fixtures/" comes back to it: the failing
    // module is found (and fails) only if "../" resolves against the cwd.
    const inside = new Unit(runtimeWith({ cwd: fixtures }), { unit: "api", rundir });
    await assert.rejects(
      inside.load([`./${name}`, `../fixtures/${failing}`]),
      (error: HealthCheckError) => error.failed[0] === `#2 "../fixtures/${failing}"`,
    );

    const previous = process.cwd();
    process.chdir(fixtures);
    try {
      await load([`./${name}`, `../fixtures/${name}`], { unit: "real-cwd", rundir });
    } finally {
      process.chdir(previous);
    }
    assert.equal(readState(`${rundir}/real-cwd`).pid, `${process.pid}\n`);
  });
});

test("relative specifiers work in a directory whose name URLs treat specially", async () => {
  await withTempDir(async (tmp) => {
    // No "?": Bun's import() cannot load a file whose path holds one, however encoded.
    const odd = `${tmp}/a b#c%41é`;
    mkdirSync(`${odd}/sub dir`, { recursive: true });
    const name = fixture("check_fail").replace(/^.*\//, "");
    copyFileSync(fixture("check_fail"), `${odd}/sub dir/${name}`);
    const liveness = new Unit(runtimeWith({ cwd: odd }), { unit: "api", rundir: tmp });
    // The module is found, and runs: it fails, naming its specifier.
    await assert.rejects(
      liveness.load([`./sub dir/${name}`, `../${odd.replace(/^.*\//, "")}/sub dir/${name}`]),
      (error: HealthCheckError) => error.failed.length === 2,
    );
  });
});

test("a check that returns false fails the load, naming every failing check", async () => {
  await withTempDir(async (rundir) => {
    const cacheIsWarm = () => false;
    const checks = [
      () => true,
      fixture("check_fail"),
      cacheIsWarm,
      { health: () => Promise.resolve(false) },
      () => false,
    ];
    await assert.rejects(load(checks, { unit: "api", rundir }), (error: HealthCheckError) => {
      assert.ok(error instanceof HealthCheckError);
      assert.equal(error.name, "HealthCheckError");
      assert.deepEqual(error.failed, [
        `#2 ${JSON.stringify(fixture("check_fail"))}`,
        "#3 cacheIsWarm",
        "#4 (object)",
        "#5 (anonymous function)",
      ]);
      assert.equal(error.total, 5);
      assert.match(error.message, /^Cannot load: 4 of 5 health checks failed: #2 .*#3 cacheIsWarm/);
      return true;
    });
    assert.deepEqual(readdirSync(rundir), [], "nothing is written");
  });
});

test("a failing load leaves an earlier process's state unhealthy-as-it-was, not rewritten", async () => {
  await withTempDir(async (rundir) => {
    mkdirSync(`${rundir}/api`);
    writeFileSync(`${rundir}/api/pid`, "999999\n");
    writeFileSync(`${rundir}/api/error`, "0\n");
    await assert.rejects(load([() => false], { unit: "api", rundir }), HealthCheckError);
    assert.deepEqual(readState(`${rundir}/api`), { error: "0\n", pid: "999999\n" });
  });
});

test("an exception a check throws reaches the caller untouched", async () => {
  await withTempDir(async (rundir) => {
    const thrown = new RangeError("database unreachable");
    let later = false;
    await assert.rejects(
      load([() => true, () => {
        throw thrown;
      }, () => (later = true)], { unit: "api", rundir }),
      (error) => error === thrown,
    );
    const rejected = { code: 42 };
    await assert.rejects(
      load([() => Promise.reject(rejected)], { unit: "api", rundir }),
      (error) => error === rejected,
    );
    assert.equal(later, false, "checks after a throwing one do not run");
    assert.deepEqual(readdirSync(rundir), []);
  });
});

test("a module without health(), a bad check or a non-boolean result is a TypeError", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    await assert.rejects(load([fixture("no_health")], options), (error: TypeError) => {
      assert.ok(error instanceof TypeError);
      assert.ok(error.message.includes(JSON.stringify(fixture("no_health"))), error.message);
      assert.match(error.message, /no health\(\) export/);
      return true;
    });
    await assert.rejects(load([42 as never], options), /#1 \(42\): it is neither/);
    await assert.rejects(load([{ health: true } as never], options), TypeError);
    await assert.rejects(load([() => undefined as never], options), /returned undefined/);
    await assert.rejects(load([() => Promise.resolve(1 as never)], options), /returned 1/);
    await assert.rejects(load([() => "yes" as never], options), /returned "yes"/);
    assert.deepEqual(readdirSync(rundir), []);
  });
});

test("load() takes a list of checks: a function, a string or a number is a TypeError", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const cases: [unknown, RegExp][] = [
      [() => true, /got a function: to run one check, pass a list of it, load\(\[check\]\)/],
      ["./checks/db.ts", /got "\.\/checks\/db\.ts": .* load\(\["\.\/checks\/db\.ts"\]\)/],
      [42, /got 42$/],
      [undefined, /got undefined$/],
      [null, /got null$/],
    ];
    for (const [checks, message] of cases) {
      await assert.rejects(within(load(checks as never, options)), (error: TypeError) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /^Cannot call load\(\): its checks must be a list/);
        assert.match(error.message, message);
        return true;
      });
    }
    assert.deepEqual(readdirSync(rundir), []);
    await load(new Set([() => true]), options); // any iterable but a string
  });
});

test("a missing check module names the check, the path and the cause, not the library", async () => {
  await withTempDir(async (tmp) => {
    const liveness = new Unit(runtimeWith({ cwd: tmp }), { unit: "api", rundir: tmp });
    await assert.rejects(liveness.load([() => true, "./checks/db.ts"]), (error: TypeError) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.equal(
        error.message,
        `Cannot load health check #2 "./checks/db.ts": no module at ${tmp}/checks/db.ts ` +
          `(relative to the working directory ${tmp})`,
      );
      assert.ok(error.cause instanceof Error, "the runtime's error is the cause");
      return true;
    });
    const absolute = `${tmp}/elsewhere/db.ts`;
    await assert.rejects(
      liveness.load([absolute, pathToFileURL(absolute)]),
      new RegExp(
        `^TypeError: Cannot load health check #1 "${absolute}": no module at ${absolute}$`,
      ),
    );
    await assert.rejects(
      liveness.load([pathToFileURL(absolute)]),
      (error: TypeError) => !/_checks|liveness\/src/.test(error.message),
    );
  });
});

test("from the root directory a relative check shows as /name, not //name", async () => {
  await withTempDir(async (rundir) => {
    const liveness = new Unit(runtimeWith({ cwd: "/" }), { unit: "api", rundir });
    await assert.rejects(liveness.load(["./liveness-no-such-check.ts"]), (error: TypeError) => {
      assert.match(error.message, / no module at \/liveness-no-such-check\.ts /);
      assert.doesNotMatch(error.message, /\/\/liveness/);
      return true;
    });
  });
});

test("a bare specifier stays a package name, with a hint when such a file exists", async () => {
  await withTempDir(async (tmp) => {
    const name = fixtureName("check_pass");
    mkdirSync(`${tmp}/checks`);
    copyFileSync(fixture("check_pass"), `${tmp}/checks/${name}`);
    const liveness = new Unit(runtimeWith({ cwd: tmp }), { unit: "api", rundir: tmp });
    await assert.rejects(liveness.load([`checks/${name}`]), (error: TypeError) => {
      assert.ok(error instanceof TypeError);
      assert.equal(
        error.message,
        `Cannot load health check #1 "checks/${name}": "checks/${name}" names a package that ` +
          `cannot be imported; did you mean "./checks/${name}"? (${tmp}/checks/${name})`,
      );
      assert.ok(error.cause instanceof Error);
      return true;
    });
    await assert.rejects(
      liveness.load(["liveness-no-such-package/health"]),
      /^TypeError: Cannot load health check #1 "liveness-no-such-package\/health": .* cannot be imported$/,
    );
    await liveness.load([`./checks/${name}`]); // as the hint says
    assert.equal(readState(liveness.dir).pid, `${process.pid}\n`);
  });
});

test("a check module that throws while loading is named, with its exception as the cause", async () => {
  await withTempDir(async (rundir) => {
    const path = fixture("check_throws");
    await assert.rejects(load([path], { unit: "api", rundir }), (error: Error) => {
      assert.equal(
        error.message,
        `Cannot load health check #1 ${JSON.stringify(path)} (${path}): ` +
          "RangeError: DATABASE_URL is not set",
      );
      assert.ok(error.cause instanceof RangeError);
      return true;
    });
    assert.deepEqual(readdirSync(rundir), []);
  });
});

test("a check that does not settle in time fails the load, naming it", async () => {
  const hangs = fixture("check_hangs");
  let lateRejection = false;
  const rejectsLate = () =>
    new Promise<boolean>((_, reject) =>
      setTimeout(() => {
        lateRejection = true;
        reject(new Error("too late to matter"));
      }, 1500)
    );
  await assert.rejects(
    within(
      runChecks(root, [() => true, hangs, () => false, rejectsLate], [], { timeout: 1000 }),
    ),
    (error: HealthCheckError) => {
      assert.ok(error instanceof HealthCheckError, String(error));
      assert.deepEqual(error.failed, [
        `#2 ${JSON.stringify(hangs)}`,
        "#3 (anonymous function)",
        "#4 rejectsLate",
      ]);
      assert.deepEqual(error.timedOut, [`#2 ${JSON.stringify(hangs)}`, "#4 rejectsLate"]);
      assert.equal(
        error.message,
        `Cannot load: 3 of 4 health checks failed: #2 ${
          JSON.stringify(hangs)
        } did not finish in 1000 ms, ` +
          "#3 (anonymous function), #4 rejectsLate did not finish in 1000 ms: " +
          "fix what these checks test, then start again (no state was written)",
      );
      return true;
    },
  );
  // The late rejection is nobody's: no unhandled rejection fails the run.
  await new Promise((resolve) => setTimeout(resolve, 1600));
  assert.ok(lateRejection);
});

test(
  "by default a check that never settles fails the load after 10 s",
  { timeout: 30_000 },
  async () => {
    assert.equal(DEFAULT_CHECK_TIMEOUT, 10_000);
    await withTempDir(async (rundir) => {
      const started = Date.now();
      const never = () => new Promise<boolean>(() => {});
      await assert.rejects(
        within(load([never], { unit: "api", rundir }), 20_000),
        (error: HealthCheckError) => {
          assert.deepEqual(error.timedOut, ["#1 never"]);
          assert.match(error.message, /#1 never did not finish in 10000 ms/);
          return true;
        },
      );
      assert.ok(Date.now() - started >= 9_900);
      assert.deepEqual(readdirSync(rundir), []);
    });
  },
);

test("a check that declares one parameter more than args gets the signal; others only args", async () => {
  let reason: unknown;
  const seen: unknown[][] = [];
  const stops = (_role: string, signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      signal.addEventListener("abort", () => {
        reason = signal.reason;
        resolve(true); // too late: the check has timed out
      });
    });
  const rest = (...args: unknown[]) => (seen.push(args), true);
  const one = (role: string) => (seen.push([role]), true);
  const defaulted = (role: string, signal: unknown = "none") => (seen.push([role, signal]), true);
  const object = {
    health(role: string, signal?: AbortSignal) {
      seen.push([role, signal instanceof AbortSignal]);
      return true;
    },
  };
  await runChecks(root, [rest, one, defaulted, object], ["primary"]);
  assert.deepEqual(seen, [["primary"], ["primary"], ["primary", "none"], ["primary", true]]);
  await assert.rejects(
    within(runChecks(root, [stops], ["primary"], { timeout: 100 })),
    (error: HealthCheckError) => {
      assert.deepEqual(error.timedOut, ["#1 stops"]);
      return true;
    },
  );
  assert.ok(reason instanceof DOMException, String(reason));
  assert.equal(reason.name, "TimeoutError");
});

test("a synchronous check that blocks past its time counts as timed out", async () => {
  const blocks = () => {
    const end = Date.now() + 120;
    while (Date.now() < end); // nothing can interrupt this
    return true;
  };
  await assert.rejects(
    runChecks(root, [blocks], [], { timeout: 30 }),
    (error: HealthCheckError) => error.timedOut[0] === "#1 blocks",
  );
  await runChecks(root, [() => true], [], { timeout: Infinity });
});

test("a signal aborts the run: the running check is told, later checks do not run", async () => {
  const controller = new AbortController();
  const reason = new Error("shutting down");
  let told: unknown;
  let later = false;
  const slow = (signal: AbortSignal) =>
    new Promise<boolean>((_, reject) => {
      signal.addEventListener("abort", () => reject(told = signal.reason));
      setTimeout(() => controller.abort(reason), 20);
    });
  await assert.rejects(
    within(runChecks(root, [slow, () => (later = true)], [], { signal: controller.signal })),
    (error) => error === reason,
  );
  assert.equal(told, reason);
  assert.equal(later, false);
  await assert.rejects(
    runChecks(root, [() => (later = true)], [], { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(later, false);
});

test("the check timer does not keep the program alive once the checks are done", async () => {
  const [command, args] = runtimeCommand(fixture("run_checks"));
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  const code = await within(new Promise((resolve) => child.on("exit", resolve)), 20_000)
    .finally(() => child.kill("SIGKILL"));
  assert.equal(code, 0);
  assert.equal(output.trim(), "done");
});

test("runChecks options: an unknown key or a bad value is a TypeError naming it", async () => {
  const run = (options: unknown, args: unknown = []) =>
    runChecks(root, [() => true], args as never, options as never);
  await assert.rejects(run({ unti: "x" }), {
    name: "TypeError",
    message: 'Cannot call load(): unknown option "unti"; the options are "timeout" and "signal"',
  });
  await assert.rejects(run({ timout: 5 }), /unknown option "timout" \(did you mean "timeout"\?\)/);
  for (const timeout of [0, -1, NaN, "5000", null]) {
    await assert.rejects(run({ timeout }), /options\.timeout must be a positive number/);
  }
  await assert.rejects(run({ signal: {} }), /options\.signal must be an AbortSignal/);
  await assert.rejects(run({}, "db"), /options\.args must be an array, got "db"/);
  await assert.rejects(run("fast"), /its options must be an object, got "fast"/);
  await run(undefined);
  await run({ timeout: 2 ** 40 }); // beyond what a timer takes: no limit
});

test("assertKnownKeys names the unknown key, a near one and every known key", () => {
  const known = ["unit", "rundir", "args"];
  assertKnownKeys(undefined, known, "load()");
  assertKnownKeys({ unit: "api", args: [] }, known, "load()");
  assert.throws(() => assertKnownKeys({ Unit: "api" }, known, "createLiveness()"), {
    name: "TypeError",
    message:
      'Cannot call createLiveness(): unknown option "Unit" (did you mean "unit"?); the options are "unit", "rundir" and "args"',
  });
  assert.throws(
    () => assertKnownKeys({ rundri: "/run" }, known, "load()"),
    /did you mean "rundir"\?/,
  );
  assert.throws(
    () => assertKnownKeys({ ready: true }, ["unit"], "probe()"),
    /^TypeError: Cannot call probe\(\): unknown option "ready"; the options are "unit"$/,
  );
  for (const bad of [null, 42, "api", [], () => {}]) {
    assert.throws(() => assertKnownKeys(bad, known, "load()"), /its options must be an object/);
  }
});

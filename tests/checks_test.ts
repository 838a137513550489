import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { HealthCheckError, load } from "../mod.ts";
import { openUnit } from "../src/_unit.ts";
import { runtimeWith } from "./_fake_runtime.ts";
import { fixture, readState, withTempDir } from "./_helpers.ts";

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
    const liveness = openUnit(runtimeWith({ cwd: `${fixtures}/..` }), { unit: "api", rundir });
    await liveness.load([`./fixtures/${name}`]);
    assert.equal(readState(liveness.dir).pid, `${process.pid}\n`);
    // From inside fixtures/, "../fixtures/" comes back to it: the failing
    // module is found (and fails) only if "../" resolves against the cwd.
    const inside = openUnit(runtimeWith({ cwd: fixtures }), { unit: "api", rundir });
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
    const liveness = openUnit(runtimeWith({ cwd: odd }), { unit: "api", rundir: tmp });
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
      assert.match(error.message, /^4 of 5 health checks failed: #2 .*#3 cacheIsWarm/);
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
    await assert.rejects(load([42 as never], options), /#1 \(42\) is neither/);
    await assert.rejects(load([{ health: true } as never], options), TypeError);
    await assert.rejects(load([() => undefined as never], options), /returned undefined/);
    await assert.rejects(load([() => Promise.resolve(1 as never)], options), /returned 1/);
    await assert.rejects(load([() => "yes" as never], options), /returned "yes"/);
    assert.deepEqual(readdirSync(rundir), []);
  });
});

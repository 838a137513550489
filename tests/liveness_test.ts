import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import {
  createLiveness,
  HealthCheckError,
  load,
  NotLoadedError,
  probe,
  reset,
  set,
  StateError,
  UnitInUseError,
} from "../mod.ts";
import { Unit, verdictOf } from "../src/_unit.ts";
import { faultyRuntime, type Operation, runtimeWith } from "./_fake_runtime.ts";
import { fixture, readState, runtimeCommand, withTempDir } from "./_helpers.ts";
import { holdState, kill } from "./_subjects.ts";

/** The files a loaded unit with an error code holds. */
const STATE = ["error", "heartbeat", "pid", "ready", "starttime"];

const ownStartTime = () => {
  const stat = readFileSync(`/proc/${process.pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
};

test("the life cycle writes the seed's pid and error files", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    assert.equal(liveness.dir, `${rundir}/api`);

    await liveness.load([() => true]);
    const { heartbeat, ...state } = readState(liveness.dir);
    assert.deepEqual(state, {
      pid: `${process.pid}\n`,
      ready: "ready\n",
      starttime: `${ownStartTime()}\n`,
    });
    assert.match(heartbeat, new RegExp(`^\\d+\\.\\d\\d 10000 ${process.pid} ${ownStartTime()}\n$`));

    liveness.set(0);
    assert.equal(readState(liveness.dir).error, "0\n");
    liveness.set(3);
    assert.equal(readState(liveness.dir).error, "3\n");
    liveness.set(-1);
    assert.equal(readState(liveness.dir).error, "-1\n");

    liveness.reset();
    assert.deepEqual(readState(liveness.dir), {});
    assert.ok(statSync(liveness.dir).isDirectory(), "reset keeps the unit directory");
  });
});

test("the module functions run the same life cycle with per-call options", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "worker", rundir };
    await load([], options);
    set(0, options);
    assert.equal(readState(`${rundir}/worker`).pid, `${process.pid}\n`);
    assert.equal(readState(`${rundir}/worker`).error, "0\n");
    set(7, options);
    assert.equal(readState(`${rundir}/worker`).error, "7\n");
    reset(options);
    reset(options);
    assert.deepEqual(readState(`${rundir}/worker`), {});
  });
});

test("state files are 0644 and created directories 0755 whatever the umask", async () => {
  await withTempDir(async (tmp) => {
    const rundir = `${tmp}/run/nested`;
    const previous = process.umask(0o077);
    try {
      const liveness = createLiveness({ unit: "api", rundir });
      await liveness.load([]);
      liveness.set(0);
      for (const dir of [`${tmp}/run`, rundir, liveness.dir]) {
        assert.equal(statSync(dir).mode & 0o777, 0o755, dir);
      }
      for (const name of ["pid", "error", "starttime"]) {
        assert.equal(statSync(`${liveness.dir}/${name}`).mode & 0o777, 0o644, name);
      }
    } finally {
      process.umask(previous);
    }
  });
});

test("the unit and rundir come from options, then the environment, then the defaults", () => {
  const resolve = (env: Record<string, string>, options = {}) => {
    const { unit, rundir, dir } = new Unit(runtimeWith({ env, hostname: "pod-7" }), options);
    return { unit, rundir, dir };
  };
  assert.deepEqual(resolve({}), { unit: "pod-7", rundir: "/run", dir: "/run/pod-7" });
  assert.deepEqual(resolve({ CIC_UNIT: "seed", CIC_RUNDIR: "/seed" }), {
    unit: "seed",
    rundir: "/seed",
    dir: "/seed/seed",
  });
  const both = {
    LIVENESS_UNIT_NAME: "api",
    LIVENESS_RUNDIR: "/var/run/",
    CIC_UNIT: "seed",
    CIC_RUNDIR: "/seed",
  };
  assert.deepEqual(resolve(both), { unit: "api", rundir: "/var/run/", dir: "/var/run/api" });
  assert.deepEqual(resolve(both, { unit: "opt", rundir: "/opt" }), {
    unit: "opt",
    rundir: "/opt",
    dir: "/opt/opt",
  });
  assert.equal(
    resolve({ LIVENESS_UNIT_NAME: "", CIC_UNIT: "seed" }).unit,
    "seed",
    "empty is unset",
  );
});

test("the environment of the real process is read", async () => {
  await withTempDir(async (rundir) => {
    const saved = { ...process.env };
    process.env.LIVENESS_UNIT_NAME = "from-env";
    process.env.LIVENESS_RUNDIR = rundir;
    try {
      await load([]);
      set(0);
      assert.equal(readState(`${rundir}/from-env`).error, "0\n");
      reset();
      assert.deepEqual(readState(`${rundir}/from-env`), {});
    } finally {
      delete process.env.LIVENESS_UNIT_NAME;
      delete process.env.LIVENESS_RUNDIR;
      Object.assign(process.env, saved);
    }
  });
});

test("bad unit names are a TypeError and write nothing", async () => {
  await withTempDir(async (rundir) => {
    const bad = [
      ...["", ".", "..", "a/b", "/abs", "a\0b", ".hidden", "x".repeat(256), "é".repeat(128)],
      ...["caf\ufffd", "lone\ud800"], // what a runtime makes of bytes that are not UTF-8
    ];
    for (const unit of bad) {
      assert.throws(() => createLiveness({ unit, rundir }), TypeError, JSON.stringify(unit));
      await assert.rejects(load([], { unit, rundir }), TypeError);
      assert.throws(() => set(0, { unit, rundir }), TypeError);
      assert.throws(() => reset({ unit, rundir }), TypeError);
    }
    assert.throws(() => createLiveness({ unit: 42 as unknown as string, rundir }), TypeError);
    const env = runtimeWith({ env: { LIVENESS_UNIT_NAME: "../etc" } });
    assert.throws(() => new Unit(env, { rundir }), /\$LIVENESS_UNIT_NAME/);
    assert.throws(() => new Unit(runtimeWith({ hostname: "" }), { rundir }), /host name/);
    assert.deepEqual(readdirSync(rundir), []);
    // The longest name that fits one directory entry is fine.
    await load([], { unit: "x".repeat(255), rundir });
    reset({ unit: "x".repeat(255), rundir });
  });
});

test("a rundir that is not absolute is a TypeError", () => {
  for (
    const rundir of ["", "run", "./run", "/ru\0n", "/tmp/x/../y", "/a/./b", "/a/..", "/\ufffd"]
  ) {
    assert.throws(() => createLiveness({ unit: "api", rundir }), TypeError, JSON.stringify(rundir));
  }
  const env = runtimeWith({ env: { LIVENESS_RUNDIR: "relative" } });
  assert.throws(() => new Unit(env, { unit: "api" }), /\$LIVENESS_RUNDIR.*absolute/);
});

test("set() takes only safe integers and changes nothing otherwise", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(5);
    const bad = [1.5, NaN, Infinity, -Infinity, 2 ** 53, "0", null, true, 1n, {}];
    for (const error of bad) {
      assert.throws(() => liveness.set(error as number), TypeError, String(error));
    }
    assert.equal(readState(liveness.dir).error, "5\n");
    liveness.set(-0);
    assert.equal(readState(liveness.dir).error, "0\n");
    liveness.set(Number.MIN_SAFE_INTEGER);
    assert.equal(readState(liveness.dir).error, `${Number.MIN_SAFE_INTEGER}\n`);
  });
});

test("set() of nothing is a TypeError: an undefined errno never reads healthy", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const liveness = createLiveness(options);
    await liveness.load([]);
    liveness.set(3);
    const errno = (new Error("lost") as { errno?: number }).errno; // undefined
    const call = liveness.set as (error?: number) => void;
    assert.throws(() => call.call(liveness), /^TypeError: Cannot set\(\): .* got undefined/);
    assert.throws(() => liveness.set(errno!), TypeError);
    assert.throws(() => set(errno!, options), TypeError);
    assert.throws(() => (set as (error?: number) => void)(), TypeError);
    assert.equal(readState(liveness.dir).error, "3\n");
    assert.equal(probe(options).reason, "unit api: error 3");
    await liveness.close();
  });
});

test("set() and reset() take the location only; load() also its args and timeout", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    await load([(role: string) => role === "primary"], {
      ...options,
      args: ["primary"],
      timeout: 5000,
    });
    for (const extra of [{ args: [] }, { timeout: 5000 }]) {
      assert.throws(
        () => set(0, { ...options, ...extra } as never),
        /^TypeError: Cannot call set\(\): unknown option/,
      );
      assert.throws(
        () => reset({ ...options, ...extra } as never),
        /^TypeError: Cannot call reset\(\): unknown option/,
      );
    }
    assert.equal(readState(`${rundir}/api`).error, undefined, "nothing set");
    reset(options);
    assert.deepEqual(readState(`${rundir}/api`), {});
    await createLiveness(options).close();
  });
});

test("set() and reset() without an owner make none: createLiveness() with options follows", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    // What a dead earlier process left with its pid file gone; and nothing at all.
    mkdirSync(`${rundir}/api`);
    writeFileSync(`${rundir}/api/error`, "0\n");
    writeFileSync(`${rundir}/api/ready`, "ready\n");
    reset(options);
    assert.deepEqual(readState(`${rundir}/api`), {}, "the leftover is removed");
    reset({ unit: "nothing", rundir });
    assert.throws(() => set(0, options), NotLoadedError);
    assert.deepEqual(readdirSync(rundir), ["api"], "and nothing else written");
    const liveness = createLiveness({ ...options, heartbeat: false });
    const other = createLiveness({ unit: "nothing", rundir, heartbeat: false });
    await liveness.load([]);
    set(0, options); // the free functions reach the owner made since
    assert.equal(readState(liveness.dir).error, "0\n");
    reset(options);
    assert.equal(verdictOf(liveness, "live").status, "no-pid", "not loaded");
    await liveness.close();
    await other.close();
  });
});

test("load() holds no descriptor after it failed or was refused: 2,000 tries, then close()", {
  timeout: 120_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const owner = await holdState(rundir, "held", 0);
    try {
      mkdirSync(`${rundir}/free`); // a unit directory nobody owns
      const held = createLiveness({ unit: "held", rundir, heartbeat: false });
      const free = createLiveness({ unit: "free", rundir, heartbeat: false });
      const tryBoth = async () => {
        await assert.rejects(held.load([]), UnitInUseError);
        await assert.rejects(free.load([() => false]), HealthCheckError);
      };
      const descriptors = () => readdirSync("/proc/self/fd").length;
      await tryBoth(); // what the runtime opens on first use stays open
      const before = descriptors();
      for (let i = 1; i < 1000; i++) await tryBoth();
      await held.close();
      await free.close();
      assert.equal(descriptors(), before);
      assert.equal(readState(`${rundir}/held`).pid, `${owner.pid}\n`, "the owner's state stays");
    } finally {
      await kill(owner);
    }
  });
});

test("set() before load() or after reset() is a NotLoadedError", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    assert.throws(() => liveness.set(0), NotLoadedError);
    assert.throws(() => set(0, { unit: "api", rundir }), NotLoadedError);
    assert.deepEqual(readdirSync(rundir), []);
    await liveness.load([]);
    assert.throws(() => set(0, { unit: "other", rundir }), (error: NotLoadedError) => {
      assert.equal(error.dir, `${rundir}/other`);
      assert.match(error.message, /^Cannot set\(\): .* call load\(\) first/);
      return true;
    });
    set(0, { unit: "api", rundir }); // the module functions share what load() did
    liveness.reset();
    assert.throws(() => liveness.set(0), NotLoadedError);
    assert.deepEqual(readState(liveness.dir), {});
  });
});

test("set(), ready() and beat() after a refused load() name the refusal", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    const databaseIsUp = () => false;
    const refusal = await liveness.load([databaseIsUp]).catch((error) => error);
    assert.ok(refusal instanceof HealthCheckError);
    for (
      const [call, act] of [
        ["set()", () => liveness.set(0)],
        ["set()", () => set(0, { unit: "api", rundir })],
        ["ready()", () => liveness.ready(true)],
        ["beat()", () => liveness.beat()],
      ] as const
    ) {
      assert.throws(act, (error: NotLoadedError) => {
        assert.ok(error instanceof NotLoadedError);
        assert.equal(
          error.message,
          `Cannot ${call}: unit ${rundir}/api is not loaded: load() failed: ${refusal.message}`,
        );
        assert.equal(error.cause, refusal);
        return true;
      });
    }

    // A load() that rejects with what a check threw: that is named too.
    await assert.rejects(liveness.load([() => Promise.reject("no database")]));
    assert.throws(() => liveness.set(0), /is not loaded: load\(\) failed: no database$/);

    // Another live process owns the unit: its pid is named.
    const other = await holdState(rundir, "api", 0);
    try {
      await assert.rejects(liveness.load([]), UnitInUseError);
      assert.throws(
        () => liveness.set(0),
        new RegExp(`load\\(\\) failed: Cannot load unit .* belongs to process ${other.pid}`),
      );
    } finally {
      await kill(other);
    }

    // A load() that succeeds clears it; after reset() it is "call load() first" again.
    await liveness.load([]);
    liveness.set(0);
    liveness.reset();
    assert.throws(() => liveness.set(0), /is not loaded by this process: call load\(\) first/);
    await liveness.close();
  });
});

test("load() clears the state a dead earlier process left, and only that", async () => {
  await withTempDir(async (rundir) => {
    const child = await holdState(rundir, "api", 0);
    const before = readState(`${rundir}/api`);
    assert.equal(before.pid, `${child.pid}\n`);
    assert.equal(before.error, "0\n");
    await kill(child);
    // A writer that died between creating and renaming its temporary file.
    writeFileSync(`${rundir}/api/.error.${child.pid}.0a1b2c.tmp`, "1");
    writeFileSync(`${rundir}/api/notes.txt`, "not ours");

    await load([], { unit: "api", rundir });
    const { heartbeat: _, ...state } = readState(`${rundir}/api`);
    assert.deepEqual(state, {
      "notes.txt": "not ours",
      pid: `${process.pid}\n`,
      ready: "ready\n",
      starttime: `${ownStartTime()}\n`,
    });
  });
});

test("load() refuses a unit a live process owns, and reset() leaves that state alone", async () => {
  await withTempDir(async (rundir) => {
    const owner = await holdState(rundir, "api", 0);
    try {
      const owned = readState(`${rundir}/api`);
      const liveness = createLiveness({ unit: "api", rundir });
      await assert.rejects(liveness.load([]), (error: UnitInUseError) => {
        assert.ok(error instanceof UnitInUseError);
        assert.equal(error.pid, owner.pid);
        assert.equal(error.dir, `${rundir}/api`);
        assert.match(error.message, /give this process a unit of its own/);
        return true;
      });
      // The usual shutdown path after a failed start.
      liveness.reset();
      reset({ unit: "api", rundir });
      assert.deepEqual(readState(`${rundir}/api`), owned);
      assert.throws(() => liveness.set(0), NotLoadedError);

      await kill(owner);
      await liveness.load([]); // a dead owner's state is stale: taken over
      assert.equal(readState(`${rundir}/api`).pid, `${process.pid}\n`);
    } finally {
      await kill(owner);
    }
  });
});

test("processes that load one unit at the same instant: exactly one gets it", async () => {
  await withTempDir(async (rundir) => {
    const [command, args] = runtimeCommand(fixture("hold_state"));
    const children = Array.from(
      { length: 4 },
      () => spawn(command, [...args, rundir, "api", "0"], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    try {
      const outcomes = await Promise.all(children.map((child) =>
        new Promise<string>((resolve) => {
          let output = "";
          child.stdout!.on("data", (chunk) => {
            if (String(chunk).includes("ready")) resolve("ready");
          });
          child.stderr!.on("data", (chunk) => (output += chunk));
          child.on("exit", () => resolve(/UnitInUseError/.test(output) ? "refused" : output));
        })
      ));
      assert.deepEqual([...outcomes].sort(), ["ready", "refused", "refused", "refused"]);
      const winner = children[outcomes.indexOf("ready")];
      assert.equal(readState(`${rundir}/api`).pid, `${winner.pid}\n`);
      assert.equal(readState(`${rundir}/api`).error, "0\n");
      assert.deepEqual(readdirSync(`${rundir}/api`).sort(), STATE);
    } finally {
      await Promise.all(children.map(kill));
    }
  });
});

test("state without a start time proves no owner alive, as in the seed", async () => {
  await withTempDir(async (rundir) => {
    const owner = await holdState(rundir, "api", 0);
    try {
      rmSync(`${rundir}/api/starttime`);
      await load([], { unit: "api", rundir });
      assert.equal(readState(`${rundir}/api`).pid, `${process.pid}\n`);
    } finally {
      await kill(owner);
    }
  });
});

test("load() keeps the temporary files of writers that still run", async () => {
  await withTempDir(async (rundir) => {
    const other = await holdState(rundir, "other", 0);
    try {
      mkdirSync(`${rundir}/api`);
      const live = `.error.${other.pid}.0a1b2c.tmp`;
      writeFileSync(`${rundir}/api/${live}`, "1");
      writeFileSync(`${rundir}/api/.error.${process.pid}.0a1b2c.tmp`, "1"); // an earlier self
      await load([], { unit: "api", rundir });
      assert.deepEqual(readdirSync(`${rundir}/api`).sort(), [
        live,
        "heartbeat",
        "pid",
        "ready",
        "starttime",
      ]);
    } finally {
      await kill(other);
    }
  });
});

/** A unit loaded on a runtime whose writer fails on demand, and what it reported. */
async function faultyUnit(options: { unit: string; rundir: string }) {
  const runtime = faultyRuntime();
  const reported: StateError[] = [];
  const liveness = new Unit(runtime, {
    ...options,
    onError: (error) => reported.push(error as StateError),
  });
  await liveness.load([]);
  return { runtime, liveness, reported };
}

test("a failed set() of a non-zero code removes the error file rather than keep a 0", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const { runtime, liveness, reported } = await faultyUnit(options);
    liveness.set(0);
    runtime.fail("createFile", "ENOSPC");
    liveness.set(0); // never throws for the environment
    assert.equal(readState(`${rundir}/api`).error, "0\n", "a failed set(0) changes nothing");
    liveness.set(3);
    assert.equal(reported.length, 1, "one report for one trouble");
    assert.equal(reported[0].code, "ENOSPC");
    assert.equal(readState(`${rundir}/api`).error, undefined);
    assert.equal(probe(options).status, "no-error");
    assert.equal(verdictOf(liveness, "live").status, "failed", "the owner says so too");
  });
});

test("where the error file cannot be removed, a failed set() writes the code over it", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const { runtime, liveness, reported } = await faultyUnit(options);
    liveness.set(0);
    // A unit directory this process may no longer write (chmod 555 on it).
    runtime.fail(["createFile", "unlink"], "EACCES");
    liveness.set(3);
    assert.equal(reported.at(-1)?.code, "EACCES");
    assert.equal(readState(`${rundir}/api`).error, "3\n");
    assert.equal(probe(options).reason, "unit api: error 3");
    // Read-only: nothing can change it, and the report says so.
    runtime.fail(["createFile", "unlink", "overwrite"], "EROFS");
    liveness.set(4);
    assert.match(reported.at(-1)!.message, /read-only file system/);
  });
});

test("the last-resort overwrite never writes through a link or into another name", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const { runtime, liveness } = await faultyUnit(options);
    liveness.set(0);
    writeFileSync(`${rundir}/outside`, "0\n");
    for (const plant of [symlinkSync, linkSync]) {
      rmSync(`${rundir}/api/error`, { force: true });
      plant(`${rundir}/outside`, `${rundir}/api/error`);
      runtime.fail(["createFile", "unlink"], "EACCES");
      liveness.set(3);
      runtime.heal();
      assert.equal(readFileSync(`${rundir}/outside`, "utf8"), "0\n", plant.name);
    }
  });
});

test("a /proc of another pid namespace proves nothing about this process", async () => {
  await withTempDir(async (rundir) => {
    const owner = await holdState(rundir, "api", 0);
    try {
      // /proc mounted for another namespace: /proc/self is someone else.
      const foreign = runtimeWith({
        files: {
          "/proc/self/stat": `${process.pid + 1} (other) S 1 1 1 0 -1 0 ${"0 ".repeat(14)}42 0`,
        },
      });
      const liveness = new Unit(foreign, { unit: "api", rundir });
      await liveness.load([]); // no refusal: the owner's liveness is not provable here
      assert.ok(!("starttime" in readState(liveness.dir)), "and no starttime");
    } finally {
      await kill(owner);
    }
  });
});

test("a state file that is a directory is a StateError, on every runtime", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    mkdirSync(`${liveness.dir}/error`);
    assert.throws(() => liveness.reset(), (error: StateError) => {
      assert.equal(error.operation, "remove");
      assert.equal(error.path, `${liveness.dir}/error`);
      return true;
    });
    assert.ok(statSync(`${liveness.dir}/error`).isDirectory(), "the directory stays");
  });
});

test("a reader never sees a partial or missing error file while set() flips it", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    // A separate process reads the file as fast as it can, counting what it
    // sees, until the stop file appears (or 30 s pass).
    const reader = spawn("bash", [
      "-c",
      `
      zeros=0 ones=0 bad=0
      until [[ -e "$1/stop" ]] || ((SECONDS > 30)); do
        value=
        IFS= read -r value < "$1/api/error"
        case $value in
          0) zeros=$((zeros + 1)) ;;
          1) ones=$((ones + 1)) ;;
          *) bad=$((bad + 1)); printf 'bad: [%s]\\n' "$value" >&2 ;;
        esac
        ((zeros == 1)) && echo ready
      done
      echo "$zeros $ones $bad"`,
      "reader",
      rundir,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    const ready = new Promise((resolve) => {
      reader.stdout.on("data", (chunk) => {
        output += chunk;
        if (output.includes("ready")) resolve(undefined);
      });
    });
    const done = new Promise((resolve) => reader.on("close", resolve));
    try {
      await ready;
      for (let i = 1; i <= 5000; i++) liveness.set(i % 2);
    } finally {
      writeFileSync(`${rundir}/stop`, "");
      await done;
    }
    const [zeros, ones, bad] = output.trim().split("\n").at(-1)!.split(" ").map(Number);
    assert.equal(bad, 0, "reads that were not 0 or 1");
    // The file holds 0 before and after the flips: a 1 proves the reads overlapped them.
    assert.ok(ones > 0 && zeros > 0, `the reader saw ${zeros} zeros and ${ones} ones`);
    assert.deepEqual(readdirSync(`${rundir}/api`).sort(), STATE);
  });
});

test("a write that fails keeps the previous state and leaves no temporary file", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir };
    const { runtime, liveness, reported } = await faultyUnit(options);
    liveness.set(4);
    const files = readdirSync(`${rundir}/api`).sort();
    const cases: [Operation, string, boolean][] = [
      ["createFile", "ENOSPC", false],
      ["createFile", "ENOSPC", true], // the disk filled mid-write
      ["createFile", "EACCES", false],
      ["rename", "EIO", false],
    ];
    for (const [operation, code, after] of cases) {
      runtime.fail(operation, code, { after });
      liveness.set(0);
      runtime.heal();
      const error = reported.at(-1)!;
      assert.ok(error instanceof StateError);
      assert.equal(error.code, code);
      assert.equal(error.path, `${rundir}/api/error`, "the file meant, not the temporary one");
      assert.ok(error.cause instanceof Error);
      assert.deepEqual(readState(`${rundir}/api`).error, "4\n");
      assert.deepEqual(readdirSync(`${rundir}/api`).sort(), files);
      liveness.set(4); // a success in between: the next trouble is reported again
    }
  });
});

test("state errors name the operation, the code and what to do", async () => {
  await withTempDir(async (rundir) => {
    const options = { unit: "api", rundir: `${rundir}/deep` };
    const failing = (operation: Operation, code: string) => {
      const runtime = faultyRuntime();
      runtime.fail(operation, code);
      return new Unit(runtime, options);
    };
    await assert.rejects(failing("mkdir", "EACCES").load([]), (error: StateError) => {
      assert.equal(error.operation, "create");
      assert.equal(error.code, "EACCES");
      assert.match(
        error.message,
        /^Cannot create liveness state .*: give this process write access/,
      );
      return true;
    });
    await assert.rejects(failing("createFile", "ENOSPC").load([]), /free space on the file system/);
    await assert.rejects(
      failing("readDir", "EIO").load([]),
      (error: StateError) => error.operation === "list" && error.code === "EIO",
    );
    await load([], options);
    assert.throws(() => failing("unlink", "EROFS").reset(), /read-only file system/);
    reset(options);
    assert.deepEqual(readState(`${rundir}/deep/api`), {});
  });
});

test("a unit directory removed while running is restored by the next set()", async () => {
  await withTempDir(async (rundir) => {
    const reported: unknown[] = [];
    const liveness = createLiveness({ unit: "api", rundir, onError: (e) => reported.push(e) });
    await liveness.load([]);
    rmSync(liveness.dir, { recursive: true });
    liveness.set(0); // an operator cleaned /run: no throw, the state comes back
    assert.deepEqual(reported, []);
    assert.equal(probe({ unit: "api", rundir }).status, "healthy");
    assert.deepEqual(
      Object.keys(readState(liveness.dir)).sort(),
      ["error", "heartbeat", "pid", "ready", "starttime"],
    );
    await liveness.close();
  });
});

test("a rundir that is a file or not writable is a StateError", async () => {
  await withTempDir(async (tmp) => {
    writeFileSync(`${tmp}/file`, "");
    await assert.rejects(load([], { unit: "api", rundir: `${tmp}/file` }), (error: StateError) => {
      assert.ok(error instanceof StateError);
      assert.equal(error.code, "ENOTDIR");
      return true;
    });
    // procfs refuses every new directory (ENOENT although /proc exists).
    await assert.rejects(load([], { unit: "api", rundir: "/proc" }), (error: StateError) => {
      assert.equal(error.operation, "create");
      assert.equal(error.path, "/proc/api");
      return true;
    });
    // root ignores directory permissions, so a read-only directory tells
    // nothing there; the injected EACCES above covers it.
    if (process.getuid?.() !== 0) {
      mkdirSync(`${tmp}/ro`, { mode: 0o555 });
      await assert.rejects(load([], { unit: "api", rundir: `${tmp}/ro` }), StateError);
      chmodSync(`${tmp}/ro`, 0o755);
    }
  });
});

test("two units in one process keep separate state", async () => {
  await withTempDir(async (rundir) => {
    const api = createLiveness({ unit: "api", rundir });
    const worker = createLiveness({ unit: "worker", rundir });
    await api.load([]);
    await worker.load([]);
    api.set(0);
    worker.set(2);
    assert.equal(readState(api.dir).error, "0\n");
    assert.equal(readState(worker.dir).error, "2\n");
    api.reset();
    assert.deepEqual(readState(api.dir), {});
    worker.set(0);
    assert.equal(readState(worker.dir).error, "0\n");
  });
});

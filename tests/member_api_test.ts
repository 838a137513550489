/**
 * `joinUnit()` and `createLiveness({ members })` in one process: bad input
 * is a `TypeError`, a member never creates or writes outside its unit's
 * directory, one that joins before its owner's `load()` writes once the
 * owner did, a later member takes its slot, the owner's HTTP answers judge
 * the members, and the owner's shutdown waits for them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { createLiveness, joinUnit, type LivenessError, probe } from "../mod.ts";
import { uptime } from "./_env.ts";
import { withTempDir } from "./_helpers.ts";
import { UnitMember } from "../src/_member.ts";
import { runtime } from "../src/runtime/_current.ts";
import type { Runtime } from "../src/runtime/_runtime.ts";
import { startTime } from "./_subjects.ts";

const quiet = { onError: () => {} };

test("members: a bad members option or member id is a TypeError, nothing written", async () => {
  await withTempDir((rundir) => {
    for (
      const members of [0, 65, 1.5, -1, [], ["a", "a"], ["a/b"], [".."], ["x".repeat(33)], "2"]
    ) {
      assert.throws(
        () => createLiveness({ unit: "bad", rundir, members: members as number }),
        TypeError,
        String(members),
      );
    }
    for (
      const member of ["", "a b", "../x", "x".repeat(33), 1.5, undefined, {}, NaN, -1, Infinity]
    ) {
      assert.throws(
        () => joinUnit({ unit: "bad", rundir, member: member as string, ...quiet }),
        TypeError,
        String(member),
      );
    }
    assert.throws(
      () => joinUnit({ unit: "bad", rundir, member: 1, exit: "yes" as unknown as boolean }),
      TypeError,
    );
    assert.throws(
      () => joinUnit({ unit: "bad", rundir, member: 1, wat: 1 } as never),
      /did you mean|unknown/i,
    );
    for (const options of [undefined, null, "api"]) {
      assert.throws(
        () => joinUnit(options as never),
        /^TypeError: Cannot (join unit|call joinUnit)/,
        String(options),
      );
    }
    assert.deepEqual(readdirSync(rundir), []);
  });
});

test("members: a rundir replaced by a file is trouble reported, never a throw", async () => {
  await withTempDir(async (top) => {
    const rundir = `${top}/run`;
    const owner = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await owner.load([]);
    const troubles: LivenessError[] = [];
    const member = joinUnit({
      unit: "api",
      rundir,
      member: 1,
      heartbeat: false,
      onError: (error) => troubles.push(error),
    });
    rmSync(rundir, { recursive: true });
    writeFileSync(rundir, "not a directory\n");
    member.set(0); // a beat's write, as the timer makes it: it must not throw
    assert.match(troubles[0]?.message ?? "", /Cannot keep member 1 of unit .*: cannot write/);
    rmSync(rundir);
    await member.leave();
    await owner.close();
  });
});

test("members: a member never creates the unit directory, and writes once the owner loaded", async () => {
  await withTempDir(async (rundir) => {
    const troubles: string[] = [];
    const member = joinUnit({
      unit: "api",
      rundir,
      member: 1,
      heartbeat: { interval: 20, maxAge: 1000 },
      onError: (error: LivenessError) => troubles.push(error.message),
    });
    member.set(0);
    assert.deepEqual(readdirSync(rundir), []); // nothing made
    assert.equal(troubles.length, 1, troubles.join("\n")); // reported once
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    try {
      await liveness.load([]);
      liveness.set(0);
      assert.equal(probe({ unit: "api", rundir }).reason, "unit api: worker 1: not joined");
      // Its next beat writes its whole state, its set(0) included.
      await until(() => probe({ unit: "api", rundir, ready: true }).healthy);
    } finally {
      await member.leave();
      await liveness.close();
    }
  });
});

test("members: a unit directory that is a link is refused, nothing written through it", async () => {
  await withTempDir(async (rundir) => {
    mkdirSync(`${rundir}/elsewhere`);
    symlinkSync(`${rundir}/elsewhere`, `${rundir}/api`);
    const troubles: LivenessError[] = [];
    const member = joinUnit({ unit: "api", rundir, member: 1, onError: (e) => troubles.push(e) });
    member.set(0);
    member.ready(false, "warming");
    await member.leave();
    assert.deepEqual(readdirSync(`${rundir}/elsewhere`), []);
    assert.match(troubles[0].message, /member 1 of unit .*api/);
  });
});

test("members: a member file that is a link is replaced, never written through", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    symlinkSync(`${rundir}/target`, `${rundir}/api/member.1`);
    const member = joinUnit({ unit: "api", rundir, member: 1, ...quiet });
    member.set(0);
    try {
      assert.equal(existsSync(`${rundir}/target`), false);
      assert.match(readFileSync(`${rundir}/api/member.1`, "utf8"), / 0 [0-9.]+ 10000 ready\n$/);
      assert.equal(probe({ unit: "api", rundir, ready: true }).healthy, true);
    } finally {
      await member.leave();
      await liveness.close();
    }
  });
});

test("members: one id joined twice in one thread is a TypeError, not two writers of one slot", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const first = joinUnit({ unit: "api", rundir, member: 1, ...quiet });
    first.set(0);
    try {
      // The second would write "not started" and the first "ready" in turn: a probe
      // would see whichever wrote last, and a hung one stays hidden by the other.
      assert.throws(
        () => joinUnit({ unit: "api", rundir, member: "1", ...quiet }),
        /^TypeError: Cannot join unit .*api: member 1 is joined already/,
      );
      assert.equal(probe({ unit: "api", rundir, ready: true }).healthy, true);
      await first.leave();
      const again = joinUnit({ unit: "api", rundir, member: 1, ...quiet });
      assert.equal(
        probe({ unit: "api", rundir, ready: true }).reason,
        "unit api: worker 1: not started: set(0) not called yet",
      );
      await again.leave();
    } finally {
      await first.leave();
      await liveness.close();
    }
  });
});

test("members: a member in its owner's own process drains without ending that process", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    // This process's runtime, its exit recorded: the owner's shutdown must outlast its members.
    const exits: number[] = [];
    const recording = { ...runtime, exit: (code: number) => void exits.push(code) } as Runtime;
    const heartbeat = { interval: 20, maxAge: 1000 };
    // `exit: true`: under `deno test` this module runs in a thread, which does not exit by default.
    const options = { unit: "api", rundir, member: 1, heartbeat, exit: true };
    const member = new UnitMember(recording, options);
    member.set(0);
    try {
      writeFileSync(`${rundir}/api/ready`, "draining\n"); // as the owner's SIGTERM writes it
      await until(() => / left\n$/.test(readFileSync(`${rundir}/api/member.1`, "utf8")));
      await new Promise((resolve) => setTimeout(resolve, 20)); // past the drain's last step
      assert.deepEqual(exits, []);
    } finally {
      await member.leave();
      await liveness.close();
    }
  });
});

test("members: a member without a heartbeat writes again after its owner's restart, and drains", async () => {
  await withTempDir(async (rundir) => {
    const first = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await first.load([]);
    const member = joinUnit({ unit: "api", rundir, member: 1, heartbeat: false, exit: false });
    member.set(0);
    await first.close();
    // The next owner's load() removes the member files its members rewrite.
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    try {
      await until(() => probe({ unit: "api", rundir, ready: true }).healthy);
      writeFileSync(`${rundir}/api/ready`, "draining\n"); // as the owner's SIGTERM writes it
      await until(() => / left\n$/.test(readFileSync(`${rundir}/api/member.1`, "utf8")));
    } finally {
      await member.leave();
      await liveness.close();
    }
  });
});

test("members: a member whose id its owner does not declare is told so", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 2, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const troubles: string[] = [];
    const onError = (error: LivenessError) => troubles.push(error.message);
    // PM2's NODE_APP_INSTANCE counts from 0: without its + 1, the last instance is 2.
    const member = joinUnit({ unit: "api", rundir, member: 0, onError });
    member.set(0);
    try {
      assert.deepEqual(troubles, [
        `Cannot keep member 0 of unit ${rundir}/api: its owner declares no member 0 ` +
        `(its members: 1 2): no probe judges this one`,
      ]);
      assert.equal(probe({ unit: "api", rundir }).reason, "unit api: worker 1: not joined");
    } finally {
      await member.leave();
      await liveness.close();
    }
  });
});

test("members: a later member that runs takes the slot; the earlier one stops writing", {
  skip: process.platform !== "linux" && "identities come from /proc",
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const troubles: string[] = [];
    const earlier = joinUnit({
      unit: "api",
      rundir,
      member: 1,
      onError: (error) => troubles.push(error.message),
    });
    earlier.set(0);
    // A process started after this one stands for the cluster's new fork in the slot.
    const later = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      await until(() => existsSync(`/proc/${later.pid}/stat`));
      const at = uptime();
      const line = `${later.pid} ${startTime(later.pid!)} - 0 ${Math.floor(at / 100)}.${
        String(at % 100).padStart(2, "0")
      } 10000 ready\n`;
      writeFileSync(`${rundir}/api/member.1`, line);
      earlier.set(5);
      earlier.ready(false, "stopping");
      assert.equal(readFileSync(`${rundir}/api/member.1`, "utf8"), line);
      assert.equal(troubles.length, 1, troubles.join("\n"));
      assert.match(troubles[0], new RegExp(`a later member \\(pid ${later.pid}\\)`));
      assert.equal(probe({ unit: "api", rundir, ready: true }).healthy, true);
    } finally {
      later.kill("SIGKILL");
      await earlier.leave();
      await liveness.close();
    }
  });
});

test("members: of two members started in one clock tick, one takes the slot", {
  skip: process.platform !== "linux" && "identities come from /proc",
}, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 1, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      await until(() => existsSync(`/proc/${other.pid}/stat`));
      const pid = other.pid!;
      // This member is pid - 1 with the other's start time: a fork of the same tick.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^\d+/, String(pid - 1));
      const seen = (path: string, maxBytes: number) =>
        /^\/proc\/(self|thread-self)\/stat$/.test(path)
          ? { kind: "file" as const, text: stat, truncated: false }
          : runtime.readHead(path, maxBytes);
      const twin = { ...runtime, pid: pid - 1, readHead: seen } as Runtime;
      const at = uptime();
      const line = `${pid} ${startTime(pid)} - 0 ${Math.floor(at / 100)}.${
        String(at % 100).padStart(2, "0")
      } 10000 ready\n`;
      writeFileSync(`${rundir}/api/member.1`, line);
      const troubles: string[] = [];
      const member = new UnitMember(twin, {
        unit: "api",
        rundir,
        member: 1,
        onError: (error) => troubles.push(error.message),
      });
      member.set(3);
      // Else the two write the slot in turn, each hiding the other's state.
      assert.equal(readFileSync(`${rundir}/api/member.1`, "utf8"), line);
      assert.match(troubles.join("\n"), new RegExp(`a later member \\(pid ${pid}\\)`));
      await member.leave();
    } finally {
      other.kill("SIGKILL");
      await liveness.close();
    }
  });
});

test("members: the owner's HTTP answers list each member, and fail with the first that fails", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: ["web", "jobs"], ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const web = joinUnit({ unit: "api", rundir, member: "web", ...quiet });
    const jobs = joinUnit({ unit: "api", rundir, member: "jobs", ...quiet });
    try {
      web.set(0);
      let response = await liveness.fetch(new Request("http://localhost/readyz?verbose"));
      assert.equal(response.status, 503);
      assert.match(
        await response.text(),
        /\[\+\]worker web ok\n\[-\]worker jobs failed: worker jobs: not started: set\(0\) not called yet\n/,
      );
      response = await liveness.fetch(new Request("http://localhost/livez"));
      assert.equal(response.status, 200); // a member starting is live
      jobs.set(0);
      response = await liveness.fetch(new Request("http://localhost/readyz"));
      assert.equal(response.status, 200);
      jobs.set(7);
      response = await liveness.fetch(new Request("http://localhost/livez?verbose"));
      assert.equal(response.status, 503);
      assert.match(await response.text(), /\[-\]worker jobs failed: worker jobs: error 7\n/);
    } finally {
      await web.leave();
      await jobs.leave();
      await liveness.close();
    }
  });
});

test("members: the owner's shutdown runs each member's handlers, then closes after them", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir, members: 2, ...quiet });
    await liveness.load([]);
    liveness.set(0);
    const order: string[] = [];
    const members = [1, 2].map((id) => {
      const member = joinUnit({
        unit: "api",
        rundir,
        member: id,
        heartbeat: { interval: 20, maxAge: 1000 },
        exit: false,
        ...quiet,
      });
      member.onShutdown(async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        order.push(`member ${id}`);
      });
      member.set(0);
      return member;
    });
    liveness.onShutdown(() => void order.push("owner's handler"));
    const result = await liveness.shutdown({ drain: 0, timeout: 10_000 });
    order.push("owner closed");
    assert.equal(result.code, 0);
    assert.deepEqual(order.slice(-3).sort(), ["member 1", "member 2", "owner closed"].sort());
    assert.equal(order.at(-1), "owner closed");
    for (const id of [1, 2]) {
      assert.match(readFileSync(`${rundir}/api/member.${id}`, "utf8"), / left\n$/);
    }
    for (const member of members) await member.leave();
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("gave up waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

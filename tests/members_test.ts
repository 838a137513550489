/**
 * A unit with members, with real processes and threads on the runtime
 * running the suite (`fixtures/members.ts`): node:cluster workers,
 * child_process.fork children, node:worker_threads and Web Workers. A hung
 * member and a killed one make every probe (probe.sh, the command, probe()
 * and the owner's HTTP answers) unhealthy, naming it; a member started again
 * takes its slot with no healthy verdict in between; SIGTERM to the owner
 * drains every member before the owner exits.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fork, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { test } from "node:test";
import { createLiveness, probe } from "../mod.ts";
import { fixture, PROBE_CLI, PROBE_SH, runtimeCommand } from "./_helpers.ts";

const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;
/** The models each runtime runs members in. Node has no Web Workers (`Worker` is not a global). */
const MODES = isDeno || isBun
  ? ["cluster", "fork", "threads", "web"]
  : ["cluster", "fork", "threads"];
const PROCESS_MODES = ["cluster", "fork"];
const LINUX = process.platform === "linux";

/** Waits until `check` returns something, polling every 50 ms, for at most 60 s. */
async function until<T>(what: string, check: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = check();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The owner of the fixture's unit, started, with its HTTP port, once it printed `ready`. */
async function startOwner(rundir: string, mode: string) {
  const [command, args] = runtimeCommand(fixture("members"));
  const child = spawn(command, [...args, rundir, "api", mode, "2"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await until(`the owner's ready line (${err})`, () => out.includes("ready\n"));
  const port = Number(/port (\d+)/.exec(out)![1]);
  return { child, port, exited, output: () => `${out}${err}` };
}

/** Every probe's line on the unit, the age in a stale line as `A`: they must be one. */
async function lines(rundir: string, port: number, ready: boolean): Promise<string[]> {
  const flags = ["--unit", "api", "--rundir", rundir, ...(ready ? ["--ready"] : [])];
  const [command, args] = runtimeCommand(PROBE_CLI);
  const said = [
    spawnSync(PROBE_SH, flags, { encoding: "utf8" }).stdout,
    spawnSync(command, [...args, ...flags], { encoding: "utf8" }).stdout,
    `${probe({ unit: "api", rundir, ready }).reason}\n`,
    await http(port, ready),
  ];
  return said.map((line) => line.replace(/for \d+(?:\.\d+)?s/, "for As"));
}

/** The owner's HTTP answer as a probe's line: the first failing part's reason, or healthy. */
async function http(port: number, ready: boolean): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/${ready ? "readyz" : "livez"}?verbose`);
  const body = await response.text();
  const failed = /^\[-\][^\n]* failed: (.*)$/m.exec(body);
  assert.equal(response.status, failed ? 503 : 200, body);
  return failed ? `unit api: ${failed[1]}\n` : `healthy ${response.status}\n`;
}

function memberLine(rundir: string, id: string): string {
  try {
    return readFileSync(`${rundir}/api/member.${id}`, "utf8");
  } catch {
    return "";
  }
}

function isRunning(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

test(
  "members: Node has no Web Workers, so its thread members are worker_threads (docs/members.md)",
  {
    skip: (isDeno || isBun) && "Deno and Bun have Web Workers: the web mode runs there",
  },
  () => {
    assert.equal(typeof (globalThis as { Worker?: unknown }).Worker, "undefined");
  },
);

for (const mode of MODES) {
  test(`members (${mode}): healthy, hung, killed and started again, drained by SIGTERM`, {
    skip: !LINUX && "the members' identities come from /proc",
    timeout: 240_000,
  }, async () => {
    const rundir = mkdtempSync(`${tmpdir()}/members-`);
    const owner = await startOwner(rundir, mode);
    try {
      // All healthy: every probe says so.
      await until("a ready unit", () => probe({ unit: "api", rundir, ready: true }).healthy);
      const pid = owner.child.pid;
      assert.deepEqual(await lines(rundir, owner.port, true), [
        ...Array(3).fill(`unit api: ready (pid ${pid})\n`),
        "healthy 200\n",
      ]);

      // A member hangs: within its max age every probe names it.
      const hung = memberLine(rundir, "1");
      writeFileSync(`${rundir}/control.1`, "hang");
      await until("a stale member", () => probe({ unit: "api", rundir }).status === "stale");
      assert.deepEqual(
        await lines(rundir, owner.port, false),
        Array(4).fill("unit api: worker 1: no heartbeat for As (max 3s)\n"),
      );
      // Ended from outside (a process killed, a thread terminated), it is started again.
      if (PROCESS_MODES.includes(mode)) process.kill(Number(hung.split(" ")[0]), "SIGKILL");
      else writeFileSync(`${rundir}/control.owner`, "terminate 1");
      await until("a member started again", () => {
        const line = memberLine(rundir, "1");
        return identity(line) !== identity(hung) && line.split(" ")[3] === "0";
      });
      await until("a ready unit", () => probe({ unit: "api", rundir, ready: true }).healthy);

      // A member is killed (or its thread ends) while a prober polls every 50 ms:
      // never ready while its slot names it, ready again once it is back.
      const killed = identity(memberLine(rundir, "2"));
      if (PROCESS_MODES.includes(mode)) process.kill(Number(killed.split(" ")[0]), "SIGKILL");
      else writeFileSync(`${rundir}/control.2`, "exit");
      const seen: string[] = [];
      await until("a ready unit after the restart", () => {
        // A killed process, or an ended thread, is gone only once /proc says so.
        const before = identity(memberLine(rundir, "2"));
        const gone = !isAlive(mode, killed);
        const verdict = probe({ unit: "api", rundir, ready: true });
        const after = identity(memberLine(rundir, "2"));
        if (before === killed && after === killed && gone) {
          assert.ok(!verdict.healthy, `healthy while the slot names a gone member: ${killed}`);
          seen.push(verdict.reason);
        }
        return verdict.healthy && after !== killed;
      });
      assert.ok(seen.length > 0, "no probe saw the killed member in its slot");
      const named = seen.filter((reason) => reason.startsWith("unit api: worker 2: "));
      assert.ok(named.length > 0, seen.join("\n"));

      // SIGTERM: each member drains (its handler runs in it), then the owner exits 0.
      // Not child.kill(): Deno's node:child_process then reports the signal, not the exit code.
      process.kill(owner.child.pid!, "SIGTERM");
      assert.equal(await owner.exited, 0, owner.output());
      for (const id of ["1", "2"]) {
        const drained = readFileSync(`${rundir}/drained.${id}`, "utf8");
        const [memberPid, thread] = drained.trim().split(" ");
        assert.equal(thread, String(!PROCESS_MODES.includes(mode)), drained);
        if (PROCESS_MODES.includes(mode)) {
          assert.notEqual(Number(memberPid), pid);
          await until(`member ${id}'s exit`, () => !isRunning(Number(memberPid)));
        }
        assert.match(memberLine(rundir, id), / left\n$/);
      }
    } finally {
      if (owner.child.exitCode === null) owner.child.kill("SIGKILL");
      await owner.exited;
      // Members of their own process outlive a killed owner: end them too.
      for (const id of ["1", "2"]) {
        const memberPid = Number(memberLine(rundir, id).split(" ")[0]);
        if (PROCESS_MODES.includes(mode) && memberPid > 0 && isRunning(memberPid)) {
          process.kill(memberPid, "SIGKILL");
        }
      }
      rmSync(rundir, { recursive: true, force: true });
    }
  });
}

/** The identity a member's line names: its pid, start time and thread (a beat changes the rest). */
function identity(line: string): string {
  return line.split(" ").slice(0, 3).join(" ");
}

/** Whether the process (or, in a thread mode, the thread) a member's line names is still there. */
function isAlive(mode: string, line: string): boolean {
  const [pid, , token] = line.split(" ");
  if (PROCESS_MODES.includes(mode)) return isRunning(Number(pid));
  return existsSync(`/proc/${pid}/task/${token.split(".")[0]}`);
}

test(
  "members: PM2's wait_ready handshake, emulated: each instance is a ready member when it says ready",
  {
    skip: !LINUX && "the members' identities come from /proc",
    timeout: 120_000,
  },
  async () => {
    // PM2 is not a dependency: a parent that forks the instances as PM2's cluster mode does
    // (NODE_APP_INSTANCE 0, 1, ...) and waits for each one's `ready` message stands for it.
    const rundir = mkdtempSync(`${tmpdir()}/members-pm2-`);
    const liveness = createLiveness({ unit: "api", rundir, members: 2 });
    await liveness.load([]);
    liveness.set(0);
    const env = { ...process.env, LIVENESS_UNIT_NAME: "api", LIVENESS_RUNDIR: rundir };
    const instances = [0, 1].map((instance) =>
      fork(fixture("pm2_app"), [], {
        env: { ...env, NODE_APP_INSTANCE: String(instance) },
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      })
    );
    try {
      assert.equal(probe({ unit: "api", rundir, ready: true }).status !== "healthy", true);
      const verdicts = await Promise.all(
        instances.map((child, index) =>
          new Promise<string>((resolve) =>
            child.on("message", (message) => {
              // At the handshake this instance's part passes (the other may still start).
              if (message !== "ready") return;
              const reason = probe({ unit: "api", rundir, ready: true }).reason;
              resolve(reason.startsWith(`unit api: worker ${index + 1}:`) ? reason : "passed");
            })
          )
        ),
      );
      assert.deepEqual(verdicts, ["passed", "passed"]);
      assert.equal(
        probe({ unit: "api", rundir, ready: true }).reason,
        `unit api: ready (pid ${process.pid})`,
      );
    } finally {
      for (const child of instances) {
        child.kill("SIGKILL");
      }
      await liveness.close();
      rmSync(rundir, { recursive: true, force: true });
    }
  },
);

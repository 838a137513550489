/**
 * The processes a test's state can name: this process, a pid no process
 * has, an ended process, a sleeper, a thread, a zombie, a process with an
 * odd command name, a busy one, pid 1, and a child of this runtime that
 * holds a unit's state. Each comes with its start time (field 22 of
 * `/proc/<pid>/stat`) and a way to get rid of it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { Worker } from "node:worker_threads";
import { PID_MAX } from "./_env.ts";
import { fixture, runtimeCommand } from "./_helpers.ts";

/** What kind of process a subject is. */
export type SubjectKind = "self" | "dead" | "zombie" | "thread" | "comm" | "busy" | "init";

/** A process that a pid file names, and how to get rid of it. */
export interface Subject {
  readonly pid: number;
  /** The process a thread belongs to. */
  readonly tgid?: number;
  readonly starttime: string;
  stop(): Promise<void>;
}

/** Fields 3 and on of `/proc/<pid>/stat` (`[0]` state, `[1]` ppid, `[19]` start time). */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The start time of `pid`, as the probes compare it with the starttime file. */
export function startTime(pid: number): string {
  const starttime = statFields(pid)?.[19];
  assert.ok(starttime, `no start time for pid ${pid}`);
  return starttime;
}

/** Starts (or finds) a process of the `kind` asked for. */
export async function startSubject(kind: SubjectKind = "self"): Promise<Subject> {
  const stop = () => Promise.resolve();
  switch (kind) {
    case "self":
      return { pid: process.pid, starttime: startTime(process.pid), stop };
    case "init":
      return { pid: 1, starttime: startTime(1), stop };
    case "dead":
      return { pid: deadPid(), starttime: "1", stop };
    case "thread":
      return await startThread();
    case "zombie":
      return await zombie();
    case "comm":
      return await startOddComm();
    case "busy":
      return startBusy();
  }
}

/**
 * A pid no process has, and the last the kernel will hand out again: the
 * kernel counts pids up from the newest and wraps at pid_max, so a free pid
 * just below the newest comes round last.
 */
export function deadPid(): number {
  const newest = spawnSync("true").pid ?? PID_MAX;
  for (let pid = newest - 1; pid > 1; pid--) {
    if (!existsSync(`/proc/${pid}`)) return pid;
  }
  let pid = PID_MAX - 1;
  while (existsSync(`/proc/${pid}`)) pid--;
  return pid;
}

/** A live process (`sleep`) that does nothing until stopped. */
export function sleeper(): Subject {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  const pid = child.pid;
  assert.ok(pid, "sleep did not start");
  return { pid, starttime: startTime(pid), stop: () => kill(child) };
}

/** The pid and start time of a process that has ended (and been reaped). */
export async function deadProcess(): Promise<{ pid: number; starttime: string }> {
  const { pid, starttime, stop } = sleeper();
  await stop();
  return { pid, starttime };
}

/**
 * Whether `subject` is still what `kind` says (a pid can be handed out
 * again, a zombie reaped): else probes of it at different moments may
 * rightly differ.
 */
export function isStill(kind: SubjectKind, subject: Subject): boolean {
  const fields = statFields(subject.pid);
  switch (kind) {
    case "dead":
      return fields === undefined;
    case "zombie":
      return fields?.[0] === "Z";
    default:
      return fields?.[19] === subject.starttime;
  }
}

/** The command name of the "comm" subject: a newline, then a `)` that is not the last. */
export const ODD_COMM = "a\n) b";

/**
 * A live process whose command name holds a newline and a `)`, as Node's
 * `process.title = "my\napp"` makes it. Python sets its own (a process may
 * set only its own; bash would write the name in two parts, line by line),
 * then waits on a pipe that never ends.
 */
async function startOddComm(): Promise<Subject> {
  const script = "import sys\n" +
    "open('/proc/self/comm', 'wb', buffering=0).write(sys.argv[1].encode())\n" +
    "sys.stdin.read()";
  const child = spawn("python3", ["-c", script, ODD_COMM], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  const pid = child.pid;
  assert.ok(pid, "python3 did not start");
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8") === `${ODD_COMM}\n`) {
        return { pid, starttime: startTime(pid), stop: () => kill(child) };
      }
    } catch {
      // Not there yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await kill(child);
  throw new Error("the command name did not change");
}

/**
 * A thread of this process that lives until stopped: a worker, which tells
 * its own id (`/proc/thread-self`). Not any other thread: a runtime's pool
 * threads end when idle, and a probe of one would change its answer.
 */
async function startThread(): Promise<Subject> {
  const worker = new Worker(
    `const { readlinkSync } = require("node:fs");
    const { parentPort } = require("node:worker_threads");
    setInterval(() => {}, 1 << 30);
    parentPort.postMessage(readlinkSync("/proc/thread-self"));`,
    { eval: true },
  );
  worker.unref();
  const self = await new Promise<string>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const tid = Number(self.slice(self.lastIndexOf("/") + 1));
  return {
    pid: tid,
    tgid: process.pid,
    starttime: startTime(tid),
    stop: async () => void await worker.terminate(),
  };
}

/**
 * A background job that waits until its shell has become `sleep 600`, then
 * exits: its parent is now a program that never reaps it. (With `sleep 0 &`,
 * the shell may reap the job before its exec.)
 */
const ZOMBIE_MAKER =
  "until read -r c </proc/$$/comm && [[ $c == sleep ]]; do sleep 0.01; done & exec sleep 600";

/** A zombie: a process that has exited and that its parent has not reaped. */
export async function zombie(): Promise<Subject> {
  const maker = spawn("bash", ["-c", ZOMBIE_MAKER], { stdio: "ignore" });
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    for (const name of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      const fields = statFields(Number(name));
      if (fields?.[0] === "Z" && fields[1] === String(maker.pid)) {
        return { pid: Number(name), starttime: fields[19], stop: () => kill(maker) };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await kill(maker);
  throw new Error("no zombie appeared within 10 s");
}

/**
 * A live process that runs and sleeps in turns, at low priority: its
 * `State:` line in `/proc/<pid>/status` keeps changing length between
 * `R (running)` and `S (sleeping)`, which a probe that reads the file in
 * parts can see torn.
 */
function startBusy(): Subject {
  const child = spawn("nice", [
    "-n",
    "19",
    "bash",
    "-c",
    "exec 3<> <(:); while :; do for ((i = 0; i < 500; i++)); do :; done; read -rt 0.003 -u 3; done",
  ], { stdio: "ignore" });
  const pid = child.pid;
  assert.ok(pid, "bash did not start");
  return { pid, starttime: startTime(pid), stop: () => kill(child) };
}

/**
 * Starts `tests/fixtures/hold_state` on this runtime: it loads `unit`, sets
 * `error` and stays alive. Resolves once it says "ready".
 */
export function holdState(rundir: string, unit: string, error: number): Promise<ChildProcess> {
  const [command, args] = runtimeCommand(fixture("hold_state"));
  const child = spawn(command, [...args, rundir, unit, String(error)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    // No test runner here times a test out by default: do not wait forever.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("hold_state did not say ready within 20 s"));
    }, 20_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`hold_state exited with ${code}`)));
    child.stdout!.on("data", (chunk) => {
      if (String(chunk).includes("ready")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** Kills `child` and waits until it is gone. */
export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

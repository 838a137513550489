/**
 * systemd's notify protocol, against a fake `NOTIFY_SOCKET`: a datagram
 * socket bound by `fixtures/notify_socket.py`, which records each message,
 * its order and its sender. The service (`fixtures/notify_service.ts`) runs
 * on the runtime running the suite: Deno and Bun send through libc, Node
 * through `systemd-notify`. The real systemd is in the container suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { test } from "node:test";
import { readNotifyEnvironment } from "../src/_notify.ts";
import { helperNotifySocket } from "../src/runtime/_notify_helper.ts";
import { sockaddrOf } from "../src/runtime/_notify_socket.ts";
import { createLiveness, LivenessError } from "../mod.ts";
import { hasPython } from "./_env.ts";
import { fixture, runtimeCommand, withEnv, withTempDir } from "./_helpers.ts";
import { commandFor } from "./_runtimes.ts";

const isNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const hasHelper = spawnSync("systemd-notify", ["--version"]).status === 0;
const skip = !hasPython
  ? "python3 is missing: it binds the fake NOTIFY_SOCKET"
  : isNode && !hasHelper
  ? "Node sends through systemd-notify, which this machine lacks"
  : false;
/** WATCHDOG_USEC of the services: WATCHDOG=1 every 50 ms. */
const WATCHDOG_USEC = 100_000;
const INTERVAL_MS = WATCHDOG_USEC / 2000;

/** One datagram the fake socket received. */
interface Message {
  readonly t: number;
  readonly pid: number | null;
  readonly lines: readonly string[];
}

/** A child process whose standard output is read line by line. */
class Lines {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  #exited = false;

  constructor(command: string, args: string[], env: Record<string, string | undefined> = {}) {
    this.child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stdout.on("data", (chunk) => {
      const parts = (buffer + chunk).split("\n");
      buffer = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr.on("data", (chunk) => process.stderr.write(chunk));
    this.child.on("exit", () => this.#exited = true);
  }

  /** Waits until `found` returns something but `undefined`, and returns it. */
  async until<T>(found: () => T | undefined, what: string, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (Date.now() > deadline || this.#exited && found() === undefined) {
        throw new Error(`Cannot see ${what}: ${this.lines.join(" | ")}`);
      }
      await sleep(10);
    }
  }

  line(text: string): Promise<string> {
    return this.until(() => this.lines.find((line) => line === text), `the line ${text}`);
  }

  exited(): Promise<number | null> {
    if (this.#exited) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = this.exited();
    this.child.kill("SIGKILL");
    await exited;
  }
}

/** The fake NOTIFY_SOCKET at `address`, bound. */
async function fakeSocket(address: string): Promise<Lines & { messages(): Message[] }> {
  const script = fileURLToPath(new URL("./fixtures/notify_socket.py", import.meta.url));
  const socket = new Lines("python3", [script, address]);
  await socket.line("bound");
  return Object.assign(socket, {
    messages: () =>
      socket.lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)),
  });
}

/**
 * The service, as `config` says, told its socket and a watchdog by `env`; on
 * Deno with `denoFlags` in place of `--allow-all`, where given.
 */
async function service(
  rundir: string,
  env: Record<string, string>,
  config: { signals?: boolean; notify?: boolean } = {},
  denoFlags?: string[],
): Promise<Lines & { command(line: string): Promise<void> }> {
  const script = fixture("notify_service");
  const [command, args] = denoFlags
    ? [commandFor("deno", script)[0], ["run", "--no-prompt", ...denoFlags, script]]
    : runtimeCommand(script);
  const child = new Lines(command, [...args, rundir, "api", JSON.stringify(config)], env);
  await child.line("loaded");
  return Object.assign(child, {
    async command(line: string) {
      child.child.stdin.write(`${line}\n`);
      await child.line(`done ${line}`);
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The index of the first message with `line` from `from` on, or `undefined`. */
function indexOf(messages: Message[], line: string, from = 0): number | undefined {
  const index = messages.findIndex((message, at) => at >= from && message.lines.includes(line));
  return index < 0 ? undefined : index;
}

function count(messages: Message[], line: string, from = 0): number {
  return messages.slice(from).filter((message) => message.lines.includes(line)).length;
}

/** Whether this process may set another pid in a datagram's credentials (CAP_SYS_ADMIN). */
const hasSysAdmin = (() => {
  const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return caps !== undefined && (BigInt(`0x${caps}`) & (1n << 21n)) !== 0n;
})();

/** The sender each message must carry: the service itself (Node's helper sends as its parent where it may). */
function assertSender(messages: Message[], pid: number): void {
  if (isNode && !hasSysAdmin) return; // systemd-notify then sends as itself: NotifyAccess=all
  for (const message of messages) assert.equal(message.pid, pid, JSON.stringify(message));
}

test(
  "notify: READY=1 only once live and ready, STATUS= at each change, WATCHDOG=1 only while live",
  {
    skip,
  },
  async () => {
    await withTempDir(async (dir) => {
      const socket = await fakeSocket(`${dir}/notify`);
      const env = { NOTIFY_SOCKET: `${dir}/notify`, WATCHDOG_USEC: String(WATCHDOG_USEC) };
      const api = await service(dir, env);
      try {
        const status = (line: string, from = 0) =>
          socket.until(() => indexOf(socket.messages(), `STATUS=unit api: ${line}`, from), line);
        // Loaded: not started yet; neither ready nor live.
        await status("not started: set(0) not called yet");
        // Not ready, and not live yet: the line stays the first failing part's.
        await api.command("ready no warming");
        // The variables are gone, here and in a child.
        await api.command("env");
        assert.ok(api.lines.includes("env -,-,- -,-,-"), api.lines.join(" | "));
        assert.equal(socket.messages().length, 1, "nothing but the first STATUS=");
        // Live but not ready: STATUS= says why, the watchdog runs, no READY=1.
        await api.command("set 0");
        const warming = await status("not ready (warming)");
        assert.ok(
          socket.messages()[warming].lines.includes("WATCHDOG=1"),
          "live: WATCHDOG=1 at once",
        );
        await socket.until(
          () => count(socket.messages(), "WATCHDOG=1") >= 3 || undefined,
          "WATCHDOG=1",
        );
        assert.equal(indexOf(socket.messages(), "READY=1"), undefined);
        await api.command("ready yes");
        const ready = await socket.until(() => indexOf(socket.messages(), "READY=1"), "READY=1");
        assert.ok(ready > warming);
        const pid = api.child.pid!;
        assert.ok(socket.messages()[ready].lines.includes(`STATUS=unit api: ready (pid ${pid})`));
        await socket.until(
          () => count(socket.messages(), "WATCHDOG=1", ready) >= 3 || undefined,
          "beats",
        );
        // An error: STATUS= says it, and the watchdog stops.
        await api.command("set 3");
        const failed = await status("error 3", ready);
        await sleep(10 * INTERVAL_MS);
        // (Node's helper may carry a WATCHDOG=1 of before in the same datagram, never after.)
        const lines = socket.messages()[failed].lines;
        assert.ok(!lines.slice(lines.indexOf("STATUS=unit api: error 3")).includes("WATCHDOG=1"));
        assert.equal(count(socket.messages(), "WATCHDOG=1", failed + 1), 0, "after set(3)");
        await api.command("set 0");
        const again = await status(`ready (pid ${pid})`, failed);
        await socket.until(
          () => count(socket.messages(), "WATCHDOG=1", again) >= 2 || undefined,
          "again",
        );
        const messages = socket.messages();
        assert.equal(count(messages, "READY=1"), 1, "READY=1 once");
        assert.ok(
          messages.every((message) => message.lines.every((line) => /^[A-Z_]+=/.test(line))),
        );
        assertSender(messages, pid);
      } finally {
        await api.stop();
        await socket.stop();
      }
    });
  },
);

test("notify: an abstract socket; no WATCHDOG=1 once the event loop hangs", { skip }, async () => {
  await withTempDir(async (dir) => {
    const address = `@liveness-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const socket = await fakeSocket(address);
    const api = await service(dir, {
      NOTIFY_SOCKET: address,
      WATCHDOG_USEC: String(WATCHDOG_USEC),
    });
    try {
      await api.command("set 0");
      const ready = await socket.until(() => indexOf(socket.messages(), "READY=1"), "READY=1");
      await socket.until(
        () => count(socket.messages(), "WATCHDOG=1", ready) >= 3 || undefined,
        "beats",
      );
      api.child.stdin.write("hang\n");
      await api.line("hanging");
      await sleep(4 * INTERVAL_MS); // one sent just before the hang may still be on its way
      const before = count(socket.messages(), "WATCHDOG=1");
      await sleep(20 * INTERVAL_MS);
      assert.equal(count(socket.messages(), "WATCHDOG=1"), before, "WATCHDOG=1 while hanging");
      assertSender(socket.messages(), api.child.pid!);
    } finally {
      await api.stop();
      await socket.stop();
    }
  });
});

test("notify: WATCHDOG_PID of another process: READY=1, never WATCHDOG=1", { skip }, async () => {
  await withTempDir(async (dir) => {
    const socket = await fakeSocket(`${dir}/notify`);
    const env = {
      NOTIFY_SOCKET: `${dir}/notify`,
      WATCHDOG_USEC: String(WATCHDOG_USEC),
      WATCHDOG_PID: String(process.pid), // the test's, not the service's
    };
    const api = await service(dir, env);
    try {
      await api.command("set 0");
      await socket.until(() => indexOf(socket.messages(), "READY=1"), "READY=1");
      await sleep(10 * INTERVAL_MS);
      assert.equal(count(socket.messages(), "WATCHDOG=1"), 0);
      await api.command("env");
      assert.ok(api.lines.includes("env -,-,- -,-,-"), api.lines.join(" | "));
    } finally {
      await api.stop();
      await socket.stop();
    }
  });
});

test("notify: STOPPING=1 when SIGTERM begins the shutdown, after READY=1", { skip }, async () => {
  await withTempDir(async (dir) => {
    const socket = await fakeSocket(`${dir}/notify`);
    const env = { NOTIFY_SOCKET: `${dir}/notify`, WATCHDOG_USEC: String(WATCHDOG_USEC) };
    const api = await service(dir, env, { signals: true });
    try {
      await api.command("set 0");
      const ready = await socket.until(() => indexOf(socket.messages(), "READY=1"), "READY=1");
      process.kill(api.child.pid!, "SIGTERM");
      assert.equal(await api.exited(), 0);
      const stopping = await socket.until(
        () => indexOf(socket.messages(), "STOPPING=1"),
        "STOPPING=1",
      );
      assert.ok(stopping > ready);
      assert.ok(socket.messages()[stopping].lines.includes("STATUS=unit api: draining"));
      assert.equal(count(socket.messages(), "STOPPING=1"), 1);
      assert.equal(count(socket.messages(), "READY=1"), 1);
    } finally {
      await api.stop();
      await socket.stop();
    }
  });
});

test("notify: notify: false leaves the variables where they are and sends nothing", {
  skip,
}, async () => {
  await withTempDir(async (dir) => {
    const socket = await fakeSocket(`${dir}/notify`);
    const env = { NOTIFY_SOCKET: `${dir}/notify`, WATCHDOG_USEC: String(WATCHDOG_USEC) };
    const api = await service(dir, env, { notify: false });
    try {
      await api.command("set 0");
      await api.command("env");
      const seen = `${dir}/notify,${WATCHDOG_USEC},-`;
      assert.ok(api.lines.includes(`env ${seen} ${seen}`), api.lines.join(" | "));
      await sleep(10 * INTERVAL_MS);
      assert.deepEqual(socket.messages(), []);
    } finally {
      await api.stop();
      await socket.stop();
    }
  });
});

test("notify: a socket nobody listens on is reported once, and the unit lives on", {
  skip: isNode && !hasHelper
    ? "Node sends through systemd-notify, which this machine lacks"
    : false,
}, async () => {
  await withTempDir(async (dir) => {
    const errors: string[] = [];
    const liveness = withEnv(
      { NOTIFY_SOCKET: `${dir}/nobody`, WATCHDOG_USEC: "20000" },
      () =>
        createLiveness({
          unit: "api",
          rundir: dir,
          onError: (error) => errors.push(error.message),
        }),
    );
    try {
      assert.equal(process.env.NOTIFY_SOCKET, undefined);
      await liveness.load([]);
      liveness.set(0);
      const deadline = Date.now() + 10_000;
      while (errors.length === 0 && Date.now() < deadline) await sleep(10);
      await sleep(20 * 10); // ten ticks of the watchdog more
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.match(errors[0], /^Cannot notify systemd/);
      assert.match(errors[0], new RegExp(`${dir}/nobody|ENOENT|No such file`));
      assert.equal(liveness.fetch(new Request("http://localhost/livez")).status, 200);
    } finally {
      await liveness.close();
    }
  });
});

test("notify: bad options and environments are refused with a reason", () => {
  assert.throws(
    () => createLiveness({ unit: "api", rundir: "/tmp", notify: "yes" as never }),
    (error: unknown) =>
      error instanceof TypeError && /options\.notify must be true or false/.test(error.message),
  );
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(readNotifyEnvironment(env({}), 42), undefined);
  assert.equal(readNotifyEnvironment(env({ NOTIFY_SOCKET: "" }), 42), undefined);
  assert.deepEqual(
    readNotifyEnvironment(env({ NOTIFY_SOCKET: "@s", WATCHDOG_USEC: "3000000" }), 42),
    {
      address: "@s",
      interval: 1500,
      problems: [],
    },
  );
  const on = (vars: Record<string, string>) =>
    readNotifyEnvironment(env({ NOTIFY_SOCKET: "/s", ...vars }), 42);
  assert.equal(on({ WATCHDOG_USEC: "3000000", WATCHDOG_PID: "42" })?.interval, 1500);
  assert.equal(on({ WATCHDOG_USEC: "3000000", WATCHDOG_PID: "43" })?.interval, undefined);
  assert.equal(on({ WATCHDOG_USEC: "1" })?.interval, 1, "at least one millisecond");
  assert.equal(
    on({ WATCHDOG_USEC: "9999999999999999" })?.interval,
    2 ** 31 - 1,
    "at most a timer's longest",
  );
  for (const usec of ["0", "-5", "1e6", " 100", "0x10", "10.5"]) {
    const found = on({ WATCHDOG_USEC: usec })!;
    assert.equal(found.interval, undefined, usec);
    assert.match(found.problems[0], /WATCHDOG_USEC must be a positive whole number/);
  }
  assert.match(
    on({ WATCHDOG_USEC: "100", WATCHDOG_PID: "me" })!.problems[0],
    /WATCHDOG_PID must be a process id/,
  );
  // The address: a path with its NUL, an abstract name with a NUL before it.
  assert.deepEqual([...sockaddrOf("/a")], [1, 0, 47, 97, 0]);
  assert.deepEqual([...sockaddrOf("@a")], [1, 0, 0, 97]);
  assert.equal(sockaddrOf(`/${"a".repeat(106)}`).length, 110);
  for (
    const bad of ["relative", "vsock:2:1", `/${"a".repeat(107)}`, "/a\0b", `@${"a".repeat(108)}`]
  ) {
    assert.throws(
      () => sockaddrOf(bad),
      /^TypeError: Cannot notify systemd: NOTIFY_SOCKET must/,
      bad,
    );
  }
  assert.ok(LivenessError);
});

test("notify: Deno without --allow-ffi says why once; without --allow-env it sends nothing", {
  skip,
}, async () => {
  await withTempDir(async (dir) => {
    const socket = await fakeSocket(`${dir}/notify`);
    const env = { NOTIFY_SOCKET: `${dir}/notify`, WATCHDOG_USEC: String(WATCHDOG_USEC) };
    const files = [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-sys"];
    const noFfi = await service(dir, env, {}, [...files, "--allow-env"]);
    try {
      await noFfi.command("set 0");
      const errors = noFfi.lines.filter((line) => line.startsWith("error Cannot notify"));
      assert.equal(errors.length, 1, noFfi.lines.join(" | "));
      assert.match(errors[0], /grant --allow-ffi/);
    } finally {
      await noFfi.stop();
    }
    const noEnv = await service(dir, env, {}, [...files, "--allow-env=LIVENESS_RUNDIR"]);
    try {
      await noEnv.command("set 0");
      await sleep(10 * INTERVAL_MS);
      const notifyErrors = noEnv.lines.filter((line) => line.startsWith("error Cannot notify"));
      assert.deepEqual(notifyErrors, []);
    } finally {
      await noEnv.stop();
      await socket.stop();
    }
    assert.deepEqual(socket.messages(), []);
  });
});

test("notify: READY=1 that could not be sent is sent again, with no watchdog and no change", {
  skip,
}, async () => {
  await withTempDir(async (dir) => {
    const errors: string[] = [];
    // systemd's socket full or not there for a moment: here, not there yet.
    const liveness = withEnv(
      { NOTIFY_SOCKET: `${dir}/notify`, WATCHDOG_USEC: "" },
      () =>
        createLiveness({
          unit: "api",
          rundir: dir,
          heartbeat: false,
          onError: (error) => errors.push(error.message),
        }),
    );
    let socket: Awaited<ReturnType<typeof fakeSocket>> | undefined;
    try {
      await liveness.load([]);
      liveness.set(0);
      const deadline = Date.now() + 10_000;
      while (errors.length === 0 && Date.now() < deadline) await sleep(10);
      assert.match(errors[0] ?? "", /^Cannot notify systemd/);
      socket = await fakeSocket(`${dir}/notify`);
      // Hangs until the bound of until(), and fails, where it is never sent again.
      const ready = await socket.until(
        () => indexOf(socket!.messages(), "READY=1"),
        "READY=1 sent again",
      );
      assert.ok(
        socket.messages()[ready].lines.some((line) => line.startsWith("STATUS=unit api")),
        JSON.stringify(socket.messages()),
      );
    } finally {
      await liveness.close();
      await socket?.stop();
    }
  });
});

test("notify: Node's helper that hangs is killed, the messages after it go, and close() leaves none", async () => {
  await withTempDir(async (dir) => {
    // A systemd-notify that never exits: it writes its pid, then sleeps in its place.
    writeFileSync(`${dir}/hang`, `#!/bin/sh\necho $$ >> ${dir}/pids\nexec sleep 1000\n`);
    chmodSync(`${dir}/hang`, 0o755);
    const pids = () => {
      try {
        return readFileSync(`${dir}/pids`, "utf8").trim().split("\n").map(Number);
      } catch {
        return [];
      }
    };
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = async (what: string, condition: () => boolean) => {
      for (const deadline = Date.now() + 10_000; !condition();) {
        if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
        await sleep(20);
      }
    };
    const errors: string[] = [];
    const socket = helperNotifySocket(process, `${dir}/notify`, `${dir}/hang`, 200);
    socket.send("READY=1", (error) => errors.push(String(error)));
    socket.send("WATCHDOG=1", (error) => errors.push(String(error)));
    await until("the second helper", () => pids().length === 2);
    assert.match(errors[0], new RegExp(`${dir}/hang did not exit within 200 ms: killed`));
    await until("the first helper gone", () => !alive(pids()[0]));
    await socket.close();
    await until("the second helper gone", () => !alive(pids()[1]));
  });
});

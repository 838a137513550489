/**
 * The notify socket on Node, which has no unix datagram socket: each
 * message goes through systemd's own `systemd-notify` (one process per
 * message, one at a time, the messages that wait meanwhile sent together),
 * started without a shell and given `NOTIFY_SOCKET` explicitly (the owner
 * removed it from the environment). `systemd-notify` sends as its parent,
 * this process, where it may (as root: it sets the credentials of the
 * datagram), else as itself, which systemd accepts only with
 * `NotifyAccess=all`; and it waits until systemd has read the message.
 *
 * @module
 */
import type * as ChildProcess from "node:child_process";
import type { NotifySocket } from "./_runtime.ts";

/** The part of Node's `process` used here. */
export interface HelperProcess {
  readonly env: Record<string, string | undefined>;
  getBuiltinModule(id: "node:child_process"): typeof ChildProcess;
}

/** The helper's command, found on the `PATH`. */
export const NOTIFY_HELPER = "systemd-notify";
/** How long `close()` waits for a helper still running. */
const CLOSE_WAIT_MS = 1000;
/**
 * How long a helper may run before it is killed: `systemd-notify` waits at
 * most 5 s for systemd to read its message; one that hangs would hold every
 * message after it, `WATCHDOG=1` too.
 */
const HELPER_WAIT_MS = 10_000;

/** A {@linkcode NotifySocket} through `systemd-notify`. */
export function helperNotifySocket(
  process: HelperProcess,
  address: string,
  command: string = NOTIFY_HELPER,
  wait: number = HELPER_WAIT_MS,
): NotifySocket {
  let pending: string[] = [];
  let report: (error: unknown) => void = () => {};
  let running: Promise<void> | undefined;
  /** The helper running, killed where it hangs or outlives `close()`. */
  let current: ChildProcess.ChildProcess | undefined;
  const run = (lines: string[]) =>
    new Promise<void>((resolve) => {
      let child: ChildProcess.ChildProcess;
      try {
        child = process.getBuiltinModule("node:child_process").spawn(command, lines, {
          env: { ...process.env, NOTIFY_SOCKET: address },
          stdio: ["ignore", "ignore", "pipe"],
        });
      } catch (error) {
        report(error);
        return resolve();
      }
      current = child;
      const timer = setTimeout(() => {
        report(
          new Error(
            `Cannot notify systemd: ${command} did not exit within ${wait} ms: killed`,
          ),
        );
        child.kill("SIGKILL");
        done(); // not at its close: what it started may hold its standard error
      }, wait);
      const done = () => {
        clearTimeout(timer);
        if (current === child) current = undefined;
        resolve();
      };
      // Never what keeps the program alive.
      (timer as unknown as { unref?(): void }).unref?.();
      child.unref();
      (child.stderr as unknown as { unref?(): void } | null)?.unref?.();
      let stderr = "";
      child.stderr?.on("data", (chunk) => stderr = (stderr + chunk).slice(-500));
      child.on("error", (error) => {
        report(
          new Error(
            `Cannot notify systemd: ${command} cannot be started (${
              (error as { code?: string }).code ?? error.message
            }): Node has no unix datagram socket, so its messages go through systemd's ` +
              `${command}: install it (Debian: the systemd package), or run on Deno or Bun`,
            { cause: error },
          ),
        );
        done();
      });
      child.on("close", (code) => {
        if (code !== 0 && code !== null) {
          report(
            new Error(
              `Cannot notify systemd: ${command} exited with ${code}: ${stderr.trim()}`,
            ),
          );
        }
        done();
      });
    });
  const drain = async () => {
    while (pending.length > 0) {
      const lines = pending;
      pending = [];
      await run(lines);
    }
    running = undefined;
  };
  return {
    send(message, onError) {
      report = onError;
      // Sent together with those still waiting, each line once (WATCHDOG=1 of several ticks).
      for (const line of message.split("\n")) {
        if (line !== "" && !pending.includes(line)) pending.push(line);
      }
      running ??= drain();
    },
    async close() {
      if (!running) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        running,
        // Not unref'd: the helper is, and an owner's close must not let the loop run empty
        // (the shutdown's exit code would be lost).
        new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
      ]);
      clearTimeout(timer);
      current?.kill("SIGKILL"); // never left behind the program
    },
  };
}

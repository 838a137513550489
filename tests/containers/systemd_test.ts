/**
 * The example service under a real systemd, pid 1 of a podman container:
 * a `Type=notify` unit with `WatchdogSec=` on each runtime. systemd sees it
 * start (`active` once `READY=1` came, its `STATUS=` shown), kills and
 * restarts it when its event loop hangs (no more `WATCHDOG=1`), and stops it
 * cleanly (SIGTERM, the shutdown, exit 0). The units keep the default
 * `NotifyAccess=main`: Node's `systemd-notify` sends as its parent, as root
 * may. Skips, saying why, where podman or this machine's systemd cannot run.
 *
 * @module
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { buildImages } from "./_image.ts";
import { type RuntimeName, RUNTIMES } from "./_container.ts";
import { podman, podmanOk, removeContainer, uniqueName } from "./_podman.ts";
import { NO_ENGINE } from "./_suite.ts";
import { buildSystemdImage, systemdProblem, unitOf, WATCHDOG_SEC } from "./_systemd.ts";

const skip = NO_ENGINE || (systemdProblem() ?? false);
const name = uniqueName("systemd");
/** Why systemd did not come up in the container, where it did not. */
let bootProblem: string | undefined;

before(async () => {
  if (skip) return console.log(`systemd tests skipped: ${skip}`);
  const image = buildSystemdImage(buildImages((line) => console.log(line)).app);
  // A terminal for systemd's console: its log, where the watchdog's timeout is told.
  const tty = ["--detach", "--tty", "--no-healthcheck", "--systemd=always"];
  await podmanOk([
    "run",
    ...tty,
    "--name",
    name,
    image,
    "/lib/systemd/systemd",
    "--log-target=console",
  ]);
  // systemd answers once it runs: its manager is up when `systemctl` can ask it.
  for (let tries = 0; tries < 200; tries++) {
    if ((await systemctl(["is-system-running"])).stdout.trim() !== "") return;
    await sleep(100);
  }
  const logs = await podman(["logs", name]);
  bootProblem = `systemd did not come up in a podman container: ${logs.stdout}${logs.stderr}`
    .trim();
});

after(async () => {
  if (!skip) await removeContainer(name);
});

function systemctl(args: string[]) {
  return podman(["exec", name, "systemctl", ...args]);
}

/** `systemctl show` of `unit`'s `properties`. */
async function show(unit: string, properties: string[]): Promise<Record<string, string>> {
  const { stdout } = await systemctl(["show", unit, "--property", properties.join(",")]);
  return Object.fromEntries(
    stdout.trim().split("\n").map((
      line,
    ) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

/** Waits until `unit`'s properties satisfy `accept`; returns them. */
async function until(
  unit: string,
  properties: string[],
  accept: (shown: Record<string, string>) => boolean,
  what: string,
): Promise<Record<string, string>> {
  let shown: Record<string, string> = {};
  for (let tries = 0; tries < 300; tries++) {
    shown = await show(unit, properties);
    if (accept(shown)) return shown;
    await sleep(100);
  }
  throw new Error(`Cannot see ${unit} ${what}: ${JSON.stringify(shown)}`);
}

for (const runtime of Object.keys(RUNTIMES) as RuntimeName[]) {
  test(`systemd: ${runtime}: active at READY=1, restarted when it hangs, stopped cleanly`, {
    skip,
  }, async (t) => {
    // The engine may run containers and still not systemd (a cgroup layout it cannot use).
    if (bootProblem) return t.skip(bootProblem);
    const unit = unitOf(runtime);
    const properties = ["ActiveState", "SubState", "MainPID", "StatusText", "NRestarts", "Result"];
    const first = await until(
      unit,
      properties,
      (shown) => shown.ActiveState === "active",
      "active",
    );
    assert.equal(first.StatusText, `unit ${unit}: ready (pid ${first.MainPID})`);
    // Watched: still active after several of the watchdog's periods.
    await sleep(2 * WATCHDOG_SEC * 1000);
    const watched = await show(unit, properties);
    assert.equal(watched.ActiveState, "active", JSON.stringify(watched));
    assert.equal(watched.MainPID, first.MainPID);
    assert.equal(watched.NRestarts, "0");
    // The event loop hangs: no more WATCHDOG=1, systemd kills it and starts it again.
    await podmanOk([
      "exec",
      name,
      "systemctl",
      "kill",
      "--kill-who=main",
      "--signal=SIGUSR2",
      unit,
    ]);
    const again = await until(
      unit,
      properties,
      (shown) => shown.NRestarts === "1" && shown.ActiveState === "active",
      "restarted",
    );
    assert.notEqual(again.MainPID, first.MainPID);
    assert.equal(again.StatusText, `unit ${unit}: ready (pid ${again.MainPID})`);
    const logs = await podman(["logs", name]);
    assert.match(`${logs.stdout}${logs.stderr}`, new RegExp(`${unit}.service: Watchdog timeout`));
    // Stopped: SIGTERM, the shutdown, exit 0.
    await podmanOk(["exec", name, "systemctl", "stop", unit]);
    const stopped = await show(unit, [...properties, "ExecMainStatus", "ExecMainCode"]);
    assert.equal(stopped.ActiveState, "inactive", JSON.stringify(stopped));
    assert.equal(stopped.Result, "success", JSON.stringify(stopped));
    assert.equal(stopped.ExecMainStatus, "0", JSON.stringify(stopped));
  });
}

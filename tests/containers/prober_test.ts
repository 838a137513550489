/**
 * The examples' Kubernetes manifests, run: a kubelet-like prober
 * (`_prober.ts`) reads their probes and drives our probes against the
 * program on this machine (no container needed). Assertions are on the
 * order of events; the times (in the manifest's seconds) are printed.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { log, send, starts, waitFor } from "./_container.ts";
import { freePort, manifestContainer, type Pod, withPod } from "./_pod.ts";
import type { ProbeKind } from "./_prober.ts";
import { NOT_NODE } from "./_suite.ts";

/**
 * 1 manifest second is 100 ms here: a 10 s period is 1 s, the example's
 * heartbeat (1 s, max age 10 s) beats every 100 ms with a max age of 1 s,
 * still far above a busy machine's timer delays.
 */
const SCALE = 10;
const DRIVEN = fileURLToPath(new URL("./fixtures/driven.mjs", import.meta.url));
const SERVICE = fileURLToPath(new URL("../../examples/service.mjs", import.meta.url));
/** A manifest's milliseconds in this test's time. */
const scaled = (ms: number) => String(Math.round(ms / SCALE));

function proberTest(name: string, body: () => Promise<void>): void {
  test(name, { skip: NOT_NODE, timeout: 60_000 }, body);
}

/** The runs of `probe`, in order. */
const runsOf = (pod: Pod, probe: ProbeKind) => pod.prober.runs.filter((run) => run.probe === probe);

/** Waits for the prober's decision `what`. */
async function decided(pod: Pod, what: "started" | "ready" | "not-ready" | "restart") {
  await waitFor(() => {
    if (pod.child.exitCode !== null) {
      throw new Error(`the program exited with ${pod.child.exitCode}`);
    }
    return pod.prober.decision(what) !== undefined;
  }, `the decision "${what}"`);
  return pod.prober.decision(what)!;
}

/** Liveness's last `failureThreshold` runs before the restart all failed, with `reason`. */
function assertRestartAfterThreshold(pod: Pod, manifest: string, reason: RegExp): void {
  const threshold = manifestContainer(manifest).livenessProbe!.failureThreshold!;
  const restart = pod.prober.decision("restart")!;
  const before = runsOf(pod, "liveness").filter((run) => run.at <= restart.at);
  const last = before.slice(-threshold);
  assert.equal(last.length, threshold);
  for (const run of last) {
    assert.equal(run.result, "failure");
    assert.match(run.output, reason);
  }
  assert.equal(before.at(-threshold - 1)?.result, "success", "the run before them succeeded");
}

/** Starts the driven fixture's life: loaded and healthy, started by the prober. */
async function startDriven(pod: Pod) {
  await waitFor(() => starts(pod).length === 1, "the program");
  // Let the startup probe fail first, as it does while a program starts.
  await waitFor(() => runsOf(pod, "startup").length >= 2, "two startup probes");
  await send(pod, "load");
  await send(pod, "set", "0");
  const started = await decided(pod, "started");
  await waitFor(() => runsOf(pod, "liveness").length > 0, "a liveness probe");
  return started;
}

proberTest(
  "the prober: startup gates liveness and readiness; set(3) restarts (exec manifest)",
  () =>
    withPod({ manifest: "deployment.yaml", program: DRIVEN, scale: SCALE }, async (pod) => {
      const started = await startDriven(pod);
      const gated = pod.prober.runs.filter((run) => run.probe !== "startup");
      assert.ok(gated.every((run) => run.at >= started.at), "nothing before started");
      const startup = runsOf(pod, "startup");
      assert.ok(startup.length >= 3);
      assert.ok(
        startup.slice(0, -1).every((run) =>
          /^unit api: (no pid file at \/\S+\/api\/pid \(.+\)|not started: set\(0\) not called yet)$/
            .test(run.output)
        ),
      );
      assert.equal(startup.at(-1)!.output, `unit api: healthy (pid ${pod.child.pid})`);
      console.log(`exec manifest: started at ${started.at.toFixed(1)} s`);

      await send(pod, "set", "3");
      const since = pod.prober.now();
      const restart = await decided(pod, "restart");
      assertRestartAfterThreshold(pod, "deployment.yaml", /^unit api: error 3$/);
      assert.equal(runsOf(pod, "startup").length, startup.length, "no startup probe once started");
      console.log(`exec manifest: set(3) to restart decision ${(restart.at - since).toFixed(1)} s`);
    }),
);

proberTest(
  "the prober: first ready, then out of the Service before a restart (exec manifest)",
  () =>
    withPod({ manifest: "deployment.yaml", program: DRIVEN, scale: SCALE }, async (pod) => {
      await startDriven(pod);
      const ready = await decided(pod, "ready");
      assert.equal(ready.output, `unit api: ready (pid ${pod.child.pid})`);
      console.log(`exec manifest: first ready at ${ready.at.toFixed(1)} s`);
      await send(pod, "set", "3");
      const restart = await decided(pod, "restart");
      const notReady = pod.prober.decision("not-ready")!;
      assert.equal(notReady.output, "unit api: error 3");
      assert.ok(notReady.at <= restart.at, "out of the Service before the restart");
    }),
);

proberTest(
  "the prober: a hang leads to a restart decision after failureThreshold periods",
  () =>
    withPod({
      manifest: "deployment.yaml",
      program: DRIVEN,
      scale: SCALE,
      // The example service's heartbeat (1 s, max age 10 s), in this test's time.
      env: { HEARTBEAT: `${scaled(1000)},${scaled(10_000)}` },
    }, async (pod) => {
      await startDriven(pod);
      await send(pod, "hang");
      const since = pod.prober.now();
      const restart = await decided(pod, "restart");
      assertRestartAfterThreshold(
        pod,
        "deployment.yaml",
        /^unit api: no heartbeat for \d+s \(max 1s\)$/,
      );
      console.log(`exec manifest: hang to restart decision ${(restart.at - since).toFixed(1)} s`);
    }),
);

proberTest("the prober: no restart during a drain, readiness fails first", () =>
  withPod({
    manifest: "deployment.yaml",
    program: DRIVEN,
    scale: SCALE,
    // Liveness keeps being probed through the shutdown: stricter than the kubelet.
    livenessWhileTerminating: true,
  }, async (pod) => {
    await startDriven(pod);
    await decided(pod, "ready");
    // A drain of three readiness periods (15 s), so that readiness sees it.
    await send(pod, "signals", scaled(15_000), scaled(25_000));
    const since = pod.prober.now();
    pod.prober.terminate();
    pod.child.kill("SIGTERM");
    const [code] = await pod.exited;
    const notReady = pod.prober.decision("not-ready");
    assert.equal(notReady?.output, "unit api: draining");
    const during = runsOf(pod, "liveness").filter((run) => run.at >= since);
    assert.ok(during.length > 0, "liveness probed during the drain");
    assert.ok(
      during.filter((run) => run.at <= notReady!.at).every((run) => run.result === "success"),
    );
    assert.equal(pod.prober.decision("restart"), undefined);
    assert.equal(code, 0);
    assert.ok(log(pod).includes("shutdown SIGTERM"));
    console.log(`exec manifest: SIGTERM to not ready ${(notReady!.at - since).toFixed(1)} s`);
  }));

proberTest("the prober: the httpGet manifest, ready and live over HTTP", async () => {
  const port = await freePort();
  await withPod({
    manifest: "deployment-http.yaml",
    program: SERVICE,
    scale: SCALE,
    env: { HEALTH_PORT: String(port), PORT: String(await freePort()) },
    ports: { "9000": port },
  }, async (pod) => {
    const ready = await decided(pod, "ready");
    const started = pod.prober.decision("started")!;
    assert.ok(started.at <= ready.at);
    assert.match(ready.output, /^200 /);
    assert.ok(runsOf(pod, "liveness").every((run) => run.result === "success"));
    console.log(
      `httpGet manifest: started at ${started.at.toFixed(1)} s, ready at ${ready.at.toFixed(1)} s`,
    );
  });
});

proberTest("the prober: the grpc manifest, ready and live over gRPC", async () => {
  const port = await freePort();
  await withPod({
    manifest: "deployment-grpc.yaml",
    program: SERVICE,
    scale: SCALE,
    env: {
      GRPC_HEALTH_PORT: String(port),
      HEALTH_PORT: String(await freePort()),
      PORT: String(await freePort()),
    },
    ports: { "9001": port },
  }, async (pod) => {
    const ready = await decided(pod, "ready");
    const started = pod.prober.decision("started")!;
    assert.ok(started.at <= ready.at);
    assert.equal(ready.output, "status: SERVING");
    assert.ok(runsOf(pod, "liveness").every((run) => run.result === "success"));
    console.log(
      `grpc manifest: started at ${started.at.toFixed(1)} s, ready at ${ready.at.toFixed(1)} s`,
    );
  });
});

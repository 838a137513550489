/**
 * The examples in a real container engine (podman): HEALTHCHECK with each
 * probe, restarts of pid 1, `podman stop`, the HTTP endpoints, on Node, Bun
 * and Deno inside the containers. Skips, saying why, where podman cannot run
 * containers; run under Node (see `_suite.ts`).
 *
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildImages, type Images } from "./_image.ts";
import {
  type Container,
  exec,
  healthcheck,
  PROBE_SH,
  RUNDIR,
  type RuntimeName,
  RUNTIMES,
  send,
  starts,
  state,
  UNIT,
  waitFor,
  withContainer,
} from "./_container.ts";
import { podman, podmanOk, podmanSync, podmanSyncOk, uniqueName } from "./_podman.ts";
import { NO_ENGINE } from "./_suite.ts";

let images: Images;
let ran = 0;

before(() => {
  if (NO_ENGINE) {
    console.log(`container tests skipped: ${NO_ENGINE}`);
    return;
  }
  images = buildImages((line) => console.log(line));
});

after(() => {
  if (!NO_ENGINE) console.log(`container tests run: ${ran}`);
});

/** The container tests, registered below and run in {@linkcode CONCURRENCY}. */
const tests: [string, () => Promise<void>, string | false][] = [];
/**
 * How many containers run at once: most of a test's time is podman's own
 * (an exec costs a process of podman, conmon and runc), so a few at once
 * use the machine better than one.
 */
const CONCURRENCY = 3;

/** A container test: skipped without an engine, counted when it runs. */
function containerTest(
  name: string,
  body: () => Promise<void>,
  skip: string | false = false,
): void {
  tests.push([name, body, skip]);
}

/** The health check's command in the image's config. */
function imageHealthcheck(image: string): string[] {
  return JSON.parse(
    podmanSyncOk(["image", "inspect", "--format", "{{json .Config.Healthcheck}}", image]),
  )
    .Test;
}

/**
 * The HEALTHCHECK life cycle through `podman healthcheck run`: starting
 * until set(0), healthy, then the image's 3 retries after set(3) to
 * unhealthy (`starting` again when podman restarts the container for it).
 */
async function healthLifeCycle(container: Container, last = "unhealthy"): Promise<void> {
  const first = await healthcheck(container);
  assert.deepEqual([first.code, first.status, first.output], [
    1,
    "starting",
    `unit ${UNIT}: no pid file at ${RUNDIR}/${UNIT}/pid (no directory ${RUNDIR}/${UNIT})`,
  ]);
  await send(container, "load");
  assert.equal(
    (await healthcheck(container)).output,
    `unit ${UNIT}: not started: set(0) not called yet`,
  );
  await send(container, "set", "0");
  const healthy = await healthcheck(container);
  assert.deepEqual([healthy.code, healthy.status], [0, "healthy"]);
  await send(container, "set", "3");
  // One after another: each run counts a failure.
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push(await healthcheck(container));
  assert.deepEqual(statuses.map(({ code, status }) => [code, status]), [
    [1, "healthy"],
    [1, "healthy"],
    [1, last],
  ]);
  assert.equal(statuses[2].output, `unit ${UNIT}: error 3`);
}

containerTest("the images keep the examples' HEALTHCHECK (docker format)", () => {
  assert.deepEqual(imageHealthcheck(images.app), ["CMD", ...PROBE_SH]);
  assert.deepEqual(imageHealthcheck(images.distroless), [
    "CMD",
    "/nodejs/bin/node",
    "/app/node_modules/@cic/liveness/src/probe_cli.js",
  ]);
  return Promise.resolve();
});

containerTest(
  "HEALTHCHECK with probe.sh: starting, healthy after set(0), unhealthy after set(3)",
  () =>
    withContainer(
      { image: images.app, healthCmd: imageHealthcheck(images.app).slice(1) },
      healthLifeCycle,
    ),
);

for (const runtime of Object.keys(RUNTIMES) as RuntimeName[]) {
  containerTest(
    `HEALTHCHECK with the liveness-probe command on ${runtime}: starting, healthy, unhealthy`,
    () =>
      withContainer(
        { image: images.app, runtime, healthCmd: RUNTIMES[runtime].probe },
        healthLifeCycle,
      ),
  );
}

containerTest("the distroless example: no shell, HEALTHCHECK through node", () =>
  withContainer(
    {
      image: images.distroless,
      command: ["/app/driven.mjs"],
      healthCmd: imageHealthcheck(images.distroless).slice(1),
    },
    async (container) => {
      await waitFor(() => starts(container).length > 0, "a start");
      assert.notEqual((await exec(container, ["/bin/sh", "-c", "true"])).code, 0, "no /bin/sh");
      assert.notEqual((await exec(container, [...PROBE_SH])).code, 0, "no bash for probe.sh");
      await healthLifeCycle(container);
    },
  ));

containerTest(
  "--health-on-failure=restart: the new pid 1 is not healthy before its own load()",
  () =>
    withContainer({
      image: images.app,
      healthCmd: PROBE_SH,
      args: ["--health-on-failure", "restart"],
    }, async (container) => {
      await healthLifeCycle(container, "starting"); // the third failure restarts it
      await waitFor(() => starts(container).length === 2, "the restart");
      const [before, after] = starts(container).map((line) => line.split(" "));
      assert.deepEqual([before[1], after[1]], ["1", "1"], "pid 1 both times");
      assert.notEqual(before[2], after[2], "a new process");
      // By exec: a health check run now would count a fourth failure and restart it again.
      assert.deepEqual(await exec(container, PROBE_SH), {
        code: 1,
        output: `unit ${UNIT}: state is from an earlier process with pid 1`,
      });
      await send(container, "load");
      await send(container, "set", "0");
      assert.equal((await healthcheck(container)).code, 0);
    }),
);

containerTest(
  "a crashed pid 1 restarted by the engine: the old healthy state is not taken for the new process",
  () =>
    withContainer({ image: images.app, args: ["--restart", "on-failure:1"] }, async (container) => {
      await send(container, "load");
      await send(container, "set", "0");
      assert.equal((await exec(container, PROBE_SH)).output, `unit ${UNIT}: healthy (pid 1)`);
      await send(container, "crash");
      await waitFor(() => starts(container).length === 2, "the restart");
      for (const probe of [PROBE_SH, RUNTIMES.node.probe]) {
        assert.deepEqual(await exec(container, probe), {
          code: 1,
          output: `unit ${UNIT}: state is from an earlier process with pid 1`,
        });
      }
    }),
);

for (const runtime of Object.keys(RUNTIMES) as RuntimeName[]) {
  containerTest(`a hung program turns unhealthy (heartbeat) on ${runtime}`, () =>
    withContainer(
      { image: images.app, runtime, env: { HEARTBEAT: "200,2000" } },
      async (container) => {
        await send(container, "load");
        assert.ok(
          existsSync(join(container.state, UNIT, "heartbeat")),
          "load() writes a heartbeat",
        );
        await send(container, "set", "0");
        assert.equal((await exec(container, PROBE_SH)).code, 0);
        await send(container, "hang");
        // Bounded: the wait gives up after 60 s.
        let outcome = await exec(container, PROBE_SH);
        await waitFor(
          async () => (outcome = await exec(container, PROBE_SH)).code !== 0,
          "a stale heartbeat",
        );
        assert.match(outcome.output, /^unit demo: no heartbeat for \d+s \(max 2s\)$/);
        assert.equal((await exec(container, RUNTIMES[runtime].probe)).code, 1);
      },
    ));
}

/** Whether the container runs; throws when it has exited, with its exit code. */
async function running(container: Container): Promise<boolean> {
  if (await state(container, "Running") === "true") return true;
  throw new Error(`the container exited with ${await state(container, "ExitCode")}`);
}

/** One look at the unit during a shutdown: readiness and liveness, as a probe says them. */
interface Look {
  readonly ready: string;
  readonly live: string;
}

/**
 * Looks (`look`) until the unit cannot be looked at any more (three
 * `undefined` in a row: the container is stopping or gone), at most 400 times, then checks the
 * order: readiness fails (`draining`) while liveness still says `healthy`,
 * and liveness never failed before readiness did.
 */
async function assertDrainOrder(
  look: () => Promise<Look | undefined>,
  draining: (look: Look) => boolean,
  healthy: (look: Look) => boolean,
): Promise<void> {
  const looks: Look[] = [];
  // Three failed looks in a row end it: one may be a slow answer on a busy machine.
  for (let i = 0, failed = 0; i < 400 && failed < 3; i++) {
    const seen = await look();
    if (seen !== undefined) {
      looks.push(seen);
      failed = 0;
    } else {
      if (looks.length > 0) failed++;
      await sleep(25); // not answering yet, or no more
    }
  }
  const first = looks.findIndex(draining);
  assert.ok(first >= 0, `never seen draining: ${JSON.stringify(looks.slice(-5))}`);
  assert.ok(looks.slice(0, first + 1).every(healthy), "liveness held until readiness failed");
}

/** The service on `runtime` as pid 1 (no --init: its own SIGTERM handling), health port published. */
function serviceOptions(runtime: RuntimeName, drainMs: number) {
  return {
    image: images.app,
    command: [...RUNTIMES[runtime].run, "/app/service.mjs"],
    env: { DRAIN_MS: String(drainMs), TIMEOUT_MS: "15000" },
    args: ["--publish", "127.0.0.1::9000"],
  };
}

/** The loopback port published for the container's 9000. */
async function healthPort(container: Container): Promise<string> {
  return (await podmanOk(["port", container.name, "9000/tcp"])).trim().split(":").at(-1)!;
}

/** After the service exited: exit 0 (not 137: no SIGKILL at the grace period's end), no state. */
async function assertCleanExit(container: Container): Promise<void> {
  assert.equal(await state(container, "ExitCode"), "0", "exit 0, not killed (137)");
  assert.deepEqual(readdirSync(join(container.state, UNIT)), [], "state removed at exit");
}

for (const runtime of Object.keys(RUNTIMES) as RuntimeName[]) {
  containerTest(
    `podman stop: readiness fails first, liveness holds, exit 0 within the grace period on ${runtime}`,
    () =>
      withContainer(serviceOptions(runtime, 8000), async (container) => {
        const port = await healthPort(container);
        await waitFor(
          async () =>
            await running(container) &&
            (await exec(container, [...PROBE_SH, "--ready"])).code === 0,
          "ready",
        );
        // podman refuses exec into a stopping container: look over HTTP, as an httpGet probe.
        const stop = podman(["stop", "--time", "30", container.name]);
        await assertDrainOrder(
          async () => {
            try {
              const [[ready], [live]] = await Promise.all([
                get(port, "/readyz"),
                get(port, "/livez"),
              ]);
              return { ready: String(ready), live: String(live) };
            } catch {
              return undefined; // closed: the shutdown is past the drain
            }
          },
          (look) => look.ready === "503",
          (look) => look.live === "200",
        );
        const stopped = await stop;
        assert.equal(stopped.status, 0, stopped.stderr);
        await assertCleanExit(container);
      }),
  );
}

containerTest(
  "SIGTERM as the kubelet sends it: the exec probes see draining while liveness holds",
  () =>
    withContainer(serviceOptions("node", 8000), async (container) => {
      await waitFor(
        async () =>
          await running(container) &&
          (await exec(container, [...PROBE_SH, "--ready"])).code === 0,
        "ready",
      );
      await podmanOk(["kill", "--signal", "TERM", container.name]);
      await assertDrainOrder(
        async () => {
          const [ready, live] = await Promise.all([
            exec(container, [...PROBE_SH, "--ready"]),
            exec(container, PROBE_SH),
          ]);
          const answered = [ready, live].every(({ code }) => code === 0 || code === 1);
          return answered ? { ready: ready.output, live: live.output } : undefined;
        },
        (look) => look.ready === `unit ${UNIT}: draining`,
        (look) => look.live === `unit ${UNIT}: healthy (pid 1)`,
      );
      assert.equal((await podmanOk(["wait", container.name])).trim(), "0");
      await assertCleanExit(container);
    }),
);

/** GETs `path` on the loopback port; its status and body. */
/**
 * One GET on a new connection, as the kubelet's httpGet probe makes it (it
 * keeps no connection alive): a pooled connection the server closed would
 * fail a look for nothing.
 */
function get(port: string, path: string): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const request = httpGet(
      { host: "127.0.0.1", port: Number(port), path, agent: false, timeout: 15_000 },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve([response.statusCode ?? 0, body]));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`GET ${path}: no answer in 15 s`)));
    request.on("error", reject);
  });
}

for (const runtime of Object.keys(RUNTIMES) as RuntimeName[]) {
  containerTest(
    `the HTTP endpoints on a published loopback port answer like the probe on ${runtime}`,
    () =>
      withContainer(
        { image: images.app, runtime, args: ["--publish", "127.0.0.1::9000"] },
        async (container) => {
          const port = await healthPort(container);
          await send(container, "load");
          await send(container, "serve", "9000");
          const steps: string[][] = [[], ["set", "0"], ["ready", "false", "warming"], [
            "ready",
            "true",
          ], ["set", "3"]];
          for (const step of steps) {
            if (step.length > 0) await send(container, ...step);
            const live = await exec(container, RUNTIMES[runtime].probe);
            const ready = await exec(container, [...RUNTIMES[runtime].probe, "--ready"]);
            for (
              const [path, probe] of [["/livez", live], ["/healthz", live], [
                "/readyz",
                ready,
              ]] as const
            ) {
              const [status] = await get(port, path);
              assert.equal(
                status,
                probe.code === 0 ? 200 : 503,
                `${path} after ${step.join(" ") || "load"}: the probe says ${probe.output}`,
              );
            }
          }
        },
      ),
  );
}

containerTest(
  "the distroless image as built: its CMD serves and its HEALTHCHECK says healthy",
  () =>
    withContainer({
      image: images.distroless,
      command: [], // the image's own: node service.mjs
      healthCmd: imageHealthcheck(images.distroless).slice(1),
      args: ["--publish", "127.0.0.1::9000"],
    }, async (container) => {
      await waitFor(
        async () => await running(container) && (await healthcheck(container)).code === 0,
        "healthy",
      );
      assert.equal((await healthcheck(container)).status, "healthy");
      const port = await healthPort(container);
      assert.deepEqual((await get(port, "/livez"))[0], 200);
      assert.deepEqual((await get(port, "/readyz"))[0], 200);
    }),
);

containerTest("the state volume is the rundir the Dockerfiles name", () => {
  assert.equal(RUNDIR, "/run/liveness");
  const volumes = podmanSyncOk([
    "image",
    "inspect",
    "--format",
    "{{json .Config.Volumes}}",
    images.app,
  ]);
  assert.deepEqual(Object.keys(JSON.parse(volumes)), [RUNDIR]);
  return Promise.resolve();
});

describe("in podman", { concurrency: CONCURRENCY }, () => {
  for (const [name, body, skip] of tests) {
    test(name, { skip: NO_ENGINE || skip, timeout: 120_000 }, async () => {
      ran++;
      await body();
    });
  }
});

// Nothing this run made is left behind: no container of ours.
after(() => {
  if (NO_ENGINE) return;
  const ours = `name=${uniqueName("run").replace(/[^-]+$/, "")}`;
  const left = podmanSync(["ps", "--all", "--filter", ours, "--format", "{{.Names}}"]);
  assert.equal(left.stdout.trim(), "", "containers left behind");
});

/**
 * lightship's routes for migrating programs: off by default, and with
 * `http: { lightship: true }` the same statuses and bodies as lightship
 * itself gives at each step (lightship runs beside, in a child process).
 *
 * @module
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { createLiveness } from "../mod.ts";
import { fixture, withTempDir } from "./_helpers.ts";
import { LineChild } from "./_runtimes.ts";

const ROUTES = ["/live", "/ready", "/health"];

/** `status content-type body` of each of lightship's routes, from `fetch`. */
async function answers(fetcher: (request: Request) => Response | Promise<Response>) {
  const result: Record<string, string> = {};
  for (const path of ROUTES) {
    const response = await fetcher(new Request(`http://localhost${path}`));
    result[path] = `${response.status} ${response.headers.get("content-type")} ${await response
      .text()}`;
  }
  return result;
}

test("lightship's routes are off by default: 404", async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    for (const path of ROUTES) {
      assert.equal(liveness.fetch(new Request(`http://localhost${path}`)).status, 404, path);
    }
    await liveness.close();
  });
});

test("lightship's routes: under the prefix, GET and HEAD only, checked option", async () => {
  await withTempDir(async (rundir) => {
    assert.throws(
      () => createLiveness({ unit: "x", rundir, http: { lightship: "yes" as never } }),
      /^TypeError: Cannot create the unit: options\.http\.lightship must be a boolean$/,
    );
    const liveness = createLiveness({
      unit: "api",
      rundir,
      http: { prefix: "/health", lightship: true },
    });
    await liveness.load([]);
    liveness.set(0);
    const at = (path: string, method = "GET") =>
      liveness.fetch(new Request(`http://localhost${path}`, { method }));
    assert.equal(await at("/health/ready").text(), "SERVER_IS_READY");
    assert.equal(await at("/health/health").text(), "SERVER_IS_READY");
    assert.equal(at("/ready").status, 404, "not at the root under a prefix");
    assert.equal(at("/health/live", "POST").status, 405);
    const head = at("/health/live", "HEAD");
    assert.deepEqual([head.status, await head.text()], [200, ""]);
    // The node:http listener answers alike.
    const written: unknown[] = [];
    liveness.listener({ method: "GET", url: "/health/live", headers: {} }, {
      writeHead: (status) => written.push(status),
      end: (body) => written.push(body),
    });
    assert.deepEqual(written, [200, "SERVER_IS_NOT_SHUTTING_DOWN"]);
    liveness.set(3);
    assert.equal(await at("/health/live").text(), "SERVER_IS_NOT_LIVE");
    await liveness.close();
  });
});

/** Why lightship cannot run beside: it needs Node 22.13, which runs its child under Node. */
function lightshipSkip(): string | false {
  if ("Deno" in globalThis || "Bun" in globalThis) return false; // the child runs on npm's Node
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 13)
    ? false
    : `lightship needs Node 22.13 or later, this is ${process.versions.node}`;
}

test("lightship's routes answer as lightship itself does, at each step", {
  skip: lightshipSkip(),
  timeout: 60_000,
}, async () => {
  await withTempDir(async (rundir) => {
    const child = new LineChild("node", fixture("lightship_service"));
    const liveness = createLiveness({ unit: "api", rundir, http: { lightship: true } });
    try {
      const port = Number((await child.next((line) => line.startsWith("port "))).slice(5));
      const theirs = () =>
        answers((request) => fetch(`http://127.0.0.1:${port}${new URL(request.url).pathname}`));
      const ours = () => answers(liveness.fetch);
      const send = async (line: string) => {
        child.send(line);
        await child.next((answer) => answer === `done ${line}`);
      };
      await liveness.load([]);
      liveness.set(0);
      liveness.ready(false, "starting");
      const steps: [string, () => unknown][] = [
        ["not ready yet", () => {}],
        ["ready", () => liveness.ready(true)],
        ["notready", () => liveness.ready(false)],
        ["ready", () => liveness.ready(true)],
      ];
      for (const [step, ourStep] of steps) {
        if (step !== "not ready yet") await send(step);
        ourStep();
        assert.deepEqual(await ours(), await theirs(), step);
      }
      // The shutdown, held by a handler on both sides.
      let release = () => {};
      liveness.onShutdown(() => new Promise<void>((resolve) => release = resolve));
      const done = liveness.shutdown({ drain: 0 });
      await send("shutdown");
      const during = await theirs();
      assert.deepEqual(await ours(), during, "shutting down");
      assert.deepEqual(during, {
        "/live": "500 text/plain; charset=utf-8 SERVER_IS_SHUTTING_DOWN",
        "/ready": "500 text/plain; charset=utf-8 SERVER_IS_NOT_READY",
        "/health": "500 text/plain; charset=utf-8 SERVER_IS_SHUTTING_DOWN",
      });
      release();
      await send("release");
      await done;
    } finally {
      await liveness.close();
      await child.stop();
    }
  });
});

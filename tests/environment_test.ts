/**
 * Environments without `/proc`: a developer's macOS or Windows laptop (an
 * adapter with no `/proc`), and Deno with narrow permissions (a real Deno
 * child, whatever runtime runs the suite).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import type { LivenessError } from "../mod.ts";
import type { Runtime } from "../src/runtime/_runtime.ts";
import { runtime } from "../src/runtime/_current.ts";
import { Unit } from "../src/_unit.ts";
import { writerFs } from "../src/_state.ts";
import { extension } from "./_env.ts";
import { readState, withTempDir } from "./_helpers.ts";
import { commandFor } from "./_runtimes.ts";

/** The real runtime on a system without `/proc`. */
function withoutProc(): Runtime {
  const missing = (path: string) => Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  const fs = writerFs(runtime);
  return {
    ...runtime,
    stateFs: {
      ...fs,
      lstat: (path) => {
        if (path.startsWith("/proc/")) throw missing(path);
        return fs.lstat(path);
      },
    },
    readHead(path, maxBytes) {
      if (path.startsWith("/proc/")) throw missing(path);
      return runtime.readHead(path, maxBytes);
    },
  };
}

test("off Linux (no /proc): load, set and reset work, no starttime, one warning", async () => {
  await withTempDir(async (rundir) => {
    const reported: LivenessError[] = [];
    const liveness = new Unit(withoutProc(), {
      unit: "api",
      rundir,
      onError: (error) => reported.push(error),
    });
    await liveness.load([]);
    liveness.set(0);
    const state = readState(liveness.dir);
    assert.equal(state.pid, `${process.pid}\n`);
    assert.equal(state.error, "0\n");
    assert.equal(state.starttime, undefined, "no starttime without /proc");
    assert.match(
      state.heartbeat,
      new RegExp(`^\\d+\\.\\d\\d 10000 ${process.pid} -\\n$`),
      "the system's uptime",
    );
    assert.equal(reported.length, 1);
    assert.match(
      reported[0].message,
      /^Cannot tell everything of unit .*: \/proc cannot be read: no starttime/,
    );
    liveness.set(3);
    assert.equal(readState(liveness.dir).error, "3\n");
    liveness.reset();
    assert.deepEqual(readState(liveness.dir), {});
    assert.equal(reported.length, 1, "said once");
    await liveness.close();
  });
});

test('procfs: "error" makes a missing /proc a StateError, "ignore" silences it', async () => {
  await withTempDir(async (rundir) => {
    const strict = new Unit(withoutProc(), { unit: "strict", rundir, procfs: "error" });
    await assert.rejects(strict.load([]), /cannot read \/proc/);
    const reported: unknown[] = [];
    const quiet = new Unit(withoutProc(), {
      unit: "quiet",
      rundir,
      procfs: "ignore",
      onError: (error) => reported.push(error),
    });
    await quiet.load([]);
    assert.deepEqual(reported, []);
    await quiet.close();
  });
});

/** Runs a script on Deno with `permissions`; returns its stdout and stderr. */
function denoWith(permissions: string[], script: string) {
  const [deno] = commandFor("deno", "");
  return spawnSync(deno, ["run", ...permissions, script], { encoding: "utf8", timeout: 60_000 });
}

test("Deno with narrow permissions: load() says once what it cannot do; probe() never throws", async () => {
  await withTempDir((dir) => {
    const mod = new URL(`../mod${extension}`, import.meta.url).href;
    const script = `${dir}/narrow.ts`;
    writeFileSync(
      script,
      `import { createLiveness, probe } from ${JSON.stringify(mod)};
const liveness = createLiveness({ unit: "api", rundir: ${JSON.stringify(dir)} });
await liveness.load([]);
liveness.set(0);
const result = probe({ unit: "api", rundir: ${JSON.stringify(dir)} });
console.log(JSON.stringify({ status: result.status, healthy: result.healthy }));
await liveness.close();
`,
    );
    const narrow = denoWith([`--allow-read=${dir}`, `--allow-write=${dir}`], script);
    assert.equal(narrow.status, 0, narrow.stderr);
    const lines = narrow.stderr.split("\n").filter((line) => line.includes("@cic/liveness"));
    assert.equal(lines.length, 1, narrow.stderr);
    assert.match(
      lines[0],
      /\/proc cannot be read: no starttime .*; no heartbeat is written .*--allow-all/,
    );
    const { status, healthy } = JSON.parse(narrow.stdout);
    assert.equal(healthy, false, "a probe that cannot read /proc never says healthy");
    assert.equal(status, "failed");

    const all = denoWith(["--allow-all"], script);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(all.stderr, "");
    assert.deepEqual(JSON.parse(all.stdout), { status: "healthy", healthy: true });
  });
});

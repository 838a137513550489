/**
 * What the owner's own answer costs, in process, for `http_bench.ts`: a
 * loaded owner's `fetch` (the verdict judged at each request, with one
 * `fstat` of the pid file it holds) against a handler that answers the same
 * parts from a constant. Plain JavaScript, like `_http_server.js`. Usage:
 * `_owner_answer.js [LIBRARY]` (`.`: the source; `npm`: the npm build).
 * Prints one line of JSON: microseconds per answer, the median of 7 runs.
 *
 * @module
 */
const args = globalThis.Deno?.args ?? globalThis.process.argv.slice(2);
const [library = "."] = args;
const extension = library === "." ? "ts" : "js";
const from = (path) => new URL(`../${library}/${path}.${extension}`, import.meta.url).href;

const { createLiveness } = await import(from("mod"));
const { createFetchHandler } = await import(from("src/http/handler"));
const { healthOf } = await import(from("src/_unit"));
const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");

const CALLS = 20_000;
const RUNS = 7;
const request = new Request("http://pod/livez");

/** Microseconds per call of `handler`, the median of `RUNS` runs of `CALLS` calls. */
function perCall(handler) {
  const times = [];
  for (let run = 0; run <= RUNS; run++) {
    const began = performance.now();
    for (let i = 0; i < CALLS; i++) {
      if (handler(request).status !== 200) throw new Error("not healthy");
    }
    if (run > 0) times.push((performance.now() - began) * 1000 / CALLS); // the first warms up
  }
  return times.sort((a, b) => a - b)[RUNS >> 1];
}

const rundir = mkdtempSync(`${tmpdir()}/liveness-bench-`);
const result = {};
try {
  for (const heartbeat of [false, undefined]) {
    const unit = heartbeat === false ? "off" : "on";
    const liveness = createLiveness({ unit, rundir, heartbeat });
    await liveness.load([]);
    liveness.set(0);
    const parts = healthOf(liveness, "live");
    const constant = createFetchHandler(() => ({ unit, parts }));
    result[`heartbeat ${unit}`] = { owner: perCall(liveness.fetch), constant: perCall(constant) };
    await liveness.close();
  }
} finally {
  rmSync(rundir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));

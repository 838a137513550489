/**
 * A program that serves health endpoints on a free port of 127.0.0.1 and
 * prints `port N` once it listens, for `http_bench.ts`. Plain JavaScript, so
 * that no runtime strips types to start it. Usage:
 * `_http_server.js ours|bare|lightship [LIBRARY]`, where LIBRARY is the
 * library's root: `.` (the TypeScript source, for Deno and Bun) or `npm`
 * (the npm build, for Node).
 *
 * Each is the same program, which has loaded the library (all of `mod`),
 * with another server:
 *
 * - `ours`: `serve()` of the handlers of a source that judges an owner's
 *   facts at each request, as the owner does.
 * - `bare`: the runtime's own server answering `ok` (`node:http`,
 *   `Bun.serve`, `Deno.serve`): the floor.
 * - `lightship`: lightship's Fastify server, ready (`GET /live`).
 *
 * Each then imports only what it serves with, so that its weight is its own.
 *
 * @module
 */
const args = globalThis.Deno?.args ?? globalThis.process.argv.slice(2);
const [mode, library = "."] = args;
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const extension = library === "." ? "ts" : "js";
const from = (path) => new URL(`../${library}/${path}.${extension}`, import.meta.url).href;

async function ours() {
  const { createHealthHandlers } = await import(from("src/http/handler"));
  const { serve } = await import(from("src/http/serve"));
  const { healthyVerdict, judgeError, judgeReadiness } = await import(from("src/_verdict"));
  const pid = 4242;
  const handlers = createHealthHandlers((kind) => {
    const ok = healthyVerdict(pid, kind === "ready");
    const error = judgeError({ kind: "value", value: "0" });
    const parts = [
      { name: "pid", ok: true, ...ok },
      error ? { name: "error", ok: false, ...error } : { name: "error", ok: true, ...ok },
    ];
    if (kind === "ready") {
      const ready = judgeReadiness({ kind: "value", value: { state: "ready" } });
      parts.push(
        ready ? { name: "ready", ok: false, ...ready } : { name: "ready", ok: true, ...ok },
      );
    }
    return { unit: "bench", parts };
  });
  return (await serve(handlers, { port: 0, hostname: "127.0.0.1" })).port;
}

async function bare() {
  const ok = () => new Response("ok");
  if (runtime === "deno") {
    return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, ok).addr.port;
  }
  if (runtime === "bun") return Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: ok }).port;
  const { createServer } = await import("node:http");
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server.address().port;
}

async function lightship() {
  const { createLightship } = await import("lightship");
  const instance = await createLightship({ detectKubernetes: false, port: 0, signals: [] });
  instance.signalReady();
  return instance.server.address().port;
}

await import(from("mod"));
const servers = { ours, bare, lightship };
const port = await servers[mode]?.();
if (port === undefined) throw new Error(`Cannot serve: unknown mode ${mode}`);
console.log(`port ${port}`);

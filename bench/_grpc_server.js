/**
 * A program that holds a live unit and serves both its HTTP endpoints
 * (`serve()`) and its gRPC health service (`serveGrpc()`) on free ports of
 * 127.0.0.1, then prints `ports HTTP GRPC`, for `grpc_bench.ts`: the same
 * owner, the same verdict, two ways to be asked. Plain JavaScript, so that no
 * runtime strips types to start it; it runs the TypeScript source on Deno and
 * Bun, and on Node 22.6 or later.
 *
 * @module
 */
const { createLiveness } = await import(new URL("../mod.ts", import.meta.url).href);
const { mkdtempSync } = await import("node:fs");
const { tmpdir } = await import("node:os");

const rundir = mkdtempSync(`${tmpdir()}/liveness-grpc-bench-`);
const liveness = createLiveness({ unit: "bench", rundir });
await liveness.load([]);
liveness.set(0);
const http = await liveness.serve({ port: 0, hostname: "127.0.0.1" });
const grpc = await liveness.serveGrpc({ port: 0, hostname: "127.0.0.1" });
console.log(`ports ${http.port} ${grpc.port}`);

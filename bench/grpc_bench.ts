/**
 * What one gRPC health `Check` costs against one `httpGet /livez`, on the
 * same owner (`bench/_grpc_server.js` serves both), side by side in one run
 * on Node and Bun (`serveGrpc()` refuses Deno), printed as a markdown table:
 *
 * - one probe as the kubelet makes it: a fresh connection each time (a new
 *   TCP connection and an HTTP/1.1 `GET` for `httpGet`; a new h2c
 *   connection, its SETTINGS, and one `Check` for `grpc`), its round trip
 *   from this client (Node's `node:net` and `node:http2`);
 * - the server's CPU time per probe (from `/proc/PID/stat`), over batches
 *   of probes that alternate between the two, which a busy machine disturbs
 *   less than it disturbs a round trip.
 *
 * Run: `node_modules/.bin/node bench/grpc_bench.ts [probes] [rounds]`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { connect } from "node:net";
import { loadavg } from "node:os";
import process from "node:process";

const probes = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 5);

const RUNTIMES = [
  { name: "Node", command: [process.execPath] },
  { name: "Bun", command: ["node_modules/.bin/bun"] },
];

/** One `GET /livez` over a fresh TCP connection, as the kubelet's `httpGet`; its ms. */
function httpGet(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const socket = connect(port, "127.0.0.1", () =>
      socket.write(
        "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: kube-probe/1.34\r\n" +
          "Accept: */*\r\nConnection: close\r\n\r\n",
      ));
    let answer = "";
    socket.on("data", (chunk) => answer += chunk);
    socket.on("error", reject);
    socket.on("close", () => {
      if (!answer.startsWith("HTTP/1.1 200")) return reject(new Error(answer));
      resolve(performance.now() - began);
    });
  });
}

const CHECK = Uint8Array.of(0, 0, 0, 0, 0); // HealthCheckRequest {}: service ""

/** One `Check` over a fresh h2c connection, as the kubelet's `grpc` probe; its ms. */
function grpcCheck(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const client = connectHttp2(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    const stream = client.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      "te": "trailers",
    });
    const chunks: Uint8Array[] = [];
    let status = "";
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("trailers", (trailers) => status = String(trailers["grpc-status"]));
    stream.on("error", reject);
    stream.on("close", () => {
      client.close();
      const body = Buffer.concat(chunks);
      if (status !== "0" || body[6] !== 1) return reject(new Error(`grpc-status ${status}`));
      resolve(performance.now() - began);
    });
    stream.end(CHECK);
  });
}

/** The CPU time the process `pid` has used, in ms (user and system). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];

const rows: { runtime: string; http: number; grpc: number; httpCpu: number; grpcCpu: number }[] =
  [];
for (const runtime of RUNTIMES) {
  const [command, ...args] = runtime.command;
  const child = spawn(command, [...args, "bench/_grpc_server.js"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [httpPort, grpcPort] = await new Promise<number[]>((resolve) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const found = /ports (\d+) (\d+)/.exec(out);
      if (found) resolve([Number(found[1]), Number(found[2])]);
    });
  });
  for (let i = 0; i < 20; i++) await httpGet(httpPort), await grpcCheck(grpcPort); // warm up
  const times = { http: [] as number[], grpc: [] as number[] };
  const cpu = { http: [] as number[], grpc: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    for (const kind of ["http", "grpc"] as const) {
      const before = cpuMs(child.pid!);
      for (let i = 0; i < probes; i++) {
        times[kind].push(await (kind === "http" ? httpGet(httpPort) : grpcCheck(grpcPort)));
      }
      cpu[kind].push((cpuMs(child.pid!) - before) * 1000 / probes);
    }
  }
  child.kill();
  rows.push({
    runtime: runtime.name,
    http: median(times.http),
    grpc: median(times.grpc),
    httpCpu: median(cpu.http),
    grpcCpu: median(cpu.grpc),
  });
}

console.log(
  `\nOne probe on a fresh connection, as the kubelet makes it: median of ${
    probes * rounds
  } each, alternating in batches of ${probes}; load average ${loadavg()[0].toFixed(1)}\n`,
);
console.log(
  "| server on | httpGet /livez ms | grpc Check ms | × httpGet | server CPU µs: httpGet / grpc | × httpGet |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  console.log(
    `| ${row.runtime} | ${row.http.toFixed(2)} | ${row.grpc.toFixed(2)} | ${
      (row.grpc / row.http).toFixed(1)
    } | ${row.httpCpu.toFixed(0)} / ${row.grpcCpu.toFixed(0)} | ${
      (row.grpcCpu / row.httpCpu).toFixed(1)
    } |`,
  );
}

/**
 * A Node program for `weight_bench.ts`: an app on `node:http` answering
 * `200 ok`, with or without health endpoints. Plain JavaScript, so that Node
 * strips no types to start it. Usage:
 * `node _weight_server.js bare|serve|listener|lightship [LIBRARY RUNDIR]`,
 * where LIBRARY is the library's entry module (the npm build's `mod.js`) and
 * RUNDIR the directory for its unit, `weight-<pid>`.
 *
 * - `bare`: the app alone.
 * - `serve`: the app, and the library as its README shows it:
 *   `createLiveness()`, `load([])`, `set(0)`, then `serve()` on a port of
 *   its own.
 * - `listener`: the app, sending `/livez`, `/readyz` and `/healthz` on its
 *   own port to `liveness.listener` (after the same `createLiveness()`,
 *   `load([])`, `set(0)`), as a program with a `node:http` server mounts them.
 * - `lightship`: the app, and lightship's server, ready (`GET /live`).
 *
 * Each imports only what it uses. It prints `port APP HEALTH` once all
 * listens, and `heap N` (bytes of V8 heap in use) at each `SIGUSR2`.
 *
 * @module
 */
import { createServer } from "node:http";
import process from "node:process";

const [mode, library, rundir] = process.argv.slice(2);
const HEALTH = /^\/(?:livez|readyz|healthz)(?:\?|$)/;
const hostname = "127.0.0.1";

process.on("SIGUSR2", () => process.stdout.write(`heap ${process.memoryUsage().heapUsed}\n`));

/** A loaded, healthy owner of a unit of its own in RUNDIR. */
async function loaded() {
  const { createLiveness } = await import(library);
  const liveness = createLiveness({ unit: `weight-${process.pid}`, rundir });
  await liveness.load([]);
  liveness.set(0);
  return liveness;
}

/** Starts `server` on a free port of loopback and resolves with the port. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, hostname, () => resolve(server.address().port));
  });
}

const health = {
  bare: (port) => port,
  async serve() {
    const liveness = await loaded();
    return (await liveness.serve({ port: 0, hostname })).port;
  },
  // The app's port answers the health paths too: listen() below comes after.
  listener: (port) => port,
  async lightship() {
    const { createLightship } = await import("lightship");
    const lightship = await createLightship({ detectKubernetes: false, port: 0, signals: [] });
    lightship.signalReady();
    return lightship.server.address().port;
  },
};
if (!(mode in health)) throw new Error(`Cannot serve: unknown mode ${mode}`);

let respond = (_request, response) => response.end("ok");
if (mode === "listener") {
  const { listener } = await loaded();
  const app = respond;
  respond = (request, response) =>
    HEALTH.test(request.url) ? listener(request, response) : app(request, response);
}
const appPort = await listen(createServer((request, response) => respond(request, response)));
const healthPort = await health[mode](appPort);
process.stdout.write(`port ${appPort} ${healthPort}\n`);

// A service with the whole life cycle: its work on port 8080 ($PORT), health
// endpoints on 9000 ($HEALTH_PORT), gRPC health where $GRPC_HEALTH_PORT is set
// (Node and Bun), the state for exec probes in $LIVENESS_RUNDIR, a graceful
// shutdown on SIGTERM.
// Runs as it is on Node, Bun and Deno (deno run --allow-all service.mjs).
import { createLiveness } from "@cic/liveness";
import { createServer } from "node:http";
import process from "node:process";

const number = (name, fallback) => Number(process.env[name] ?? fallback);
const liveness = createLiveness({ heartbeat: { interval: 1000, maxAge: 10_000 } });
await liveness.load([() => true], { timeout: 5000 });
liveness.ready(false, "warming");
await liveness.serve({ port: number("HEALTH_PORT", 9000), hostname: "::" });
if (process.env.GRPC_HEALTH_PORT) {
  await liveness.serveGrpc({ port: number("GRPC_HEALTH_PORT"), hostname: "::" });
}

const app = createServer((_request, response) => response.end("hello\n"));
await new Promise((resolve) => app.listen(number("PORT", 8080), "::", resolve));
liveness.onShutdown(() => new Promise((resolve) => app.close(resolve)));
// SIGTERM: not ready at once, traffic drains, then the handlers, then exit 0.
liveness.handleSignals({ drain: number("DRAIN_MS", 5000), timeout: number("TIMEOUT_MS", 25_000) });

liveness.set(0);
liveness.ready(true);

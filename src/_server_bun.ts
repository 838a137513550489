/**
 * The {@linkcode ServerAdapter} on Bun: `Bun.serve` (uWebSockets), which
 * refuses a request head larger than Bun's `--max-http-header-size`
 * (16 KiB by default) and closes a connection idle for `idleTimeout`.
 *
 * @module
 */
import { IDLE_TIMEOUT, type ListenOptions, type ServerAdapter } from "./_server.ts";

/** The part of `Bun.serve` this adapter uses, typed here so the npm build compiles without Bun's types. */
interface BunServe {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request) => Response;
    /** Seconds. */
    idleTimeout: number;
    development: boolean;
    reusePort: boolean;
  }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

/** `Bun.serve`, in production mode (no error pages with stack traces), alone on its port. */
export const bunServer: ServerAdapter = {
  listen(handler, { port, hostname }: ListenOptions) {
    const { Bun } = globalThis as unknown as { Bun: BunServe };
    const server = Bun.serve({
      port,
      hostname,
      fetch: handler,
      idleTimeout: IDLE_TIMEOUT / 1000,
      development: false,
      // Bun shares a port with another server by default: a second program must fail, not split the probes.
      reusePort: false,
    });
    let closed: Promise<void> | undefined;
    return Promise.resolve({
      port: server.port,
      hostname,
      close: () => closed ??= server.stop(true),
    });
  },
};

/**
 * The {@linkcode ServerAdapter} on Bun: `Bun.serve` (uWebSockets), which
 * refuses a request head larger than Bun's `--max-http-header-size`
 * (16 KiB by default) and closes a connection idle for `idleTimeout`.
 *
 * `Bun.serve` resolves `..`, `.`, `%2e` and `\` in the URL it gives a
 * handler (`/readyz/../livez` arrives as `/livez`), but its `routes` match
 * the target as sent: the handler is mounted on its exact paths only
 * (`routes`, Bun 1.2.3 or later), and every other target answers `404`.
 *
 * @module
 */
import { IDLE_TIMEOUT, type ListenOptions, type ServerAdapter } from "./_adapter.ts";

/** The part of `Bun.serve` this adapter uses, typed here so the npm build compiles without Bun's types. */
interface BunServe {
  serve(options: {
    port: number;
    hostname: string;
    routes: Record<string, (request: Request) => Response>;
    fetch: (request: Request) => Response;
    /** Seconds. */
    idleTimeout: number;
    development: boolean;
    reusePort: boolean;
  }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
  readonly version: string;
}

/** `Bun.serve`, in production mode (no error pages with stack traces), alone on its port. */
export const bunServer: ServerAdapter = {
  listen({ fetch, paths }, { port, hostname, notFound }: ListenOptions) {
    const { Bun } = globalThis as unknown as { Bun: BunServe };
    const [major, minor, patch] = Bun.version.split(".").map(Number);
    if (major < 1 || (major === 1 && (minor < 2 || (minor === 2 && patch < 3)))) {
      // An older Bun.serve ignores `routes`: every request would answer 404.
      throw new Error(`Bun ${Bun.version} has no Bun.serve routes: Bun 1.2.3 or later is needed`);
    }
    const server = Bun.serve({
      port,
      hostname,
      routes: Object.fromEntries(paths.map((path) => [path, fetch])),
      fetch: notFound,
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

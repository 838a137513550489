/**
 * What `serve()` and `serveGrpc()` share: their options, checked, and the
 * listen on every interface (IPv4 alone only where there is no IPv6) that
 * an abort signal ends.
 *
 * @module
 */
import { assertKnownKeys, describeOption } from "../_options.ts";
import { errorCode } from "../runtime/_runtime.ts";
import type { HealthServer, ServeOptions } from "./types.ts";

/** {@linkcode ServeOptions}, checked, with the port's default. */
export interface Listening {
  readonly port: number;
  readonly hostname: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * `options` of `call` (`"serve()"`), checked; `port` defaults to
 * `defaultPort`.
 *
 * @throws {TypeError} naming an unknown option, or one of the wrong type.
 */
export function checkServeOptions(
  options: ServeOptions,
  call: string,
  defaultPort: number,
): Listening {
  assertKnownKeys(options, ["port", "hostname", "signal"], call);
  const { port = defaultPort, hostname, signal } = options;
  const wrong = (name: string, must: string, value: unknown) =>
    new TypeError(
      `Cannot call ${call}: options.${name} must be ${must}, got ${describeOption(value)}`,
    );
  if (typeof port !== "number") throw wrong("port", "a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw wrong("port", "an integer from 0 to 65535", port);
  }
  if (hostname !== undefined && (typeof hostname !== "string" || hostname === "")) {
    throw wrong("hostname", "an address (a non-empty string)", hostname);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw wrong("signal", "an AbortSignal", signal);
  }
  return { port, hostname, signal };
}

/**
 * Listens with `listen` on `hostname`, or by default on `::` (every
 * interface, IPv6 and IPv4), then `0.0.0.0` where there is no IPv6 (not
 * where `::` is merely taken); the server closes when `signal` aborts.
 *
 * @throws {Error} `Cannot WHAT on ADDRESS port PORT: ...` (`what` is
 * `"serve"`), its `cause` the runtime's error; or the signal's reason.
 */
export async function listenOnEvery(
  what: string,
  { port, hostname, signal }: Listening,
  listen: (hostname: string) => Promise<HealthServer>,
): Promise<HealthServer> {
  const listenOn = async (host: string, why = "") => {
    try {
      return await listen(host);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot ${what} on ${host} port ${port}${why}: ${reason}`, { cause: error });
    }
  };
  let server: HealthServer;
  if (hostname !== undefined) {
    server = await listenOn(hostname);
  } else {
    try {
      server = await listenOn("::", " (the default hostname: every interface, IPv6 and IPv4)");
    } catch (error) {
      if (errorCode((error as Error).cause) !== "EAFNOSUPPORT") throw error;
      server = await listenOn("0.0.0.0", " (the default hostname where there is no IPv6)");
    }
  }
  if (!signal) return server;
  if (signal.aborted) {
    await server.close();
    throw signal.reason;
  }
  const onAbort = () => void server.close();
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    port: server.port,
    hostname: server.hostname,
    close: () => {
      signal.removeEventListener("abort", onAbort);
      return server.close();
    },
  };
}

/**
 * The {@linkcode ServerAdapter} on Deno: `Deno.serve` (hyper), which limits
 * what a client may send by itself: a request head larger than hyper's
 * buffer is refused (`431`) and a head that does not arrive in time is cut;
 * each connection is its own task, so a slow one stops no other.
 *
 * `Deno.serve` keeps the target as sent: its `request.url` is `http://`, the
 * `Host` header (or the authority of an absolute target) and the target
 * itself; the handler answers `400` to a Host that would hide where the
 * target starts.
 *
 * @module
 */
import type { ListenOptions, ServerAdapter } from "./_adapter.ts";

/** The part of `Deno.serve` this adapter uses, typed here so the npm build compiles without Deno's types. */
interface DenoServe {
  serve(options: {
    port: number;
    hostname: string;
    handler: (request: Request) => Response;
    onListen: () => void;
  }): {
    readonly addr: { readonly port: number; readonly hostname: string };
    shutdown(): Promise<void>;
  };
}

/** `Deno.serve`, with no log line when it listens. */
export const denoServer: ServerAdapter = {
  listen({ fetch }, { port, hostname }: ListenOptions) {
    const { Deno } = globalThis as unknown as { Deno: DenoServe };
    const server = Deno.serve({ port, hostname, handler: fetch, onListen: () => {} });
    let closed: Promise<void> | undefined;
    return Promise.resolve({
      port: server.addr.port,
      hostname,
      close: () => closed ??= server.shutdown(),
    });
  },
};

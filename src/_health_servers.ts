/**
 * The servers an owner started for its own answers (`serve()`,
 * `serveGrpc()`): each handed back to the program with a `close()` that
 * forgets it, and all closed with the owner.
 *
 * @module
 */
import type { HealthServer } from "./http/types.ts";

/** The health servers of one owner. */
export class HealthServers {
  readonly #closers = new Set<() => Promise<void>>();

  /**
   * Starts a server for `call` (`"serve()"`); `isClosed` tells whether the
   * owner closed, before and while it started (then it is closed at once
   * and the call throws a `TypeError` naming `dir`).
   */
  async start(
    call: string,
    dir: string,
    isClosed: () => boolean,
    start: () => Promise<HealthServer>,
  ): Promise<HealthServer> {
    if (isClosed()) throw new TypeError(`Cannot ${call}: unit ${dir} was closed`);
    const server = await start();
    if (isClosed()) {
      await server.close(); // closed while it started: nothing would close it later
      throw new TypeError(`Cannot ${call}: unit ${dir} was closed while its server started`);
    }
    const close = () => server.close();
    this.#closers.add(close);
    return {
      port: server.port,
      hostname: server.hostname,
      close: () => {
        this.#closers.delete(close);
        return close();
      },
    };
  }

  /** Closes every server still open; never rejects. */
  async close(): Promise<void> {
    const closers = [...this.#closers];
    this.#closers.clear();
    await Promise.allSettled(closers.map((close) => close()));
  }
}

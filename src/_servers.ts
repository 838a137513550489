/**
 * The program's own servers, which the owner's shutdown closes
 * (`closeOnShutdown()`): from the signal on, each answer on HTTP/1.1 says
 * `Connection: close`, so that clients move to another replica while the
 * drain lasts; after the drain each server stops accepting, idle kept-alive
 * connections close at once and busy ones after their answer; at the
 * deadline what is left is cut. Each server is told apart by its methods
 * alone (see {@linkcode closingOf}), so that this module names no runtime.
 *
 * @module
 */
import { describeOption } from "./_options.ts";
import type { ClosableServer } from "./http/types.ts";

/** What closing the servers came to, for the shutdown's result and reports. */
export interface ServersClosed {
  /** Each server whose close threw or rejected: `the server #1 (close())`, and what. */
  readonly failures: { label: string; error: unknown }[];
  /** What the deadline cut, said as a clause of the report; `undefined` when all closed in time. */
  readonly cut: string | undefined;
}

/** How one server is drained, closed and cut. */
interface Closing {
  /** `node:http`, `Deno.serve`, `Bun.serve` or `close()`. */
  readonly kind: string;
  /** From the signal on: the answers not yet begun say `Connection: close`. */
  drain(): void;
  /** Stops accepting; resolves once every connection is closed. */
  close(): Promise<void>;
  /** At the deadline: cuts what is left, and says so (`2 connections cut at the deadline`). */
  force(): string;
  /** Stops watching the server. */
  release(): void;
}

/** The part of a `node:http` socket used here. */
interface NodeSocket {
  end(callback?: () => void): unknown;
  destroy(): unknown;
  once(event: "close", listener: () => void): unknown;
}

/** The part of a `node:http` (or HTTP/1 `node:http2`) request and response used here. */
interface NodeExchange {
  readonly request: { readonly httpVersionMajor?: number; readonly socket: NodeSocket };
  readonly response: {
    readonly headersSent: boolean;
    setHeader(name: string, value: string): unknown;
    once(event: "close", listener: () => void): unknown;
  };
}

/** The part of a `node:http2` session used here. */
interface NodeSession {
  close(): unknown;
  destroy(): unknown;
  once(event: "close", listener: () => void): unknown;
}

/** The part of a `node:http`, `node:https` or `node:http2` server used here. */
interface NodeServer {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off?(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  prependListener?(event: string, listener: (...args: never[]) => void): unknown;
  close(callback?: (error?: unknown) => void): unknown;
  listen(...args: never[]): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

/** The servers one owner closes on its shutdown. */
export class Servers {
  readonly #closings = new Map<object, { label: string; closing: Closing }>();
  #count = 0;
  #draining = false;
  #closing = false;

  /** See `Liveness.closeOnShutdown()`; `dir` names the unit in errors. */
  add(server: ClosableServer, dir: string): () => void {
    const make = closingOf(server);
    if (this.#closing) {
      throw new TypeError(
        `Cannot closeOnShutdown(): unit ${dir} is shutting down and closing its servers: ` +
          "close this one yourself",
      );
    }
    const key = server as object;
    let entry = this.#closings.get(key);
    if (entry === undefined) {
      // Named by its place in registration order, as the shutdown handlers are.
      entry = { label: `the server #${++this.#count} (${make.kind})`, closing: make() };
      this.#closings.set(key, entry);
      if (this.#draining) entry.closing.drain();
    }
    const added = entry;
    return () => {
      if (this.#closing || this.#closings.get(key) !== added) return;
      this.#closings.delete(key);
      added.closing.release();
    };
  }

  /**
   * See `Liveness.drainHandler()`: `handler`, whose answers say
   * `Connection: close` from the signal on.
   */
  drainHandler<H extends FetchHandler>(handler: H): H {
    if (typeof handler !== "function") {
      throw new TypeError(
        "Cannot drainHandler(): the handler must be a function (request) => Response, " +
          `got ${describeOption(handler)}`,
      );
    }
    const draining = () => this.#draining;
    // A function, not an arrow: Bun calls its fetch handler with the server as `this`.
    const wrapped = function (this: unknown, ...args: Parameters<H>) {
      const answer = handler.apply(this, args);
      if (answer instanceof Promise) {
        return answer.then((response) => draining() ? closing(response) : response);
      }
      return draining() ? closing(answer) : answer;
    };
    // Deno.serve reads it: a handler that declares no parameter is given no request.
    return Object.defineProperty(wrapped, "length", { value: handler.length }) as unknown as H;
  }

  /** At the signal: the answers of every server say `Connection: close` from now on. */
  drain(): void {
    this.#draining = true;
    for (const { closing } of this.#closings.values()) closing.drain();
  }

  /**
   * After the drain: closes every server at once and resolves when all have
   * closed, or at `deadline`, when what is left is cut (`timeout` ms: for
   * the report).
   */
  async close(deadline: Promise<unknown>, timeout: number): Promise<ServersClosed> {
    this.drain();
    this.#closing = true;
    const entries = [...this.#closings.values()];
    const failures: { label: string; error: unknown }[] = [];
    const open = new Set(entries);
    const closed = Promise.all(entries.map(async (entry) => {
      try {
        await entry.closing.close();
      } catch (error) {
        failures.push({ label: entry.label, error });
      }
      open.delete(entry);
    }));
    const outcome = await Promise.race([closed, deadline.then(() => "timeout" as const)]);
    let cut: string | undefined;
    if (outcome === "timeout" && open.size > 0) {
      cut = [...open].map(({ label, closing }) =>
        `${label} did not close within ${timeout} ms: ${forced(closing)}`
      ).join("; ");
    }
    for (const { closing } of entries) closing.release();
    this.#closings.clear();
    return { failures, cut };
  }

  /** Stops watching every server, and leaves them open: the owner closed without a shutdown. */
  release(): void {
    for (const { closing } of this.#closings.values()) closing.release();
    this.#closings.clear();
  }
}

/**
 * How to close `server`, told by its methods: `on`, `listen` and `close`
 * make a `node:http`, `node:https` or `node:http2` server (whose connections
 * are watched); `shutdown` and `finished`, a `Deno.serve` server; `stop`, a
 * `Bun.serve` server; `close` alone, anything else. It throws a `TypeError`
 * for anything that has none of these.
 */
function closingOf(server: unknown): (() => Closing) & { kind: string } {
  const has = (name: string) =>
    typeof (server as Record<string, unknown> | null)?.[name] === "function";
  const named = (kind: string, make: () => Closing) => Object.assign(make, { kind });
  if ((typeof server === "object" || typeof server === "function") && server !== null) {
    if (has("on") && has("listen") && has("close")) {
      return named("node:http", () => nodeClosing(server as NodeServer));
    }
    if (has("shutdown") && "finished" in server) {
      const deno = server as unknown as { shutdown(): Promise<void> };
      return named("Deno.serve", () => runtimeClosing("Deno.serve", () => deno.shutdown()));
    }
    if (has("stop")) {
      const bun = server as { stop(force?: boolean): unknown; pendingRequests?: number };
      return named("Bun.serve", () => ({
        ...runtimeClosing("Bun.serve", () => bun.stop(false)),
        force: () => {
          const pending = bun.pendingRequests;
          void Promise.resolve(bun.stop(true)).catch(() => {});
          const what = typeof pending === "number" ? plural(pending, "request") : "its requests";
          return `${what} cut at the deadline`;
        },
      }));
    }
    if (has("close")) {
      const plain = server as { close(): unknown };
      return named("close()", () => ({
        ...runtimeClosing("close()", () => plain.close()),
        force: () => "its close() given up at the deadline",
      }));
    }
  }
  throw new TypeError(
    "Cannot closeOnShutdown(): the server must be a node:http, node:https or node:http2 server, " +
      `a Deno.serve or Bun.serve server, or an object with a close() method, got ${
        describeOption(server)
      }`,
  );
}

/**
 * A server whose connections the runtime keeps to itself (`Deno.serve`,
 * `Bun.serve`): its own graceful stop, which stops accepting, closes idle
 * connections and each busy one after its answer.
 */
function runtimeClosing(kind: string, stop: () => unknown): Closing {
  return {
    kind,
    drain() {},
    async close() {
      await stop();
    },
    force: () => `given up at the deadline (${kind} cannot cut its connections)`,
    release() {},
  };
}

/**
 * A `node:http`, `node:https` or `node:http2` server: its answers watched
 * from now on, by connection, so that a connection closes right after its
 * last answer once the server closes; HTTP/2 sessions are closed with
 * `GOAWAY`, which lets their streams finish.
 */
function nodeClosing(server: NodeServer): Closing {
  /** The answers not yet finished, by connection: an empty set is an idle connection. */
  const answers = new Map<NodeSocket, Set<NodeExchange["response"]>>();
  /** Every connection accepted and not closed: an upgraded or `CONNECT` one answers nothing. */
  const sockets = new Set<NodeSocket>();
  const sessions = new Set<NodeSession>();
  let draining = false;
  let closing = false;
  const sayClose = (response: NodeExchange["response"]) => {
    // A header already sent cannot change: that connection closes after the answer.
    try {
      if (!response.headersSent) response.setHeader("Connection", "close");
    } catch {
      // An answer the program ended meanwhile: nothing to say.
    }
  };
  const onRequest = (
    request: NodeExchange["request"],
    response: NodeExchange["response"],
  ) => {
    if (request.httpVersionMajor !== 1) return; // HTTP/2: its session is closed instead
    const socket = request.socket;
    let open = answers.get(socket);
    if (open === undefined) {
      answers.set(socket, open = new Set());
      socket.once("close", () => answers.delete(socket));
    }
    const pending = open;
    pending.add(response);
    if (draining) sayClose(response);
    response.once("close", () => {
      pending.delete(response);
      if (closing && pending.size === 0) {
        endAfterWrites(socket);
        closeIdle();
      }
    });
  };
  /** The server's own closing of idle connections (those that sent nothing), once no answer is being written. */
  const closeIdle = () => {
    for (const open of answers.values()) if (open.size > 0) return;
    server.closeIdleConnections?.();
  };
  const onConnection = (socket: NodeSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const onSession = (session: NodeSession) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  };
  // First, so that the header is set before the program's own listener answers.
  (server.prependListener ?? server.on).call(server, "request", onRequest);
  server.on("session", onSession);
  server.on("connection", onConnection);
  return {
    kind: "node:http",
    drain() {
      draining = true;
      for (const open of answers.values()) open.forEach(sayClose);
    },
    close() {
      draining = closing = true;
      return new Promise<void>((resolve) => {
        // Called back once every connection is closed; with an error where it was not listening.
        // Not with the server's closeIdleConnections(), which its close() calls: it destroys a
        // connection whose answer is ended but still being written, and cuts that answer.
        const own = Object.getOwnPropertyDescriptor(server, "closeIdleConnections");
        server.closeIdleConnections = () => {};
        try {
          server.close(() => resolve());
        } finally {
          if (own) Object.defineProperty(server, "closeIdleConnections", own);
          else delete server.closeIdleConnections;
        }
        for (const [socket, open] of answers) if (open.size === 0) socket.destroy();
        closeIdle();
        for (const session of sessions) session.close();
      });
    },
    force() {
      // A TLS connection or an HTTP/2 session is seen twice: as a socket, and as itself.
      const left = Math.max(sockets.size, answers.size + sessions.size);
      server.closeAllConnections?.();
      for (const socket of [...answers.keys(), ...sockets]) socket.destroy();
      for (const session of sessions) session.destroy();
      return `${left === 0 ? "its connections" : plural(left, "connection")} cut at the deadline`;
    },
    release() {
      const off = server.off ?? server.removeListener;
      off.call(server, "request", onRequest);
      off.call(server, "session", onSession);
      off.call(server, "connection", onConnection);
    },
  };
}

/** Ends a connection once what is written has gone out, then closes it. */
function endAfterWrites(socket: NodeSocket): void {
  socket.end(() => socket.destroy());
}

/** A fetch handler, as `Deno.serve` and `Bun.serve` take it. */
type FetchHandler = (request: Request, ...rest: never[]) => unknown;

/**
 * `response` saying `Connection: close`; a copy where its headers cannot
 * change (a `Response.redirect()`, a `fetch()` answer). A switch of protocol
 * (`101`) and anything but a `Response` (Bun's `undefined` after an upgrade)
 * are left as they are.
 */
function closing<T>(response: T): T {
  if (!(response instanceof Response) || response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy as T;
  }
}

/** What `closing.force()` says was left; what it threw, if it threw. */
function forced(closing: Closing): string {
  try {
    return closing.force();
  } catch (error) {
    return `cutting it failed: ${String(error)}`;
  }
}

/** `1 connection`, `2 connections`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

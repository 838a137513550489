/**
 * The HTTP health endpoints as a fetch handler, for any runtime or router,
 * and as a `node:http` listener: two adapters of one answerer
 * (`_answer.ts`), which {@linkcode createHealthHandlers} makes once for both.
 * {@linkcode createNodeListener} makes a listener of any other fetch handler.
 *
 * This module names no runtime and loads no server: `serve.ts` imports the
 * runtime's server adapter when it is first called, so that a program that
 * only probes never loads it.
 *
 * @module
 */
import {
  type Answer,
  type Answerer,
  BAD_REQUEST,
  CONSTANT,
  createAnswerer,
  type FetchHandlerOptions,
  type HealthSource,
  HOST,
  INTERNAL_ERROR,
  NOT_FOUND,
  pathAndQuery,
} from "./_answer.ts";
import type { NodeListener, NodeRequest, NodeResponse } from "./types.ts";

/**
 * A fetch handler made by {@linkcode createFetchHandler}: a plain function
 * (no `this`), for `Deno.serve`, `Bun.serve`, Hono or any fetch router.
 *
 * @example Route `/health/*` to it from another handler
 * ```ts
 * import { createFetchHandler, type HealthFetchHandler } from "./handler.ts";
 * import assert from "node:assert/strict";
 *
 * const health: HealthFetchHandler = createFetchHandler(() => ({ unit: "api", parts: [] }), {
 *   prefix: "/health",
 * });
 * const app = (request: Request): Response =>
 *   new URL(request.url).pathname.startsWith("/health/")
 *     ? health(request)
 *     : new Response("hello");
 * assert.equal(await app(new Request("http://localhost/health/readyz")).text(), "ok");
 * ```
 */
export type HealthFetchHandler = (request: Request) => Response;

/**
 * The endpoints of one source, both ways: the fetch handler, the
 * `node:http` listener that answers alike without building a `Request` or
 * a `Response` (on Node that costs more than the answer itself), and the
 * exact paths they answer (for a server that routes them, as `serve()` does
 * on Bun).
 */
export interface HealthHandlers {
  readonly fetch: HealthFetchHandler;
  readonly listener: NodeListener;
  readonly paths: readonly string[];
}

/**
 * The fetch handler and the `node:http` listener of the endpoints `source`
 * judges, both from one answerer: see {@linkcode createFetchHandler} for the
 * answers.
 *
 * @example Serve the endpoints with `node:http`
 * ```ts
 * import { createHealthHandlers } from "./handler.ts";
 * import { createServer } from "node:http";
 * import assert from "node:assert/strict";
 *
 * const { listener } = createHealthHandlers(() => ({ unit: "api", parts: [] }));
 * const server = createServer(listener);
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const response = await fetch(`http://127.0.0.1:${port}/livez`);
 * assert.equal(await response.text(), "ok");
 * await new Promise((resolve) => server.close(resolve));
 * ```
 *
 * @throws {TypeError} When `prefix` is not a path as {@linkcode FetchHandlerOptions.prefix} says.
 */
export function createHealthHandlers(
  source: HealthSource,
  options: FetchHandlerOptions = {},
): HealthHandlers {
  const answerer = createAnswerer(source, options);
  return { fetch: fetchHandler(answerer), listener: nodeListener(answerer), paths: answerer.paths };
}

/**
 * Makes the fetch handler of the health endpoints:
 *
 * - `GET`/`HEAD` `/livez` (and `/healthz`, its alias) answer the liveness
 *   verdict, `/readyz` the readiness verdict: `200` when every part not
 *   excluded passes, else `503`; other paths `404`, other methods `405`
 *   with `Allow: GET, HEAD`.
 * - The body is the Kubernetes API server's: `ok` when healthy; when not,
 *   one line per part (`[+]pid ok`, `[-]error failed: reason withheld`) and
 *   a last line `livez check failed`. `?verbose` lists every part, with the
 *   reason of each failing one (`[-]error failed: error 3`), and ends with
 *   `livez check passed` or `livez check failed`. `?exclude=NAME`
 *   (repeatable) leaves a part out of the verdict (`[+]heartbeat excluded:
 *   ok`).
 * - With `Accept: application/health+json`, the IETF health check format:
 *   `{"status":"pass"|"fail"|"warn","checks":{...}}` (`warn`: an excluded
 *   part fails); with `?verbose`, the unit as `serviceId` and the reasons
 *   as `output`.
 * - Every answer has `Cache-Control: no-store`; a query string never
 *   changes the route.
 * - Paths match exactly: the path of `request.url` as it is, never
 *   decoded, its dot segments never resolved (`/readyz/../livez` and
 *   `/livez/` are `404`). A `Host` that is not `host[:port]` answers `400`
 *   (`Deno.serve` builds the URL from it), so no path comes from the Host.
 *   The handler sees only the URL its server made: `Deno.serve` and
 *   `node:http` keep the target as sent, `Bun.serve` resolves `..`, `.`,
 *   `%2e` and `\` first (`/readyz/../livez` reaches the handler as
 *   `/livez`); its `routes` match the target as sent, as `serve()`
 *   uses them.
 * - A source that throws answers `500` (and the error is logged), as
 *   `Deno.serve` and `Bun.serve` do for a handler that throws.
 *
 * @example Answer a request with no server
 * ```ts
 * import { createFetchHandler } from "./handler.ts";
 * import assert from "node:assert/strict";
 *
 * const handler = createFetchHandler(() => ({
 *   unit: "api",
 *   parts: [
 *     { name: "pid", ok: true, status: "healthy", reason: "healthy (pid 1)" },
 *     { name: "error", ok: false, status: "unhealthy", reason: "error 3" },
 *   ],
 * }), { prefix: "/health" });
 *
 * const response = handler(new Request("http://localhost/health/livez?verbose"));
 * assert.equal(response.status, 503);
 * assert.equal(await response.text(), "[+]pid ok\n[-]error failed: error 3\nlivez check failed\n");
 * ```
 *
 * @param source What the owner holds, judged at each request.
 * @param options Where the routes are mounted.
 * @returns A plain function from `Request` to `Response`.
 * @throws {TypeError} When `prefix` is not a path as {@linkcode FetchHandlerOptions.prefix} says.
 */
export function createFetchHandler(
  source: HealthSource,
  options: FetchHandlerOptions = {},
): HealthFetchHandler {
  return fetchHandler(createAnswerer(source, options));
}

/** The fetch adapter of `answer`. */
function fetchHandler({ answer }: Answerer): HealthFetchHandler {
  return (request) =>
    respond(
      request.method,
      answer(
        request.method,
        pathAndQuery(request.url),
        request.headers.get("host"),
        request.headers.get("accept"),
      ),
    );
}

/** `answer` as a `Response` to a `method` request: no body to `HEAD`. */
function respond(method: string, { status, headers, body }: Answer): Response {
  const content = method === "HEAD" ? null : body;
  if (status !== 200) return new Response(content, { status, headers });
  // A `ResponseInit` costs Deno ten times what setting the headers does (and Bun no more).
  const response = new Response(content);
  for (const name in headers) response.headers.set(name, headers[name]);
  return response;
}

/** The `404` of every handler, for a server that routes only the exact paths to the handler. */
export function notFound(request: Request): Response {
  return respond(request.method, NOT_FOUND);
}

/** The `node:http` adapter of `answer`: no `Request`, no `Response`. */
function nodeListener({ answer }: Answerer): NodeListener {
  const headers = new Map<Answer, Record<string, string | number>>();
  return (req, res) => {
    const result = answer(
      req.method ?? "GET",
      pathAndQuery(req.url ?? "/"),
      req.headers.host,
      req.headers.accept,
    );
    // The constant answers (`ok`, 400, 404, 405, 500) keep their headers; the others are made per request.
    let written = headers.get(result);
    if (written === undefined) {
      written = { ...result.headers, "content-length": byteLength(result.body) };
      if (CONSTANT.has(result)) headers.set(result, written);
    }
    res.writeHead(result.status, written);
    // node:http sends no body to a HEAD request, whatever end() is given.
    res.end(req.method === "HEAD" ? undefined : result.body);
  };
}

/**
 * Makes a `node:http` style `(req, res)` listener of any fetch handler: the
 * request becomes a `Request` (its method, target and headers, without a
 * body: the health endpoints take none), and the handler's `Response` is
 * written back. A handler that throws or rejects answers `500`, and the
 * error is logged. A `Request`'s URL resolves dot segments
 * (`/readyz/../livez` reaches the handler as `/livez`): the listener of
 * {@linkcode createHealthHandlers} routes the target as sent, and costs less.
 *
 * @example Any fetch handler, on `node:http`
 * ```ts
 * import { createNodeListener } from "./handler.ts";
 * import { createServer } from "node:http";
 * import assert from "node:assert/strict";
 *
 * const hello = async (request: Request) => new Response(`hello ${new URL(request.url).pathname}`);
 * const server = createServer(createNodeListener(hello));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const response = await fetch(`http://127.0.0.1:${port}/there`);
 * assert.equal(await response.text(), "hello /there");
 * await new Promise((resolve) => server.close(resolve));
 * ```
 *
 * @param handler Any function from `Request` to `Response` (or a promise of one).
 * @returns The listener.
 */
export function createNodeListener(
  handler: (request: Request) => Response | Promise<Response>,
): NodeListener {
  return (req, res) => void answerWith(handler, req, res);
}

/** Writes what `handler` answers `req` to `res`; never rejects. */
async function answerWith(
  handler: (request: Request) => Response | Promise<Response>,
  req: NodeRequest,
  res: NodeResponse,
): Promise<void> {
  const method = req.method ?? "GET";
  let request: Request | undefined;
  try {
    request = requestOf(req, method);
  } catch {
    // A target no URL is made of, or a method no `Request` takes (`CONNECT`).
  }
  let status: number;
  let headers: Record<string, string | number>;
  let body: string;
  try {
    if (request === undefined) {
      ({ status, headers, body } = BAD_REQUEST);
    } else {
      const response = await handler(request);
      status = response.status;
      headers = Object.fromEntries(response.headers);
      body = await response.text();
    }
  } catch (error) {
    console.error(error);
    ({ status, headers, body } = INTERNAL_ERROR);
  }
  if (method !== "HEAD") headers = { ...headers, "content-length": byteLength(body) };
  res.writeHead(status, headers);
  res.end(method === "HEAD" ? undefined : body);
}

/** `req` as a `Request`: its URL from the `Host` (where it is `host[:port]`) and the target. */
function requestOf(req: NodeRequest, method: string): Request {
  const target = req.url ?? "/";
  const host = req.headers.host;
  const authority = host !== undefined && host !== "" && HOST.test(host) ? host : "localhost";
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === "string") headers.append(name, item);
    }
  }
  return new Request(target.startsWith("/") ? `http://${authority}${target}` : target, {
    method,
    headers,
  });
}

const encoder = new TextEncoder();

/** The UTF-8 length of `text`; its length when it is ASCII, as our bodies are. */
function byteLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

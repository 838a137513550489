/**
 * The HTTP health endpoints: `/livez`, `/readyz` and `/healthz` answered
 * from the verdicts an owner holds in memory, in the Kubernetes API server's
 * format (or the IETF `application/health+json` one), as a fetch handler
 * for any runtime or router, as a `node:http` listener, and as a small
 * server of the runtime's own ({@linkcode serve}).
 *
 * This module names no runtime and loads no server: `serve()` imports the
 * runtime's server adapter when it is first called, so that a program that
 * only probes never loads it.
 *
 * @module
 */
import type { ProbeStatus } from "./_verdict.ts";
import { printable } from "./_verdict.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { errorCode } from "./_runtime.ts";
import type { ServerAdapter } from "./_server.ts";

/**
 * One part of a verdict, as the HTTP answers list them: `"pid"`, `"error"`,
 * `"heartbeat"` and, for readiness, `"ready"`.
 *
 * @example A failing part
 * ```ts
 * import type { HealthPart } from "./http.ts";
 *
 * const part: HealthPart = { name: "error", ok: false, status: "unhealthy", reason: "error 3" };
 * ```
 */
export interface HealthPart {
  /** The part's name: what `?exclude=` names. */
  readonly name: string;
  /** Whether this part passes. */
  readonly ok: boolean;
  /** The status this part gives the verdict when it fails (`"healthy"` when it passes). */
  readonly status: ProbeStatus;
  /** The reason line of the part, without `unit U: `; shown only with `?verbose`. */
  readonly reason: string;
}

/**
 * What the owner holds in memory, judged now: the parts of liveness (`pid`,
 * `error`, `heartbeat`) or of readiness (the same, then `ready`). Called
 * once per request.
 *
 * @example A source that is always healthy
 * ```ts
 * import type { HealthSource } from "./http.ts";
 *
 * const source: HealthSource = (kind) => ({
 *   unit: "api",
 *   parts: [
 *     { name: "pid", ok: true, status: "healthy", reason: "healthy (pid 1)" },
 *     ...(kind === "ready"
 *       ? [{ name: "ready", ok: true, status: "healthy" as const, reason: "ready (pid 1)" }]
 *       : []),
 *   ],
 * });
 * ```
 */
export type HealthSource = (kind: "live" | "ready") => {
  readonly unit: string;
  readonly parts: readonly HealthPart[];
};

/**
 * Options of {@linkcode createFetchHandler}.
 *
 * @example Mount the endpoints under `/health/`
 * ```ts
 * import type { FetchHandlerOptions } from "./http.ts";
 *
 * const options: FetchHandlerOptions = { prefix: "/health" };
 * ```
 */
export interface FetchHandlerOptions {
  /**
   * A path the routes are mounted under: `"/health"` (or `"/health/"`)
   * answers `/health/livez`, `/health/readyz` and `/health/healthz`.
   * Default: `""`, the routes at the root. Its segments are letters, digits
   * and `-._~!$&'()+,;=@`, none `.` or `..`: a path that every server sends
   * to the handler as it is.
   */
  prefix?: string;
}

/**
 * A fetch handler made by {@linkcode createFetchHandler}: a plain function
 * (no `this`), for `Deno.serve`, `Bun.serve`, Hono or any fetch router.
 *
 * @example Route `/health/*` to it from another handler
 * ```ts
 * import { createFetchHandler, type HealthFetchHandler } from "./http.ts";
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

/** The answer to one request, before it becomes a `Response` or is written to a node response. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Answers a request from its method, its target (`/livez?verbose`), its
 * `Host` and its `Accept` header.
 */
type Answerer = (
  method: string,
  target: string,
  host: string | null | undefined,
  accept: string | null | undefined,
) => Answer;

/**
 * What a handler {@linkcode createFetchHandler} made holds: its answerer,
 * for {@linkcode createNodeListener}'s path without `Request`, and the exact
 * paths it answers, for {@linkcode serve}.
 */
interface Made {
  readonly answer: Answerer;
  readonly paths: readonly string[];
}

const made = new WeakMap<HealthFetchHandler, Made>();

const ROUTES: Readonly<Record<string, { kind: "live" | "ready"; name: string }>> = {
  "/livez": { kind: "live", name: "livez" },
  "/healthz": { kind: "live", name: "healthz" },
  "/readyz": { kind: "ready", name: "readyz" },
};

const TEXT = "text/plain; charset=utf-8";
const HEALTH_JSON = "application/health+json";

function headers(type: string): Readonly<Record<string, string>> {
  return {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "vary": "Accept",
  };
}

const TEXT_HEADERS = headers(TEXT);
const JSON_HEADERS = headers(HEALTH_JSON);
const HEALTHY: Answer = { status: 200, headers: TEXT_HEADERS, body: "ok" };
const NOT_FOUND: Answer = {
  status: 404,
  headers: { "content-type": TEXT, "cache-control": "no-store" },
  body: "404 page not found\n",
};
const INTERNAL_ERROR: Answer = {
  status: 500,
  headers: { "content-type": TEXT, "cache-control": "no-store" },
  body: "500 internal server error\n",
};
const NOT_ALLOWED: Answer = {
  status: 405,
  headers: { "content-type": TEXT, "cache-control": "no-store", "allow": "GET, HEAD" },
  body: "405 method not allowed\n",
};
const BAD_HOST: Answer = {
  status: 400,
  headers: { "content-type": TEXT, "cache-control": "no-store" },
  body: "400 bad request: malformed Host header\n",
};

/** The answers that are the same object at each request. */
const CONSTANT = new Set([HEALTHY, NOT_FOUND, NOT_ALLOWED, INTERNAL_ERROR, BAD_HOST]);

/**
 * A `Host` header as RFC 9110 has it: `uri-host [":" port]`, so with no `/`,
 * `?`, `#`, `\` or space. A runtime may build `request.url` from it
 * (`Deno.serve` writes `http://` + Host + the target): only such a Host
 * leaves the target the path after the authority.
 */
const HOST = /^(?:\[[\w.:%~!$&'()*+,;=-]*\]|[\w.%~!$&'()*+,;=-]*)(?::\d*)?$/;

/** A prefix that every server gives the handler as it is: no dot segment, nothing to encode. */
const PREFIX = /^(?:\/(?!\.\.?(?:\/|$))[\w.~!$&'()+,;=@-]+)*\/?$/;

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
 *   `/livez`); its `routes` match the target as sent, as {@linkcode serve}
 *   uses them.
 * - A source that throws answers `500` (and the error is logged), as
 *   `Deno.serve` and `Bun.serve` do for a handler that throws.
 *
 * @example Answer a request with no server
 * ```ts
 * import { createFetchHandler } from "./http.ts";
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
  const prefix = normalizePrefix(options.prefix ?? "");
  const routes = new Map(Object.entries(ROUTES).map(([path, route]) => [prefix + path, route]));
  const route: Answerer = (method, target, host, accept) => {
    if (host != null && !HOST.test(host)) return BAD_HOST;
    const query = target.indexOf("?");
    const found = routes.get(query === -1 ? target : target.slice(0, query));
    if (found === undefined) return NOT_FOUND;
    if (method !== "GET" && method !== "HEAD") return NOT_ALLOWED;
    const { unit, parts } = source(found.kind);
    const json = accept ? acceptsHealthJson(accept) : false;
    if (query === -1 && !json && parts.every((part) => part.ok)) return HEALTHY; // the probe's path
    const params = new URLSearchParams(query === -1 ? "" : target.slice(query + 1));
    const view = { name: found.name, unit, parts, verbose: params.has("verbose") };
    const excluded = new Set(params.getAll("exclude"));
    return json ? healthJson(view, excluded) : healthText(view, excluded);
  };
  const answer: Answerer = (method, target, host, accept) => {
    try {
      return route(method, target, host, accept);
    } catch (error) {
      // What Deno.serve and Bun.serve do with a handler that throws, the same on every path.
      console.error(error);
      return INTERNAL_ERROR;
    }
  };
  const handler: HealthFetchHandler = (request) =>
    respond(
      request.method,
      answer(
        request.method,
        pathAndQuery(request.url),
        request.headers.get("host"),
        request.headers.get("accept"),
      ),
    );
  made.set(handler, { answer, paths: [...routes.keys()] });
  return handler;
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
function notFound(request: Request): Response {
  return respond(request.method, NOT_FOUND);
}

function normalizePrefix(prefix: unknown): string {
  const what = "Cannot create the health handler: prefix";
  if (typeof prefix !== "string") {
    throw new TypeError(`${what} must be a string, got ${describeOption(prefix)}`);
  }
  if (prefix !== "" && !prefix.startsWith("/")) {
    throw new TypeError(`${what} ${JSON.stringify(prefix)} does not start with "/"`);
  }
  if (!PREFIX.test(prefix)) {
    throw new TypeError(
      `${what} ${JSON.stringify(prefix)} is not a plain path: its segments must be letters, ` +
        `digits and -._~!$&'()+,;=@, none "." or ".."`,
    );
  }
  return prefix.replace(/\/$/, "");
}

/**
 * The path and query of a request target: `/livez?verbose` stays, and so
 * does `http://host:9000/livez?verbose` after its authority, which ends at
 * the first `/`, `?` or `#`.
 */
function pathAndQuery(target: string): string {
  if (target.startsWith("/")) return target;
  const scheme = target.indexOf("://");
  if (scheme === -1) return target; // `*`, or no target a route has
  const end = target.slice(scheme + 3).search(/[/?#]/);
  if (end === -1) return "/";
  const rest = target.slice(scheme + 3 + end);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** Whether an `Accept` header lists `application/health+json` with a weight above 0. */
function acceptsHealthJson(accept: string): boolean {
  for (const range of accept.toLowerCase().split(",")) {
    const [type, ...params] = range.split(";").map((item) => item.trim());
    if (type !== HEALTH_JSON) continue;
    const weight = params.find((param) => param.startsWith("q="));
    return weight === undefined || Number(weight.slice(2)) > 0;
  }
  return false;
}

/** What a body shows: the endpoint's name (`livez`), the parts, and whether reasons show. */
interface View {
  readonly name: string;
  readonly unit: string;
  readonly parts: readonly HealthPart[];
  readonly verbose: boolean;
}

/** Names excluded that no part has, sorted, each quoted as Go's `%q` does for printable ASCII. */
function unknownNames(parts: readonly HealthPart[], excluded: ReadonlySet<string>): string[] {
  const known = new Set(parts.map((part) => part.name));
  return [...excluded].filter((name) => !known.has(name)).sort()
    .map((name) => JSON.stringify(printable(name, 64)));
}

/** The Kubernetes API server's body (`healthz.go`), with reasons shown under `?verbose`. */
function healthText(view: View, excluded: ReadonlySet<string>): Answer {
  let lines = "";
  let failed = false;
  for (const { name, ok, reason } of view.parts) {
    if (excluded.has(name)) {
      lines += `[+]${name} excluded: ok\n`;
    } else if (ok) {
      lines += `[+]${name} ok\n`;
    } else {
      failed = true;
      lines += `[-]${name} failed: ${view.verbose ? reason : "reason withheld"}\n`;
    }
  }
  const unknown = unknownNames(view.parts, excluded);
  if (unknown.length > 0) {
    lines += `warn: some health checks cannot be excluded: no matches for ${unknown.join(",")}\n`;
  }
  if (failed) {
    return { status: 503, headers: TEXT_HEADERS, body: `${lines}${view.name} check failed\n` };
  }
  if (!view.verbose) return HEALTHY;
  return { status: 200, headers: TEXT_HEADERS, body: `${lines}${view.name} check passed\n` };
}

/** The IETF draft's `application/health+json` body; the unit and the reasons under `?verbose`. */
function healthJson(view: View, excluded: ReadonlySet<string>): Answer {
  let failed = false;
  let warned = false;
  const checks: Record<string, { status: string; output?: string }[]> = {};
  for (const { name, ok, reason } of view.parts) {
    const status = ok ? "pass" : excluded.has(name) ? "warn" : "fail";
    if (status === "fail") failed = true;
    if (status === "warn") warned = true;
    checks[name] = [view.verbose && !ok ? { status, output: reason } : { status }];
  }
  const unknown = unknownNames(view.parts, excluded);
  const body = {
    status: failed ? "fail" : warned ? "warn" : "pass",
    ...(view.verbose ? { serviceId: view.unit } : {}),
    ...(unknown.length > 0
      ? { notes: [`cannot exclude: no matches for ${unknown.join(",")}`] }
      : {}),
    checks,
  };
  return { status: failed ? 503 : 200, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/**
 * The part of `node:http`'s `IncomingMessage` a {@linkcode NodeListener}
 * reads: an `IncomingMessage` is one.
 *
 * @example
 * ```ts
 * import type { NodeRequest } from "./http.ts";
 *
 * const request: NodeRequest = { method: "GET", url: "/livez", headers: {} };
 * ```
 */
export interface NodeRequest {
  /** `GET`, `HEAD`, ... */
  readonly method?: string | undefined;
  /** The request target: `/livez?verbose` (or the absolute form a proxy sends). */
  readonly url?: string | undefined;
  /** The request's headers, by lower-case name. */
  readonly headers: { readonly host?: string | undefined; readonly accept?: string | undefined };
}

/**
 * The part of `node:http`'s `ServerResponse` a {@linkcode NodeListener}
 * writes: a `ServerResponse` is one.
 *
 * @example A response that keeps what it is given
 * ```ts
 * import type { NodeResponse } from "./http.ts";
 *
 * const written: unknown[] = [];
 * const response: NodeResponse = {
 *   writeHead: (status, headers) => written.push(status, headers),
 *   end: (body) => written.push(body),
 * };
 * ```
 */
export interface NodeResponse {
  /** Sets the status and the headers. */
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  /** Sends the body, if any, and ends the answer. */
  end(body?: string): unknown;
}

/**
 * A `node:http` style listener, for `http.createServer()` or an Express
 * route: `(req, res) => void`. It answers every request it is given (`404`
 * for another path), so a router should give it only the health paths.
 *
 * @example Answer a request without a server
 * ```ts
 * import { createFetchHandler, createNodeListener, type NodeListener } from "./http.ts";
 * import assert from "node:assert/strict";
 *
 * const listener: NodeListener = createNodeListener(
 *   createFetchHandler(() => ({ unit: "api", parts: [] })),
 * );
 * const written: unknown[] = [];
 * listener({ method: "GET", url: "/livez", headers: {} }, {
 *   writeHead: (status) => written.push(status),
 *   end: (body) => written.push(body),
 * });
 * assert.deepEqual(written, [200, "ok"]);
 * ```
 */
export type NodeListener = (req: NodeRequest, res: NodeResponse) => void;

/**
 * Makes a `node:http` style `(req, res)` listener that answers as `handler`
 * does, without building a `Request` or a `Response`: on Node that costs
 * more than the answer itself.
 *
 * @example Serve the endpoints with `node:http`
 * ```ts
 * import { createFetchHandler, createNodeListener } from "./http.ts";
 * import { createServer } from "node:http";
 * import assert from "node:assert/strict";
 *
 * const handler = createFetchHandler(() => ({ unit: "api", parts: [] }));
 * const server = createServer(createNodeListener(handler));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const response = await fetch(`http://127.0.0.1:${port}/livez`);
 * assert.equal(await response.text(), "ok");
 * await new Promise((resolve) => server.close(resolve));
 * ```
 *
 * @param handler A handler made by {@linkcode createFetchHandler}.
 * @returns The listener.
 * @throws {TypeError} When `handler` is not one `createFetchHandler()` made.
 */
export function createNodeListener(handler: HealthFetchHandler): NodeListener {
  const answer = made.get(handler)?.answer;
  if (answer === undefined) {
    throw new TypeError(
      "Cannot create a node listener: the handler was not made by createFetchHandler()",
    );
  }
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

const encoder = new TextEncoder();

/** The UTF-8 length of `text`; its length when it is ASCII, as our bodies are. */
function byteLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

/**
 * Options of {@linkcode serve}.
 *
 * @example All interfaces, port 9000 (the defaults), until a signal
 * ```ts
 * import type { ServeOptions } from "./http.ts";
 *
 * const options: ServeOptions = { port: 9000, signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface ServeOptions {
  /** The port; `0` picks a free one (read it from {@linkcode HealthServer.port}). Default: `9000`. */
  port?: number;
  /**
   * The address to bind. Default: every interface, IPv6 and IPv4 (`"::"`,
   * dual-stack): a Kubernetes probe connects to the pod's address. Only on a
   * machine with no IPv6 at all (an IPv6 socket cannot be made) does the
   * default bind IPv4 alone (`"0.0.0.0"`); any other failure to bind `"::"`
   * (the port in use, on `[::1]` too) rejects. `"127.0.0.1"` keeps the
   * endpoints to the pod itself (and to exec probes).
   */
  hostname?: string;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
}

/**
 * A running server of the health endpoints.
 *
 * @example
 * ```ts
 * import { createFetchHandler, type HealthServer, serve } from "./http.ts";
 *
 * const handler = createFetchHandler(() => ({ unit: "api", parts: [] }));
 * const server: HealthServer = await serve(handler, { port: 0, hostname: "127.0.0.1" });
 * console.log(`health endpoints on port ${server.port}`);
 * await server.close();
 * ```
 */
export interface HealthServer {
  /** The bound port. */
  readonly port: number;
  /** The bound address, as given or as chosen (`"::"` or `"0.0.0.0"`). */
  readonly hostname: string;
  /** Stops listening and closes every connection; resolves when closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * The port {@linkcode serve} binds when none is given: `9000`, lightship's
 * too, so that manifests written for it keep working.
 *
 * @example
 * ```ts
 * import { DEFAULT_PORT } from "./http.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_PORT, 9000);
 * ```
 */
export const DEFAULT_PORT = 9000;

let adapter: Promise<ServerAdapter> | undefined;

/**
 * Serves `handler` with the runtime's own server (`Deno.serve`,
 * `Bun.serve`, `node:http`), with limits that keep one slow or hostile
 * client from stopping the answers to others. The server keeps the program
 * alive until it is closed (`close()` or `signal`).
 *
 * Paths match exactly on every runtime: the request target as sent
 * (`/readyz/../livez` is `404`, and the `Host` never changes the route;
 * see {@linkcode createFetchHandler}). `Bun.serve` resolves dot segments in
 * the URL it gives a handler, so on Bun the handler is mounted on its exact
 * paths as `routes`, which match the target as sent.
 *
 * The default address is `::` (dual-stack); only on a machine with no IPv6
 * at all is it `0.0.0.0`. Any other failure to bind rejects, naming the
 * address tried.
 *
 * @example Serve, ask, close
 * ```ts
 * import { createFetchHandler, serve } from "./http.ts";
 * import assert from "node:assert/strict";
 *
 * const handler = createFetchHandler(() => ({ unit: "api", parts: [] }));
 * const server = await serve(handler, { port: 0, hostname: "127.0.0.1" });
 * const response = await fetch(`http://127.0.0.1:${server.port}/readyz`);
 * assert.equal(response.status, 200);
 * await response.body?.cancel();
 * await server.close();
 * ```
 *
 * @param handler A handler made by {@linkcode createFetchHandler}.
 * @param options Where to listen, and a signal that closes the server.
 * @returns The server, once it listens.
 * @throws {TypeError} When an option is unknown or of the wrong type, `port`
 * is not an integer from 0 to 65535, or `handler` was not made by
 * {@linkcode createFetchHandler}.
 * @throws {Error} `Cannot serve on ADDRESS port PORT: ...` when the address
 * cannot be bound (its `cause` is the runtime's error), or the signal's
 * reason when it is already aborted.
 */
export async function serve(
  handler: HealthFetchHandler,
  options: ServeOptions = {},
): Promise<HealthServer> {
  assertKnownKeys(options, ["port", "hostname", "signal"], "serve()");
  const { port = DEFAULT_PORT, hostname, signal } = options;
  const wrong = (name: string, must: string, value: unknown) =>
    new TypeError(
      `Cannot call serve(): options.${name} must be ${must}, got ${describeOption(value)}`,
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
  const paths = made.get(handler)?.paths;
  if (paths === undefined) {
    throw new TypeError("Cannot call serve(): the handler was not made by createFetchHandler()");
  }
  signal?.throwIfAborted();
  adapter ??= import("./_server.ts").then(({ loadServerAdapter }) => loadServerAdapter());
  const { listen } = await adapter;
  const listenOn = async (host: string, why = "") => {
    try {
      return await listen(handler, { port, hostname: host, paths, notFound });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot serve on ${host} port ${port}${why}: ${reason}`, { cause: error });
    }
  };
  let server: HealthServer;
  if (hostname !== undefined) {
    server = await listenOn(hostname);
  } else {
    try {
      server = await listenOn("::", " (the default hostname: every interface, IPv6 and IPv4)");
    } catch (error) {
      // IPv4 alone only where IPv6 does not exist: not when `::` is merely taken.
      if (errorCode((error as Error).cause) !== "EAFNOSUPPORT") throw error;
      server = await listenOn("0.0.0.0", " (the default hostname where there is no IPv6)");
    }
  }
  if (signal) {
    if (signal.aborted) {
      await server.close();
      throw signal.reason;
    }
    const onAbort = () => void server.close();
    signal.addEventListener("abort", onAbort, { once: true });
    const close = server.close;
    server = {
      port: server.port,
      hostname: server.hostname,
      close: () => {
        signal.removeEventListener("abort", onAbort);
        return close();
      },
    };
  }
  return server;
}

/**
 * The answers of the HTTP health endpoints, before any `Request` or
 * `Response`: `/livez`, `/readyz` and `/healthz` routed on the request target
 * as sent, judged by a {@linkcode HealthSource}, in the Kubernetes API
 * server's body or the IETF `application/health+json` one. One
 * {@linkcode Answerer} serves the fetch handler and the `node:http`
 * listener alike (`handler.ts`).
 *
 * @module
 */
import type { HealthPart } from "../_health.ts";
import { trimTrailingSlashes } from "../_location.ts";
import { describeOption } from "../_options.ts";
import { printable } from "../_verdict.ts";

/**
 * What the owner holds in memory, judged now: the parts of liveness (`pid`,
 * `error`, `heartbeat`) or of readiness (the same, then `ready`). Called
 * once per request.
 *
 * @example A source that is always healthy
 * ```ts
 * import type { HealthSource } from "./_answer.ts";
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
 * Options of {@linkcode createAnswerer} (and so of `createFetchHandler()`).
 *
 * @example Mount the endpoints under `/health/`
 * ```ts
 * import type { FetchHandlerOptions } from "./_answer.ts";
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
  /**
   * More exact paths (under the prefix too), each answered by its function
   * for `GET` and `HEAD` (`405` otherwise): lightship's routes.
   */
  routes?: Readonly<Record<string, () => Answer>>;
}

/** The answer to one request, before it becomes a `Response` or is written to a node response. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What answers the requests of one set of endpoints, and the exact paths it answers. */
export interface Answerer {
  /**
   * Answers a request from its method, its target (`/livez?verbose`), its
   * `Host` and its `Accept` header.
   */
  readonly answer: (
    method: string,
    target: string,
    host: string | null | undefined,
    accept: string | null | undefined,
  ) => Answer;
  /** The paths answered (`/livez`, `/readyz`, `/healthz`, under the prefix). */
  readonly paths: readonly string[];
}

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
export const NOT_FOUND: Answer = refusal(404, "page not found");
export const INTERNAL_ERROR: Answer = refusal(500, "internal server error");
const NOT_ALLOWED: Answer = refusal(405, "method not allowed", { "allow": "GET, HEAD" });
const BAD_HOST: Answer = refusal(400, "bad request: malformed Host header");
/** A request no `Request` can be made of, for a listener that makes one. */
export const BAD_REQUEST: Answer = refusal(400, "bad request");

/** An answer that is no verdict: `404 page not found`, one line, never cached. */
function refusal(status: number, words: string, more: Record<string, string> = {}): Answer {
  const headers = { "content-type": TEXT, "cache-control": "no-store", ...more };
  return { status, headers, body: `${status} ${words}\n` };
}

/** The answers that are the same object at each request. */
export const CONSTANT = new Set([HEALTHY, NOT_FOUND, NOT_ALLOWED, INTERNAL_ERROR, BAD_HOST]);

/**
 * A `Host` header as RFC 9110 has it: `uri-host [":" port]`, so with no `/`,
 * `?`, `#`, `\` or space. A runtime may build `request.url` from it
 * (`Deno.serve` writes `http://` + Host + the target): only such a Host
 * leaves the target the path after the authority.
 */
export const HOST = /^(?:\[[\w.:%~!$&'()*+,;=-]*\]|[\w.%~!$&'()*+,;=-]*)(?::\d*)?$/;

/** A prefix that every server gives the handler as it is: no dot segment, nothing to encode. */
const PREFIX = /^(?:\/(?!\.\.?(?:\/|$))[\w.~!$&'()+,;=@-]+)*\/?$/;

/**
 * The one answerer of the endpoints `source` judges, mounted under
 * `options.prefix`: the fetch handler and the `node:http` listener are made
 * of it (see `createFetchHandler()` for the answers). A source that throws
 * answers `500`, and the error is logged.
 *
 * @throws {TypeError} When `prefix` is not a path as {@linkcode FetchHandlerOptions.prefix} says.
 */
export function createAnswerer(source: HealthSource, options: FetchHandlerOptions = {}): Answerer {
  const prefix = normalizePrefix(options.prefix ?? "");
  const routes = new Map(Object.entries(ROUTES).map(([path, route]) => [prefix + path, route]));
  const more = new Map(
    Object.entries(options.routes ?? {}).map(([path, at]) => [prefix + path, at]),
  );
  const route: Answerer["answer"] = (method, target, host, accept) => {
    if (host != null && !HOST.test(host)) return BAD_HOST;
    const query = target.indexOf("?");
    const path = query === -1 ? target : target.slice(0, query);
    const found = routes.get(path);
    const other = found === undefined ? more.get(path) : undefined;
    if (found === undefined && other === undefined) return NOT_FOUND;
    if (method !== "GET" && method !== "HEAD") return NOT_ALLOWED;
    if (found === undefined) return other!();
    const { unit, parts } = source(found.kind);
    const json = accept ? acceptsHealthJson(accept) : false;
    if (query === -1 && !json && parts.every((part) => part.ok)) return HEALTHY; // the probe's path
    const params = new URLSearchParams(query === -1 ? "" : target.slice(query + 1));
    const view = { name: found.name, unit, parts, verbose: params.has("verbose") };
    const excluded = new Set(params.getAll("exclude"));
    return json ? healthJson(view, excluded) : healthText(view, excluded);
  };
  const answer: Answerer["answer"] = (method, target, host, accept) => {
    try {
      return route(method, target, host, accept);
    } catch (error) {
      // What Deno.serve and Bun.serve do with a handler that throws, the same on every path.
      console.error(error);
      return INTERNAL_ERROR;
    }
  };
  return { answer, paths: [...routes.keys(), ...more.keys()] };
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
  return trimTrailingSlashes(prefix);
}

/**
 * The path and query of a request target: `/livez?verbose` stays, and so
 * does `http://host:9000/livez?verbose` after its authority, which ends at
 * the first `/`, `?` or `#`.
 */
export function pathAndQuery(target: string): string {
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
  for (const { name, ok, reason, detail } of view.parts) {
    const more = view.verbose && detail !== undefined;
    if (excluded.has(name)) {
      lines += `[+]${name} excluded: ok\n`;
    } else if (ok) {
      lines += `[+]${name} ok${more ? ` (${detail})` : ""}\n`;
    } else {
      failed = true;
      lines += `[-]${name} failed: ${view.verbose ? reason : "reason withheld"}${
        more ? `, ${detail}` : ""
      }\n`;
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
  const checks: Record<string, { status: string; output?: string; time?: string }[]> = {};
  for (const { name, ok, reason, at } of view.parts) {
    const status = ok ? "pass" : excluded.has(name) ? "warn" : "fail";
    if (status === "fail") failed = true;
    if (status === "warn") warned = true;
    const time = view.verbose && at !== undefined ? { time: new Date(at).toISOString() } : {};
    checks[name] = [
      view.verbose && !ok ? { status, output: reason, ...time } : { status, ...time },
    ];
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

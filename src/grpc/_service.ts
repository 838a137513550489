/**
 * The `grpc.health.v1.Health` service, before any server: which call a
 * request's headers make (`Check`, `Watch`, or a refusal), and the serving
 * status of a service name, judged by a {@linkcode GrpcSource}. The server
 * (`_server.ts`) does the HTTP/2 around it.
 *
 * @module
 */
import { GRPC_STATUS, type GrpcError, SERVING_STATUS, type ServingStatus } from "./_message.ts";

/**
 * Whether the unit is live (`"live"`) or ready (`"ready"`) now, from what
 * the owner holds in memory: the verdict of `/livez` and `/readyz`. Called
 * once per `Check`, and at each look of a `Watch`.
 *
 * @example
 * ```ts
 * import type { GrpcSource } from "./_service.ts";
 *
 * const source: GrpcSource = (kind) => kind === "live";
 * ```
 */
export type GrpcSource = (kind: "live" | "ready") => boolean;

/**
 * The service names answered, and the verdict each one is: `""` (the
 * server as a whole, what a Kubernetes `grpc` probe without `service` asks)
 * and `"liveness"` are liveness, `"readiness"` is readiness.
 *
 * @example
 * ```ts
 * import { SERVICES } from "./_service.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SERVICES.get("readiness"), "ready");
 * ```
 */
export const SERVICES: ReadonlyMap<string, "live" | "ready"> = new Map([
  ["", "live"],
  ["liveness", "live"],
  ["readiness", "ready"],
]);

/** The paths of the two methods. */
export const CHECK = "/grpc.health.v1.Health/Check";
/** See {@linkcode CHECK}. */
export const WATCH = "/grpc.health.v1.Health/Watch";

/** What a request's headers make of it: a call to read the body of, or an answer now. */
export type Route =
  | { readonly call: "check" | "watch" }
  | { readonly http: number; readonly body: string; readonly headers?: Record<string, string> }
  | { readonly grpc: GrpcError; readonly headers?: Record<string, string> };

/**
 * The call a request's method, path and headers make. Not `POST`: `405`;
 * not `application/grpc`: `415` (what the protocol asks of a server); a
 * `grpc-encoding` other than `identity`: `UNIMPLEMENTED` (none is
 * accepted, `grpc-accept-encoding: identity` says so); another path:
 * `UNIMPLEMENTED`.
 *
 * @example
 * ```ts
 * import { route } from "./_service.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   route("POST", "/grpc.health.v1.Health/Check", "application/grpc", undefined),
 *   { call: "check" },
 * );
 * ```
 */
export function route(
  method: string | undefined,
  path: string | undefined,
  type: string | undefined,
  encoding: string | undefined,
): Route {
  if (method !== "POST") {
    return { http: 405, body: "405 method not allowed\n", headers: { "allow": "POST" } };
  }
  if (!/^application\/grpc(?:[+;]|$)/.test(type ?? "")) {
    return { http: 415, body: "415 unsupported media type: application/grpc expected\n" };
  }
  if (encoding !== undefined && encoding !== "identity") {
    return {
      grpc: {
        code: GRPC_STATUS.UNIMPLEMENTED,
        message: `grpc: compression ${JSON.stringify(encoding)} is not supported`,
      },
      headers: { "grpc-accept-encoding": "identity" },
    };
  }
  if (path === CHECK) return { call: "check" };
  if (path === WATCH) return { call: "watch" };
  return {
    grpc: {
      code: GRPC_STATUS.UNIMPLEMENTED,
      message: `unknown method ${JSON.stringify(String(path).slice(0, 200))}`,
    },
  };
}

/**
 * The serving status of `service` now: `SERVING` or `NOT_SERVING`, or
 * `undefined` for a name not in {@linkcode SERVICES}.
 *
 * @example
 * ```ts
 * import { servingStatus } from "./_service.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(servingStatus(() => true, ""), 1);
 * assert.equal(servingStatus(() => true, "db"), undefined);
 * ```
 */
export function servingStatus(source: GrpcSource, service: string): ServingStatus | undefined {
  const kind = SERVICES.get(service);
  if (kind === undefined) return undefined;
  return source(kind) ? SERVING_STATUS.SERVING : SERVING_STATUS.NOT_SERVING;
}

/**
 * The `NOT_FOUND` of a `Check` of an unknown service, naming it (cut to 100
 * characters) and the services there are.
 */
export function unknownService(service: string): GrpcError {
  const names = [...SERVICES.keys()].map((name) => JSON.stringify(name)).join(", ");
  return {
    code: GRPC_STATUS.NOT_FOUND,
    message: `unknown service ${JSON.stringify(service.slice(0, 100))}: the services are ${names}`,
  };
}

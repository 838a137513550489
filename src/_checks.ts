/**
 * Runs the health checks given to `load()`.
 *
 * @module
 */
import { HealthCheckError } from "./errors.ts";

/**
 * A function that tells whether something the program needs is usable. It
 * receives `load()`'s `args`.
 *
 * @example
 * ```ts
 * import type { HealthFunction } from "@cic/liveness";
 *
 * const configured: HealthFunction = (url: string) => url.startsWith("postgres://");
 * ```
 */
export type HealthFunction = (
  ...args: never[]
) => boolean | Promise<boolean>;

/**
 * A health check: a module specifier (a string or URL; the module exports a
 * `health` function), a function, or an object with a `health` method.
 *
 * @example
 * ```ts
 * import type { HealthCheck } from "@cic/liveness";
 *
 * const cache = { warm: true, health() { return this.warm; } };
 * const checks: HealthCheck[] = ["./checks/db.ts", () => true, cache];
 * ```
 */
export type HealthCheck = string | URL | HealthFunction | {
  health: HealthFunction;
};

/**
 * Runs each check in turn with `args`. Throws {@linkcode HealthCheckError}
 * naming every check that returned `false`; lets any exception a check (or
 * its import) throws through untouched.
 */
export async function runChecks(
  checks: Iterable<HealthCheck>,
  args: readonly unknown[],
  cwd: () => string,
): Promise<void> {
  const failed: string[] = [];
  let total = 0;
  for (const check of checks) {
    total++;
    const label = `#${total} ${describe(check)}`;
    const health = await healthFunction(check, label, cwd);
    const result = await (health as (...args: unknown[]) => unknown)(...args);
    if (result === false) failed.push(label);
    else if (result !== true) {
      throw new TypeError(
        `Health check ${label} returned ${describeValue(result)}: ` +
          "a health check returns true or false (or a promise of one).",
      );
    }
  }
  if (failed.length > 0) throw new HealthCheckError(failed, total);
}

async function healthFunction(
  check: HealthCheck,
  label: string,
  cwd: () => string,
): Promise<(...args: unknown[]) => unknown> {
  if (typeof check === "function") return check as never;
  if (typeof check === "string" || check instanceof URL) {
    const module: Record<string, unknown> = await import(
      resolveSpecifier(check, cwd)
    );
    if (typeof module.health !== "function") {
      throw new TypeError(
        `Health check ${label}: the module has no health() export. ` +
          "Export `function health(...args): boolean` from it.",
      );
    }
    return module.health as never;
  }
  if (typeof check === "object" && check !== null) {
    const { health } = check as { health?: unknown };
    if (typeof health === "function") return health.bind(check);
  }
  throw new TypeError(
    `Health check ${label} is neither a module specifier, a function nor an object with a health() method.`,
  );
}

/** `./` and `../` resolve against the working directory; the rest go to import() as they are. */
function resolveSpecifier(specifier: string | URL, cwd: () => string): string {
  if (specifier instanceof URL) return specifier.href;
  if (!/^\.\.?\//.test(specifier)) return specifier;
  return new URL(encodePath(specifier), `file://${encodePath(cwd())}/`).href;
}

/** A path as URL text: each segment percent-encoded, so `#`, `?` and `%` stay in the name. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function describe(check: unknown): string {
  if (typeof check === "string") return JSON.stringify(check);
  if (check instanceof URL) return JSON.stringify(check.href);
  if (typeof check === "function") return check.name || "(anonymous function)";
  if (typeof check === "object" && check !== null) {
    const name = check.constructor?.name;
    return name && name !== "Object" ? `(${name})` : "(object)";
  }
  return `(${describeValue(check)})`;
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Runs the health checks given to `load()`: loads check modules, calls each
 * check with `load()`'s `args` under a deadline, and names every check that
 * failed, timed out or could not be loaded.
 *
 * @module
 */
import { MAX_TIMER_MS } from "./_clock.ts";
import { trimTrailingSlashes } from "./_location.ts";
import { assertKnownKeys, describeOption } from "./_options.ts";
import { HealthCheckError } from "./errors.ts";
import type { Runtime } from "./runtime/_runtime.ts";
import type { HealthCheck } from "./check_types.ts";

/** What the checks need of the runtime: the working directory, a look at a file, and a clock. */
export type CheckRuntime = Pick<Runtime, "cwd" | "readHead" | "now">;

/**
 * How long one check may take, in milliseconds, when `load()` is given no
 * `timeout`: 10 s. Until the checks pass no pid is written, so the unit is
 * unhealthy and a supervisor is counting: Kubernetes' default liveness probe
 * (every 10 s, 3 failures) restarts a container after about 30 s. Ten
 * seconds lets a slow dependency answer (a cold database, a DNS lookup with
 * retries), and a check that never settles fails start-up with its name
 * instead of hanging it for ever.
 */
export const DEFAULT_CHECK_TIMEOUT = 10_000;

/**
 * Options of {@linkcode runChecks}.
 *
 * @example
 * ```ts
 * import type { RunChecksOptions } from "./_checks.ts";
 *
 * const options: RunChecksOptions = { timeout: 5000, signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface RunChecksOptions {
  /**
   * How long each check may take to settle, in milliseconds: a positive
   * number, or `Infinity` for no limit. Default:
   * {@linkcode DEFAULT_CHECK_TIMEOUT}. The time counts from the start of the
   * check, the import of its module included.
   */
  timeout?: number;
  /**
   * Aborts the whole run: the running check's signal is aborted with this
   * signal's reason, later checks do not run, and `runChecks` rejects with
   * the reason.
   */
  signal?: AbortSignal;
}

/** The options {@linkcode runChecks} takes, for its own check in plain JavaScript. */
const RUN_CHECKS_OPTIONS = ["timeout", "signal"] as const;

/**
 * Runs each check in turn with `args`, each within `options.timeout`.
 * Resolves when every check returned `true`.
 *
 * @param runtime Where `./` and `../` specifiers resolve (its working
 * directory), and where a file a bare specifier may mean is looked for.
 * @param checks The checks, in order: a list (any iterable but a string).
 * @param args What every check is called with.
 * @param options The per-check timeout and a signal that aborts the run;
 * any other key is a `TypeError`.
 *
 * @throws {HealthCheckError} naming every check that returned `false` or did
 * not settle within the timeout (`#2 "./checks/db.ts" did not finish in
 * 5000 ms`); every check runs.
 * @throws {TypeError} when `checks` is not a list (a function, a string, a
 * number), an option is unknown or bad, a check is not a check, a check
 * returns something other than a boolean, or a check module cannot be found
 * (the message names the check, the path it resolved to and the cause, and
 * suggests `./name` for a bare specifier that names a file).
 * @throws {Error} when a check module throws while it loads (the module's
 * exception is the `cause`).
 * Any exception a check's `health` function throws reaches the caller
 * untouched, and later checks do not run.
 *
 * @example
 * ```ts
 * import { runChecks } from "./_checks.ts";
 * import { HealthCheckError } from "./errors.ts";
 * import { runtime } from "./runtime/_current.ts";
 * import assert from "node:assert/strict";
 *
 * const hangs = () => new Promise<boolean>(() => {});
 * await assert.rejects(
 *   runChecks(runtime, [hangs], [], { timeout: 50 }),
 *   (error: HealthCheckError) => {
 *     assert.deepEqual(error.timedOut, ["#1 hangs"]);
 *     assert.match(error.message, /^Cannot load: 1 of 1 health checks failed: #1 hangs did not finish in 50 ms/);
 *     return true;
 *   },
 * );
 * ```
 */
export async function runChecks(
  runtime: CheckRuntime,
  checks: Iterable<HealthCheck>,
  args: readonly unknown[],
  options: RunChecksOptions = {},
): Promise<void> {
  assertKnownKeys(options, RUN_CHECKS_OPTIONS, "load()");
  const { timeout = DEFAULT_CHECK_TIMEOUT, signal } = options;
  assertChecks(checks);
  if (!Array.isArray(args)) {
    throw new TypeError(
      `Cannot call load(): options.args must be an array, got ${describeOption(args)}`,
    );
  }
  if (!(typeof timeout === "number" && timeout > 0)) {
    throw new TypeError(
      `Cannot call load(): options.timeout must be a positive number of milliseconds (Infinity for none), got ${
        describeOption(timeout)
      }`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot call load(): options.signal must be an AbortSignal, got ${describeOption(signal)}`,
    );
  }
  signal?.throwIfAborted();
  const failed: string[] = [];
  const timedOut: string[] = [];
  let total = 0;
  for (const check of checks) {
    signal?.throwIfAborted();
    total++;
    const label = `#${total} ${describe(check)}`;
    const outcome = await withDeadline(
      async (checkSignal) => {
        const health = await healthFunction(runtime, check, label);
        // Only a check that declares a parameter for it gets the signal.
        const extra = health.length > args.length ? [checkSignal] : [];
        return await health(...args, ...extra);
      },
      timeout,
      signal,
      runtime,
    );
    if (outcome === TIMED_OUT) {
      failed.push(label);
      timedOut.push(label);
    } else if (outcome.result === false) failed.push(label);
    else if (outcome.result !== true) {
      throw new TypeError(
        `Cannot run health check ${label}: it returned ${describeValue(outcome.result)}: ` +
          "a health check returns true or false (or a promise of one)",
      );
    }
  }
  if (failed.length > 0) throw new HealthCheckError(failed, total, { timedOut, timeout });
}

/** What {@linkcode withDeadline} resolves to when time ran out. */
const TIMED_OUT = Symbol("timed out");

/**
 * Runs `work` with a signal of its own, and resolves to its result, or to
 * {@linkcode TIMED_OUT} when it has not settled within `timeout` ms (or
 * settled later than that: a synchronous check blocks the timer). Then the
 * signal is aborted with a `TimeoutError`. The timer is cleared as soon as
 * the outcome is known, so it never keeps the program alive; whatever `work`
 * does after its time is up is ignored.
 */
async function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeout: number,
  outer: AbortSignal | undefined,
  clock: Pick<Runtime, "now">,
): Promise<{ result: T } | typeof TIMED_OUT> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve, reject) => {
    // A longer timeout is no limit: the timer would fire at once.
    if (timeout <= MAX_TIMER_MS) timer = setTimeout(() => resolve(TIMED_OUT), timeout);
    if (outer) {
      onAbort = () => {
        controller.abort(outer.reason);
        reject(outer.reason);
      };
      outer.addEventListener("abort", onAbort, { once: true });
    }
  });
  const started = clock.now();
  // Started in a microtask, after the timer: a check that throws at once
  // rejects like one that rejects.
  const running = Promise.resolve().then(() => work(controller.signal));
  running.catch(() => {}); // a rejection after the deadline is nobody's
  try {
    const outcome = await Promise.race([running.then((result) => ({ result })), deadline]);
    if (outcome === TIMED_OUT || clock.now() - started > timeout) {
      controller.abort(
        new DOMException(`The check did not finish in ${timeout} ms`, "TimeoutError"),
      );
      return TIMED_OUT;
    }
    return outcome;
  } finally {
    clearTimeout(timer);
    if (onAbort) outer?.removeEventListener("abort", onAbort);
  }
}

/** Refuses what is not a list of checks, before any check runs. */
function assertChecks(checks: unknown): asserts checks is Iterable<HealthCheck> {
  const iterable = typeof checks === "object" && checks !== null &&
    typeof (checks as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
  if (iterable) return;
  const hint = typeof checks === "function" || typeof checks === "string" || checks instanceof URL
    ? `: to run one check, pass a list of it, load([${
      typeof checks === "function" ? "check" : JSON.stringify(String(checks))
    }])`
    : "";
  throw new TypeError(
    `Cannot call load(): its checks must be a list (an array or another iterable), got ${
      checks instanceof URL ? "a URL" : describeOption(checks)
    }${hint}`,
  );
}

async function healthFunction(
  runtime: CheckRuntime,
  check: HealthCheck,
  label: string,
): Promise<(...args: unknown[]) => unknown> {
  if (typeof check === "function") return check as never;
  if (typeof check === "string" || check instanceof URL) {
    const module = await importCheck(runtime, check, label);
    if (typeof module.health !== "function") {
      throw new TypeError(
        `Cannot load health check ${label}: the module has no health() export: ` +
          "export `function health(...args): boolean` from it",
      );
    }
    return module.health as never;
  }
  if (typeof check === "object" && check !== null) {
    const { health } = check as { health?: unknown };
    if (typeof health === "function") return health.bind(check);
  }
  throw new TypeError(
    `Cannot run health check ${label}: it is neither a module specifier, a function nor an object with a health() method`,
  );
}

/**
 * Imports a check module. When that fails, says which check it was, where
 * it was looked for and why, in words of the check's, not of this module:
 * the runtime's own message names this file as the importer.
 */
async function importCheck(
  runtime: CheckRuntime,
  check: string | URL,
  label: string,
): Promise<Record<string, unknown>> {
  const specifier = resolveSpecifier(runtime, check);
  try {
    // The specifier is the user's, known only at run time: deno publish
    // cannot analyze it and says so (warning[unanalyzable-dynamic-import]).
    // Nothing needs rewriting at publish time: `./` paths are made absolute
    // above, and everything else (a package, npm:, jsr:) must resolve from
    // the program without this package's import map, which is what the
    // warning asks. Deno 2 has no directive that silences this warning
    // (denoland/deno#22594).
    return await import(specifier);
  } catch (cause) {
    const where = specifier.startsWith("file:") ? ` (${filePath(specifier)})` : "";
    if (!isNotFound(cause)) {
      throw new Error(`Cannot load health check ${label}${where}: ${describeError(cause)}`, {
        cause,
      });
    }
    if (where) {
      throw new TypeError(
        `Cannot load health check ${label}: no module at ${filePath(specifier)}` +
          (typeof check === "string" && /^\.\.?\//.test(check)
            ? ` (relative to the working directory ${runtime.cwd()})`
            : ""),
        { cause },
      );
    }
    const file = typeof check === "string" && isBare(check)
      ? existingFile(runtime, check)
      : undefined;
    throw new TypeError(
      `Cannot load health check ${label}: ${JSON.stringify(specifier)} names a package that ` +
        "cannot be imported" +
        (file === undefined ? "" : `; did you mean ${JSON.stringify(`./${check}`)}? (${file})`),
      { cause },
    );
  }
}

/** Whether an import failed because the module could not be found or resolved. */
function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" &&
    /^ERR_(MODULE_NOT_FOUND|UNSUPPORTED_DIR_IMPORT|PACKAGE_PATH_NOT_EXPORTED|INVALID_MODULE_SPECIFIER|UNSUPPORTED_ESM_URL_SCHEME)$/
      .test(code);
}

/**
 * An error as `name: message`, without the runtime's mention of this module
 * as the importer (`imported from .../_checks.js`), which would send the
 * reader into the library instead of their check.
 */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return describeValue(error);
  let { message } = error;
  for (const self of [import.meta.url, filePath(import.meta.url)]) {
    message = message.split(self).join("\0");
  }
  message = message.replace(/\s*(?:imported )?from ["']?\0["']?/g, "").replaceAll(
    "\0",
    "(the loader)",
  );
  return `${error.name}: ${message}`;
}

/** A specifier with no scheme and no `/`, `./` or `../` in front: a package name. */
function isBare(specifier: string): boolean {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
}

/** The path of `specifier` under the working directory, when a file is there. */
function existingFile(runtime: CheckRuntime, specifier: string): string | undefined {
  const path = joinPath(runtime.cwd(), specifier);
  try {
    return runtime.readHead(path, 0).kind === "file" ? path : undefined;
  } catch {
    return undefined; // no permission to look: no hint
  }
}

/** `dir/name`, without a doubled `/` when `dir` is the root. */
function joinPath(dir: string, name: string): string {
  return `${trimTrailingSlashes(dir)}/${name}`;
}

/**
 * `./` and `../` resolve against the working directory and absolute paths
 * are files; the rest (`file:` and other URLs, `npm:`, `jsr:`, package
 * names and subpaths) go to `import()` as they are.
 */
function resolveSpecifier(runtime: CheckRuntime, specifier: string | URL): string {
  if (specifier instanceof URL) return specifier.href;
  if (specifier.startsWith("/")) return `file://${encodePath(specifier)}`;
  if (!/^\.\.?\//.test(specifier)) return specifier;
  return new URL(encodePath(specifier), `file://${encodePath(joinPath(runtime.cwd(), ""))}`).href;
}

/** A path as URL text: each segment percent-encoded, so `#`, `?` and `%` stay in the name. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** The path of a `file:` URL, decoded. */
function filePath(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
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

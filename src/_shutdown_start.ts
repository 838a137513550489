/**
 * The start of a shutdown sequence, before its drain: the hook that runs at
 * the signal (`beforeShutdown`, terminus's name), awaited within the
 * sequence's deadline, and whether readiness fails at once or when the
 * drain ends (`readiness: "fail" | "keep"`).
 *
 * @module
 */
import { describeOption } from "./_options.ts";
import { LivenessError } from "./errors.ts";
import type { ShutdownContext, ShutdownOptions } from "./shutdown_types.ts";

/** The hook that runs when the shutdown begins. */
export type ShutdownHook = (context: ShutdownContext) => unknown;

/** What the start of one sequence does, checked. */
export interface ShutdownStart {
  /** Runs first, before readiness fails; `undefined`: none. */
  readonly beforeShutdown: ShutdownHook | undefined;
  /** Whether readiness stays as the program says until the drain ends. */
  readonly keepReady: boolean;
}

/** The option names {@linkcode startOf} reads. */
export const START_KEYS = ["beforeShutdown", "readiness"] as const;

/** The start `options` ask for; a `TypeError` for a hook that is no function or another readiness. */
export function startOf(options: ShutdownOptions): ShutdownStart {
  const { beforeShutdown, readiness = "fail" } = options;
  if (beforeShutdown !== undefined && typeof beforeShutdown !== "function") {
    throw new TypeError(
      `Cannot shut down: options.beforeShutdown must be a function, got ${
        describeOption(beforeShutdown)
      }`,
    );
  }
  if (readiness !== "fail" && readiness !== "keep") {
    throw new TypeError(
      `Cannot shut down: options.readiness must be "fail" or "keep", got ${
        describeOption(readiness)
      }`,
    );
  }
  return { beforeShutdown, keepReady: readiness === "keep" };
}

/**
 * The sequence's start, before its handlers: the hook, readiness failed
 * (at once, or with `keepReady` once the drain ends), the drain; all cut
 * at `deadline`, which a `"timeout"` outcome says was reached (reported).
 */
export async function startSequence(
  start: ShutdownStart,
  context: ShutdownContext,
  deadline: Promise<"timeout">,
  timing: { readonly drain: number; readonly timeout: number },
  steps: { begin(): void; drain(): void; report(error: LivenessError): void },
): Promise<HookOutcome> {
  const report = (error: LivenessError) => steps.report(error);
  const { beforeShutdown, keepReady } = start;
  steps.begin(); // liveness holds from here on, whatever the hook and the drain close
  if (beforeShutdown === undefined && !keepReady) steps.drain(); // at once, in the signal's turn
  const hook = await runHook(beforeShutdown, context, deadline, timing.timeout, report);
  if (beforeShutdown !== undefined && (!keepReady || hook.outcome === "timeout")) steps.drain();
  if (hook.outcome === "timeout") return hook;
  let timer: unknown;
  const drain = new Promise<"done">((resolve) => {
    timer = setTimeout(() => resolve("done"), timing.drain);
  });
  // Without a hook the drain (at most the timeout) ends first: only a hook's time can outlast it.
  const drained = timing.drain === 0
    ? "done"
    : await (beforeShutdown === undefined ? drain : Promise.race([drain, deadline]));
  clearTimeout(timer as number);
  if (keepReady) steps.drain(); // kept ready through the drain: not from here on
  if (drained === "done") return hook;
  report(
    new LivenessError(
      `Cannot shut down cleanly: the beforeShutdown hook and the drain (${timing.drain} ms) ` +
        `outlasted the timeout (${timing.timeout} ms): the handlers are skipped`,
    ),
  );
  return { outcome: "timeout" };
}

/** How the hook ended: `failed` carries what it threw. */
export type HookOutcome =
  | { readonly outcome: "done" | "timeout" }
  | { readonly outcome: "failed"; readonly error: unknown };

/**
 * Runs `hook` (if any) with `context`, until it settles or `deadline`
 * does; never rejects. A hook that throws is reported at once to `report`,
 * one that the deadline cuts too.
 */
export async function runHook(
  hook: ShutdownHook | undefined,
  context: ShutdownContext,
  deadline: Promise<"timeout">,
  timeout: number,
  report: (error: LivenessError) => void,
): Promise<HookOutcome> {
  if (hook === undefined) return { outcome: "done" };
  // A turn later: the sequence is registered by then, so a hook that calls `shutdown()` gets it.
  await Promise.resolve();
  const label = `the beforeShutdown hook${hook.name ? ` (${hook.name})` : ""}`;
  const result = await Promise.race([
    (async () => await hook(context))().then(
      (): HookOutcome => ({ outcome: "done" }),
      (error): HookOutcome => ({ outcome: "failed", error }),
    ),
    deadline.then((): HookOutcome => ({ outcome: "timeout" })),
  ]);
  if (result.outcome === "failed") {
    report(
      new LivenessError(
        `Cannot shut down cleanly: ${label} failed: ${String(result.error)}`,
        { cause: result.error },
      ),
    );
  } else if (result.outcome === "timeout") {
    report(
      new LivenessError(
        `Cannot shut down cleanly: ${label} did not finish within ${timeout} ms: ` +
          "the drain and the handlers are skipped",
      ),
    );
  }
  return result;
}

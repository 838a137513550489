/**
 * The owner's verdict, from memory: what it holds of the state it last
 * wrote, judged by the probes' own checks (`_verdict.ts`), as the HTTP
 * answers list it. A pure function: the owner gathers what it holds.
 *
 * @module
 */
import {
  type Found,
  healthyVerdict,
  judgeAge,
  judgeError,
  judgeReadiness,
  type ProbeStatus,
  type Readiness,
  type Verdict,
} from "./_verdict.ts";

/**
 * One part of a verdict, as the HTTP answers list them: `"pid"`, `"error"`,
 * `"heartbeat"` and, for readiness, `"ready"`.
 *
 * @example A failing part
 * ```ts
 * import type { HealthPart } from "./_health.ts";
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
  /** More, shown only with `?verbose`: a watched check's last result and its age. */
  readonly detail?: string;
  /** When a watched check's last result came (`Date.now()`), for `application/health+json`. */
  readonly at?: number;
}

/** What an owner holds in memory of the state it last wrote, for {@linkcode heldParts}. */
export interface HeldState {
  /** The `pid` part's finding: `undefined` while the pid file is this process's. */
  readonly pid: Verdict | undefined;
  /** Why the last write failed, until one succeeds. */
  readonly failure: string | undefined;
  /** The error code written; `undefined` before the first `set()`. */
  readonly error: number | undefined;
  /** The milliseconds since the last beat, and the most allowed; `undefined` without a heartbeat. */
  readonly heartbeat: { readonly age: number; readonly maxAge: number } | undefined;
  readonly readiness: Readiness;
}

/**
 * The verdict of what an owner holds, judged by the probes' own checks: the
 * parts of liveness (`pid`, `error`, `heartbeat` where there is one) or of
 * readiness (those, then `ready`). What `probe()` would say of the files.
 */
export function heldParts(held: HeldState, kind: "live" | "ready"): HealthPart[] {
  const part = (name: string, verdict: Verdict | undefined): HealthPart => ({
    name,
    ok: verdict === undefined,
    ...(verdict ?? { status: "healthy", reason: "ok" }),
  });
  const error: Found<string> = held.error === undefined
    ? { kind: "missing" }
    : { kind: "value", value: String(held.error) };
  const parts = [
    part("pid", held.pid),
    part("error", held.failure ? { status: "failed", reason: held.failure } : judgeError(error)),
  ];
  if (held.heartbeat) {
    parts.push(part("heartbeat", judgeAge(held.heartbeat.age, held.heartbeat.maxAge)));
  }
  if (kind === "ready") {
    parts.push(part("ready", judgeReadiness({ kind: "value", value: held.readiness })));
  }
  return parts;
}

/** The line `probe()` would print for `parts`: the first that fails, else healthy. */
export function partsVerdict(parts: readonly HealthPart[], pid: number, ready: boolean): Verdict {
  return parts.find((part) => !part.ok) ?? healthyVerdict(pid, ready);
}

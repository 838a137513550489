/**
 * A kubelet-like prober: Kubernetes' probe semantics, after
 * kubernetes/kubernetes `pkg/kubelet/prober/worker.go`, driving our probes
 * against a real process on this machine.
 *
 * - One worker per probe. It probes at once, then on a ticker of
 *   `periodSeconds` (a tick missed while a probe runs is dropped, as Go's
 *   ticker drops it).
 * - `initialDelaySeconds`: no probe while the whole seconds since the
 *   container started are fewer.
 * - A startup probe gates the others: liveness and readiness do not probe
 *   until it has succeeded; once it has, it probes no more. Without one, the
 *   container counts as started.
 * - Initial results: readiness failure, liveness success, startup unknown.
 * - A result counts once it has come `successThreshold` (success) or
 *   `failureThreshold` (failure) times in a row. A liveness or startup
 *   failure so counted is a restart decision; the worker then holds until
 *   a new container (here: it stops).
 * - Pod deletion: liveness and startup record success and stop probing;
 *   readiness goes on (so a drain is observed through readiness only).
 * - exec: exit 0 is success; past `timeoutSeconds` it is killed and fails.
 *   httpGet: a status from 200 to 399 is success; no answer within
 *   `timeoutSeconds`, or no connection, is failure. grpc: `Check` of its
 *   `service` answering `SERVING` is success, anything else failure.
 *
 * Time runs `scale` times faster than the manifest says (periods, delays),
 * except `timeoutSeconds`, which bounds a real process or request.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { connect } from "node:http2";
import { performance } from "node:perf_hooks";

/** The Kubernetes defaults of a probe's numbers. */
const DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

/** A probe as a manifest gives it (`core/v1` `Probe`, exec, httpGet and grpc). */
export interface ProbeSpec {
  exec?: { command: string[] };
  grpc?: { port: number; service?: string };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** The probes of a container. */
export interface ContainerProbes {
  startupProbe?: ProbeSpec;
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
}

export type ProbeKind = "startup" | "liveness" | "readiness";
type Result = "success" | "failure";

/** One probe run. */
export interface ProbeRun {
  /** Manifest seconds since the container started. */
  readonly at: number;
  readonly probe: ProbeKind;
  readonly result: Result;
  readonly output: string;
}

/** What the kubelet decides: started, ready, not ready, restart. */
export interface Decision {
  readonly at: number;
  readonly what: "started" | "ready" | "not-ready" | "restart";
  /** The output of the probe run that decided it. */
  readonly output: string;
}

/** How the prober reaches the process under test. */
export interface ProberOptions {
  /** Runs an exec probe's command (mapped to this machine), killed after `timeout` ms. */
  exec(command: readonly string[], timeout: number): Promise<{ ok: boolean; output: string }>;
  /** The URL base (`http://127.0.0.1:PORT`) for a manifest's port. */
  http(port: number | string): string;
  /** How many times faster than the manifest time runs. */
  scale: number;
  /** Keep probing liveness during termination (a stricter check than today's kubelet). */
  livenessWhileTerminating?: boolean;
}

/** A kubelet's probing of one container. */
export class Prober {
  readonly runs: ProbeRun[] = [];
  readonly decisions: Decision[] = [];
  #started = false;
  #terminating = false;
  #stopped = false;
  #startedAt = performance.now();
  #workers: Promise<void>[] = [];
  #timers = new Set<() => void>();

  readonly probes: ContainerProbes;
  readonly options: ProberOptions;

  constructor(probes: ContainerProbes, options: ProberOptions) {
    this.probes = probes;
    this.options = options;
  }

  /** The container has started: the workers begin. */
  start(): void {
    this.#startedAt = performance.now();
    this.#started = this.probes.startupProbe === undefined;
    for (const kind of ["startup", "liveness", "readiness"] as const) {
      const spec = this.probes[`${kind}Probe`];
      if (spec) this.#workers.push(this.#work(kind, { ...DEFAULTS, ...spec }));
    }
  }

  /** The pod is being deleted: liveness and startup stop, readiness goes on. */
  terminate(): void {
    this.#terminating = true;
  }

  /** Stops every worker and waits for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#timers) wake();
    await Promise.all(this.#workers);
  }

  /** Manifest seconds since the container started. */
  now(): number {
    return (performance.now() - this.#startedAt) * this.options.scale / 1000;
  }

  /** The first decision `what`, if any. */
  decision(what: Decision["what"]): Decision | undefined {
    return this.decisions.find((decision) => decision.what === what);
  }

  async #work(
    kind: ProbeKind,
    spec: Required<Omit<ProbeSpec, "exec" | "httpGet" | "grpc">> & ProbeSpec,
  ) {
    const period = spec.periodSeconds * 1000 / this.options.scale;
    let last: Result | undefined;
    let run = 0;
    let recorded: Result | undefined = kind === "readiness" ? "failure" : undefined;
    for (let tick = 0; !this.#stopped; tick++) {
      if (this.#terminating && kind !== "readiness" && !this.options.livenessWhileTerminating) {
        return;
      }
      if (this.#shouldProbe(kind, spec)) {
        const { result, output } = await this.#probe(spec);
        this.runs.push({ at: this.now(), probe: kind, result, output });
        run = result === last ? run + 1 : 1;
        last = result;
        const threshold = result === "success" ? spec.successThreshold : spec.failureThreshold;
        if (run >= threshold && !this.#stopped) {
          if (this.#record(kind, result, recorded, output)) return; // on hold: restart
          recorded = result;
        }
      }
      tick = Math.max(tick, Math.floor((performance.now() - this.#startedAt) / period));
      await this.#sleepUntil(this.#startedAt + (tick + 1) * period);
    }
  }

  #shouldProbe(kind: ProbeKind, spec: ProbeSpec): boolean {
    if (Math.trunc(this.now()) < (spec.initialDelaySeconds ?? 0)) return false;
    return kind === "startup" ? !this.#started : this.#started;
  }

  /** Records a counted result; `true` when it is a restart decision (the worker holds). */
  #record(kind: ProbeKind, result: Result, before: Result | undefined, output: string): boolean {
    const at = this.now();
    if (kind === "readiness") {
      if (result !== before) {
        this.decisions.push({ at, what: result === "success" ? "ready" : "not-ready", output });
      }
      return false;
    }
    if (result === "failure") {
      this.decisions.push({ at, what: "restart", output });
      return true;
    }
    if (kind === "startup") {
      this.#started = true;
      this.decisions.push({ at, what: "started", output });
    }
    return false;
  }

  async #probe(spec: ProbeSpec): Promise<{ result: Result; output: string }> {
    const timeout = (spec.timeoutSeconds ?? DEFAULTS.timeoutSeconds) * 1000;
    const outcome = spec.exec
      ? await this.options.exec(spec.exec.command, timeout)
      : spec.grpc
      ? await grpcCheck(this.options.http(spec.grpc.port), spec.grpc.service ?? "", timeout)
      : await httpGet(this.options.http(spec.httpGet!.port) + (spec.httpGet!.path ?? "/"), timeout);
    return { result: outcome.ok ? "success" : "failure", output: outcome.output };
  }

  #sleepUntil(time: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#timers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, time - performance.now()));
      this.#timers.add(wake);
    });
  }
}

/** An httpGet probe: the kubelet's headers, 200-399 is success. */
async function httpGet(url: string, timeout: number): Promise<{ ok: boolean; output: string }> {
  try {
    const response = await fetch(url, {
      headers: { "User-Agent": "kube-probe/1.34", Accept: "*/*" },
      redirect: "manual",
      signal: AbortSignal.timeout(timeout),
    });
    const body = (await response.text()).trim();
    return {
      ok: response.status >= 200 && response.status < 400,
      output: `${response.status} ${body}`,
    };
  } catch (error) {
    return {
      ok: false,
      output: String(error instanceof Error ? error.cause ?? error.message : error),
    };
  }
}

/**
 * A grpc probe, as the kubelet's (`pkg/probe/grpc`): a new h2c connection,
 * `grpc.health.v1.Health/Check` with `service`; only `SERVING` is success.
 */
function grpcCheck(base: string, service: string, timeout: number) {
  return new Promise<{ ok: boolean; output: string }>((resolve) => {
    const client = connect(base);
    const done = (ok: boolean, output: string) => {
      clearTimeout(timer);
      client.destroy();
      resolve({ ok, output });
    };
    const timer = setTimeout(() => done(false, `timeout after ${timeout} ms`), timeout);
    client.on("error", (error) => done(false, String(error)));
    const name = Buffer.from(service);
    const message = name.length ? Buffer.from([0x0a, name.length, ...name]) : Buffer.alloc(0);
    const stream = client.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      "te": "trailers",
      "user-agent": "kube-probe/1.34",
    });
    const chunks: Buffer[] = [];
    let status = "";
    stream.on("response", (headers) => status = String(headers["grpc-status"] ?? ""));
    stream.on("trailers", (trailers) => status = String(trailers["grpc-status"] ?? ""));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => done(false, String(error)));
    stream.on("close", () => {
      if (status !== "0") return done(false, `grpc-status ${status}`);
      const serving = ["UNKNOWN", "SERVING", "NOT_SERVING"][Buffer.concat(chunks)[6]] ?? "UNKNOWN";
      done(serving === "SERVING", `status: ${serving}`);
    });
    stream.end(Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]));
  });
}

/** Runs `command` as an exec probe on this machine: exit 0 within `timeout` ms is success. */
export function execProbe(
  command: readonly string[],
  timeout: number,
  env: Record<string, string>,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout,
      killSignal: "SIGKILL",
    });
    let output = "";
    child.stdout.on("data", (chunk) => output += chunk);
    child.stderr.on("data", (chunk) => output += chunk);
    child.on("error", (error) => resolve({ ok: false, output: String(error) }));
    child.on("close", (code, signal) =>
      resolve({
        ok: code === 0,
        output: signal === "SIGKILL" ? `timed out after ${timeout} ms` : output.trim(),
      }));
  });
}

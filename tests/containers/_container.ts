/**
 * One container of the suite's images, driven from the test: the driven
 * fixture (or the example service) in it, its state in a host directory
 * mounted as the rundir (an `emptyDir` in Kubernetes: it outlives a restart
 * of the container), and a control directory for the fixture's commands.
 *
 * @module
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { firstLine, podman, podmanOk, PREFIX, removeContainer, uniqueName } from "./_podman.ts";

/** The unit and rundir the examples' Dockerfiles set. */
export const UNIT = "demo";
export const RUNDIR = "/run/liveness";
const PACKAGE = "/app/node_modules/@cic/liveness";
const DRIVEN = fileURLToPath(new URL("./fixtures/driven.mjs", import.meta.url));

/** How each runtime runs a script and the probe command in the image. */
export const RUNTIMES = {
  node: { run: ["node"], probe: ["liveness-probe"] },
  bun: { run: ["bun"], probe: ["bun", "/app/node_modules/.bin/liveness-probe"] },
  deno: {
    run: ["deno", "run", "--allow-all"],
    probe: ["deno", "run", "--allow-all", `${PACKAGE}/src/probe_cli.js`],
  },
} as const;
export type RuntimeName = keyof typeof RUNTIMES;
/** probe.sh in the image. */
export const PROBE_SH = [`${PACKAGE}/probe.sh`];

/** A bounded wait gives up after this many tries or this long, whichever comes first. */
const WAIT_TRIES = 400;
const WAIT_LIMIT_MS = 60_000;
const WAIT_STEP_MS = 25;

/** What to start. */
export interface StartOptions {
  image: string;
  /** The command; default: the driven fixture on `runtime`; `[]`: the image's CMD. */
  command?: string[];
  /** The runtime of the driven fixture. Default: node. */
  runtime?: RuntimeName;
  /** A health command that replaces the image's (podman applies the other health flags only with one). */
  healthCmd?: readonly string[];
  /** More `podman run` arguments. */
  args?: string[];
  env?: Record<string, string>;
}

/** A running container of the suite. */
export interface Container {
  readonly name: string;
  /** The host directory mounted at the rundir. */
  readonly state: string;
  readonly control: string;
}

/** Starts a container (detached) and, for the driven fixture, waits until it runs. */
export async function start(options: StartOptions): Promise<Container> {
  const name = uniqueName("run");
  const state = mkdtempSync(join(tmpdir(), `${PREFIX}state-`));
  const control = mkdtempSync(join(tmpdir(), `${PREFIX}control-`));
  const command = options.command ??
    [...RUNTIMES[options.runtime ?? "node"].run, "/app/driven.mjs"];
  const health = options.healthCmd
    ? [
      "--health-cmd",
      JSON.stringify(options.healthCmd),
      // podman 4 counts no failure in the start period, even after a
      // success (Docker ends the period there): none, so retries count.
      "--health-start-period",
      "0s",
    ]
    : [];
  await podmanOk([
    "run",
    "--detach",
    "--name",
    name,
    "--health-interval",
    "disable",
    ...health,
    "--volume",
    `${state}:${RUNDIR}`,
    "--volume",
    `${control}:/control`,
    "--volume",
    `${DRIVEN}:/app/driven.mjs:ro`,
    ...Object.entries(options.env ?? {}).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...(options.args ?? []),
    options.image,
    ...command,
  ]);
  const container = { name, state, control };
  if (options.command === undefined) await waitFor(() => starts(container).length > 0, "a start");
  return container;
}

/** Removes the container and its directories. */
export async function remove(container: Container): Promise<void> {
  await removeContainer(container.name);
  rmSync(container.state, { recursive: true, force: true });
  rmSync(container.control, { recursive: true, force: true });
}

/** Starts a container, runs `body`, removes the container whatever happens. */
export async function withContainer<T>(
  options: StartOptions,
  body: (container: Container) => Promise<T>,
): Promise<T> {
  const container = await start(options);
  try {
    return await body(container);
  } catch (error) {
    const logs = await podman(["logs", container.name]);
    throw new Error(
      `${
        error instanceof Error ? error.message : error
      }\ncontainer output:\n${logs.stdout}${logs.stderr}`,
      { cause: error },
    );
  } finally {
    await remove(container);
  }
}

/**
 * Polls `ready` until it holds; throws after a bounded number of tries (a
 * limit on the test's run time, not an assertion on the code's timing).
 */
export async function waitFor(
  ready: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const limit = Date.now() + WAIT_LIMIT_MS;
  for (let step = 0; step < WAIT_TRIES && Date.now() < limit; step++) {
    if (await ready()) return;
    await sleep(WAIT_STEP_MS);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The fixture's log lines. */
export function log(container: Pick<Container, "control">): string[] {
  try {
    return readFileSync(join(container.control, "log"), "utf8").trim().split("\n");
  } catch {
    return [];
  }
}

/** The fixture's start lines: "start <pid> <starttime>", one per process. */
export function starts(container: Pick<Container, "control">): string[] {
  return log(container).filter((line) => line.startsWith("start "));
}

let sequence = 0;

/** Has the driven fixture run `verb args`; resolves to what it answered. */
export async function send(
  container: Pick<Container, "control">,
  ...command: string[]
): Promise<string> {
  const seq = ++sequence;
  const path = join(container.control, "command");
  writeFileSync(`${path}.tmp`, `${seq} ${command.join(" ")}\n`);
  renameSync(`${path}.tmp`, path);
  let answer: string | undefined;
  await waitFor(() => {
    answer = log(container).find((line) => line.startsWith(`${seq} `));
    return answer !== undefined;
  }, `the answer to "${command.join(" ")}"`);
  const [, outcome, ...value] = answer!.split(" ");
  if (outcome !== "ok") throw new Error(`"${command.join(" ")}" failed: ${value.join(" ")}`);
  return value.join(" ");
}

/** What a command run in the container printed, and its exit code. */
export interface Outcome {
  readonly code: number | null;
  readonly output: string;
}

/** `podman exec` of `command` in the container. */
export async function exec(container: Container, command: readonly string[]): Promise<Outcome> {
  const result = await podman(["exec", container.name, ...command]);
  return { code: result.status, output: (result.stdout + result.stderr).trim() };
}

/** `podman healthcheck run`: the health command once, the status it leaves and what it printed. */
export async function healthcheck(container: Container): Promise<Outcome & { status: string }> {
  const result = await podman(["healthcheck", "run", container.name]);
  const health = JSON.parse(
    await podmanOk(["inspect", "--format", "{{json .State.Health}}", container.name]),
  );
  const output = firstLine(health.Log?.at(-1)?.Output ?? "");
  return { code: result.status, output, status: health.Status };
}

/** The container's `State` field `field` (Go template name). */
export async function state(container: Container, field: string): Promise<string> {
  return (await podmanOk(["inspect", "--format", `{{.State.${field}}}`, container.name])).trim();
}

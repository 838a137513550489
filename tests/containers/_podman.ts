/**
 * Podman for the container suite: run it, tell whether it can run
 * containers here, and name and remove what the suite creates.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";

/** Every container, image and volume the suite creates starts with this. */
export const PREFIX = "liveness-test-";

/** What a podman command printed, and how it ended. */
export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `podman args` to its end, without blocking the event loop: the suite
 * runs tests side by side in one process, and a test that watches a drain
 * over HTTP must not stall while another test's podman command runs.
 */
export function podman(args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn("podman", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => stdout += chunk);
    child.stderr.setEncoding("utf8").on("data", (chunk) => stderr += chunk);
    child.on("error", (error) => resolve({ status: null, stdout, stderr: String(error) }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** `podman args`, its stdout; rejects with its stderr when it fails. */
export async function podmanOk(args: readonly string[]): Promise<string> {
  return okOutput(args, await podman(args));
}

/**
 * Runs `podman args` to its end, blocking: only for what runs before the
 * tests (building images, asking whether the engine works) and for benches.
 */
export function podmanSync(args: readonly string[]): Result {
  const result = spawnSync("podman", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? String(result.error ?? ""),
  };
}

/** {@linkcode podmanSync}'s stdout; throws with its stderr when it fails. */
export function podmanSyncOk(args: readonly string[]): string {
  return okOutput(args, podmanSync(args));
}

/** The stdout of a podman command that succeeded; an error with its stderr otherwise. */
function okOutput(args: readonly string[], result: Result): string {
  if (result.status !== 0) {
    throw new Error(`podman ${args.join(" ")} exited with ${result.status}: ${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Why podman cannot be used here, or `undefined` when it can run
 * containers: the suite skips for this reason and never fails for it.
 */
export function engineProblem(): string | undefined {
  if (process.platform !== "linux") return `containers need Linux, not ${process.platform}`;
  const version = podmanSync(["--version"]);
  if (version.status === null) {
    return "podman is not installed (tests/containers/setup_podman.sh installs it)";
  }
  const info = podmanSync(["info", "--format", "{{.Host.OCIRuntime.Name}}"]);
  if (info.status !== 0) return `podman info fails: ${firstLine(info.stderr)}`;
  return undefined;
}

/** The first line of `text`, for one-line reasons. */
export function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/** A name for a new container or volume: the prefix, `what`, and a unique tail. */
export function uniqueName(what: string): string {
  return `${PREFIX}${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Removes the container `name` at once, whatever its state. */
export async function removeContainer(name: string): Promise<void> {
  await podman(["rm", "--force", "--time", "0", "--volumes", name]);
}

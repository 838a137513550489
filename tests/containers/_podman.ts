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

/** Runs `podman args` to its end; `input` goes to its stdin. */
export function podman(args: readonly string[], input?: string): Result {
  const result = spawnSync("podman", args, {
    encoding: "utf8",
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? String(result.error ?? ""),
  };
}

/** Runs `podman args` without blocking the event loop (for servers in the same process). */
export function podmanAsync(args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn("podman", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    child.on("error", (error) => resolve({ status: null, stdout, stderr: String(error) }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** `podman args`, its stdout; throws with its stderr when it fails. */
export function podmanOk(args: readonly string[], input?: string): string {
  const result = podman(args, input);
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
  const version = podman(["--version"]);
  if (version.status === null) {
    return "podman is not installed (tests/containers/setup_podman.sh installs it)";
  }
  const info = podman(["info", "--format", "{{.Host.OCIRuntime.Name}}"]);
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
export function removeContainer(name: string): void {
  podman(["rm", "--force", "--time", "0", "--volumes", name]);
}

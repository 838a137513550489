/**
 * The state files under `<rundir>/<unit>`: their names, and how they are
 * written (atomically), removed and cleared. The probes read them.
 *
 * @module
 */
import { errorCode, type Runtime } from "./_runtime.ts";
import { StateError } from "./errors.ts";
import { parseStateNumber, STATE_MAX_BYTES } from "./_verdict.ts";

/** The decimal id of the process that owns the state. The seed's file. */
export const PID_FILE = "pid";
/** The decimal error code: `0` is healthy. The seed's file. */
export const ERROR_FILE = "error";
/**
 * Field 22 of `/proc/<pid>/stat` of the owning process (its start time in
 * clock ticks since boot): tells it from a later process with the same pid.
 */
export const STARTTIME_FILE = "starttime";

/** Every state file, in the order they are removed: never a healthy-looking remainder. */
export const STATE_FILES = [ERROR_FILE, STARTTIME_FILE, PID_FILE] as const;

/** State files are readable by a probe running as another user. */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/** `.error.<pid>.<random>.tmp`: a temporary file on its way to replace a state file. */
const TEMP_FILE = /^\.[a-z]+\.(\d+)\.[0-9a-f]+\.tmp$/;

/** Creates `dir` and its missing parents, each with mode 0755. */
export function ensureDir(runtime: Runtime, dir: string): void {
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  if (!makeDir(runtime, dir, parent !== "")) return;
  ensureDir(runtime, parent);
  makeDir(runtime, dir, false);
}

/** Makes one directory; returns `true` when its parent is missing and `retry` allows that. */
function makeDir(runtime: Runtime, dir: string, retry: boolean): boolean {
  try {
    runtime.mkdir(dir, DIR_MODE);
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST") return false;
    if (code === "ENOENT" && retry) return true;
    throw new StateError("create", dir, error, code);
  }
  return false;
}

/**
 * Replaces `<dir>/<name>` with `value` and a newline: a new file with a
 * unique name, then a rename, so a reader sees the old or the new content and
 * never a partial one. No fsync: the state means nothing after a reboot.
 */
export function writeStateFile(
  runtime: Runtime,
  dir: string,
  name: string,
  value: number | string,
): void {
  const path = `${dir}/${name}`;
  const temp = writeTempFile(runtime, dir, name, `${value}\n`, path);
  try {
    runtime.rename(temp, path);
  } catch (error) {
    removeQuietly(runtime, temp);
    throw new StateError("replace", path, error, errorCode(error));
  }
}

/**
 * Writes `data` to a new, uniquely named file in `dir` (the temporary file
 * of `name`) and returns its path. Failures name `target`, the file meant.
 */
export function writeTempFile(
  runtime: Runtime,
  dir: string,
  name: string,
  data: string,
  target: string,
): string {
  const temp = `${dir}/.${name}.${runtime.pid}.${randomHex()}.tmp`;
  try {
    runtime.writeNewFile(temp, data, FILE_MODE);
  } catch (error) {
    removeQuietly(runtime, temp);
    throw new StateError("write", target, error, errorCode(error));
  }
  return temp;
}

/** Removes `<dir>/<name>`; a file that is not there is fine. */
export function removeStateFile(runtime: Runtime, dir: string, name: string) {
  const path = `${dir}/${name}`;
  try {
    runtime.remove(path);
  } catch (error) {
    const code = errorCode(error);
    if (code !== "ENOENT") throw new StateError("remove", path, error, code);
  }
}

/**
 * Removes the temporary files that writers left in `dir` when they died
 * mid-write; `isLive(pid)` tells which writers are still running.
 */
export function removeStaleTempFiles(
  runtime: Runtime,
  dir: string,
  isLive: (pid: number) => boolean,
): void {
  let names: string[];
  try {
    names = runtime.readDir(dir);
  } catch (error) {
    throw new StateError("list", dir, error, errorCode(error));
  }
  for (const name of names) {
    const writer = TEMP_FILE.exec(name)?.[1];
    if (writer && !isLive(Number(writer))) removeStateFile(runtime, dir, name);
  }
}

/** Removes `path` if it can; for clean-ups after a failure that is already being reported. */
export function removeQuietly(runtime: Runtime, path: string): void {
  try {
    runtime.remove(path);
  } catch {
    // Nothing was created, or it is already gone.
  }
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// The probes read state numbers too, and load no writer code: their parser lives with the verdict.
export { parseStateNumber, STATE_MAX_BYTES };

/**
 * The number in `<dir>/<name>`, or `undefined` when the file is missing,
 * unreadable or holds anything else.
 */
export function readStateNumber(
  runtime: Runtime,
  dir: string,
  name: string,
): string | undefined {
  try {
    const head = runtime.readHead(`${dir}/${name}`, STATE_MAX_BYTES);
    return head.kind === "file" && !head.truncated
      ? parseStateNumber(head.text, name === ERROR_FILE)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A short lock on a unit directory, held while `load()` looks at who owns
 * the unit and writes the new owner, so that two processes loading one unit
 * at the same instant take turns: the second then finds the first running
 * and is refused.
 *
 * The lock is the file `.lock`, made by `link()`, which is atomic and makes
 * the file appear complete. It holds the holder's pid and start time; a lock
 * whose holder no longer runs is broken.
 *
 * @module
 */
import { isOtherLiveProcess, type Owner } from "./_owner.ts";
import { ownStartTime } from "./_proc.ts";
import { errorCode, type Runtime } from "./_runtime.ts";
import { removeQuietly, removeStateFile, STATE_MAX_BYTES, writeTempFile } from "./_state.ts";
import { StateError, UnitInUseError } from "./errors.ts";

const LOCK_FILE = ".lock";
/** How long to wait between tries, and at most, for a lock held by a running process. */
const RETRY_MS = 5;
const GIVE_UP_MS = 2_000;

/**
 * Runs `body` holding the lock of `dir`. Waits while a running process holds
 * it (its critical section takes microseconds), breaks it when the holder
 * has died.
 */
export async function withUnitLock<T>(
  runtime: Runtime,
  dir: string,
  body: () => T,
): Promise<T> {
  const path = `${dir}/${LOCK_FILE}`;
  const holder = `${runtime.pid} ${ownStartTime(runtime) ?? ""}\n`;
  const temp = writeTempFile(runtime, dir, "lock", holder, path);
  try {
    for (let waited = 0; !tryLink(runtime, temp, path); waited += RETRY_MS) {
      const current = readHolder(runtime, path);
      if (current === undefined || !isOtherLiveProcess(runtime, current)) {
        removeStateFile(runtime, dir, LOCK_FILE); // its holder died holding it
      } else if (waited >= GIVE_UP_MS) {
        throw new UnitInUseError(dir, current.pid);
      } else {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  } finally {
    removeQuietly(runtime, temp);
  }
  try {
    return body();
  } finally {
    removeQuietly(runtime, path);
  }
}

function tryLink(runtime: Runtime, temp: string, path: string): boolean {
  try {
    runtime.link(temp, path);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST") return false;
    throw new StateError("lock", path, error, code);
  }
}

function readHolder(runtime: Runtime, path: string): Owner | undefined {
  try {
    const head = runtime.readHead(path, STATE_MAX_BYTES * 2);
    const match = head.kind === "file" ? /^(\d+) (\d*)\n$/.exec(head.text) : null;
    return match ? { pid: Number(match[1]), starttime: match[2] || undefined } : undefined;
  } catch {
    return undefined;
  }
}

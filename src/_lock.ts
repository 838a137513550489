/**
 * A short lock on a unit directory, held while `load()` (or a `set()` that
 * restores lost state) looks at who owns the unit and writes the new owner,
 * so that two processes doing it at the same instant take turns.
 *
 * The lock is the directory `.lock`, holding one file `owner.<pid>.<start>`
 * named after its holder. It is taken by renaming a complete temporary
 * directory to `.lock`, which the kernel refuses while `.lock` holds
 * anything: a lock never appears half made. A lock whose holder died is
 * broken by removing the dead holder's file, then the directory if it is
 * empty. Both steps are safe however many processes race through them: the
 * holder's name belongs to that one process for ever (pid and start time),
 * so no breaker can remove a living holder's file, and `rmdir()` removes
 * only an empty directory, never a lock that was just taken.
 *
 * @module
 */
import {
  type Identity,
  IDENTITY_PATTERN,
  identityName,
  isRunning,
  parseIdentity,
} from "./_identity.ts";
import { errorCode, type Runtime, type StateFs } from "./runtime/_runtime.ts";
import { removeDirectoryQuietly, removeQuietly, tempName, type UnitDirectory } from "./_state.ts";
import { STATE_MAX_BYTES } from "./_verdict.ts";
import { StateError } from "./errors.ts";

const LOCK = ".lock";
const HOLDER = new RegExp(`^owner\\.${IDENTITY_PATTERN}$`);
/** The older lock: a file holding `<pid> <starttime>`. */
const OLD_HOLDER = /^([1-9][0-9]{0,9}) (0|[1-9][0-9]{0,19})?\n$/;
/** How long to wait between tries, and at most, for a lock held by a running process. */
const RETRY_MS = 5;
const GIVE_UP_MS = 2_000;
/** Where nothing can tell whether a holder runs, a lock this old is taken for stale. */
const UNPROVABLE_STALE_MS = 10_000;

/** Another process holds the lock: its pid, when known. */
export class LockBusy {
  readonly pid: number | undefined;
  constructor(pid: number | undefined) {
    this.pid = pid;
  }
}

/**
 * Runs `body` holding the lock of `dir`. Waits up to 2 s while a running
 * process holds it (its critical section takes microseconds) unless `wait`
 * is `false`, and breaks it when the holder has died. Returns a
 * {@linkcode LockBusy} instead of running `body` when the lock stays busy.
 */
export async function withUnitLock<T>(
  dir: UnitDirectory,
  holder: Identity,
  body: () => T,
  wait = true,
): Promise<T | LockBusy> {
  // A monotonic clock: a wall clock stepped back (NTP, `date`) must not stretch the wait.
  const { runtime } = dir;
  const started = runtime.now();
  for (;;) {
    const busy = tryLock(dir, holder);
    if (busy === undefined) break;
    if (!wait) return busy;
    if (runtime.now() - started >= GIVE_UP_MS) {
      throw new StateError(
        "lock",
        `${dir.path}/${LOCK}`,
        `held by process ${busy.pid ?? "(unknown)"} for more than ${GIVE_UP_MS} ms`,
        "EBUSY",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  try {
    return body();
  } finally {
    unlock(dir, holder);
  }
}

/** The same without waiting, for synchronous callers. */
export function withUnitLockSync<T>(
  dir: UnitDirectory,
  holder: Identity,
  body: () => T,
): T | LockBusy {
  const busy = tryLock(dir, holder);
  if (busy !== undefined) return busy;
  try {
    return body();
  } finally {
    unlock(dir, holder);
  }
}

/** Takes the lock, breaking a stale one; `undefined` once held, else who holds it. */
function tryLock(dir: UnitDirectory, holder: Identity): LockBusy | undefined {
  const fs = dir.fs;
  const temp = dir.entry(tempName("lock", holder));
  const mine = `owner.${identityName(holder)}`;
  try {
    fs.mkdir(temp, 0o755);
    fs.createFile(`${temp}/${mine}`, "", 0o644);
  } catch (error) {
    removeTemp(fs, temp, mine);
    throw new StateError("lock", `${dir.path}/${LOCK}`, error, errorCode(error));
  }
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        fs.rename(temp, dir.entry(LOCK));
        return undefined;
      } catch (error) {
        const code = errorCode(error);
        if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") {
          throw new StateError("lock", `${dir.path}/${LOCK}`, error, code);
        }
      }
      const busy = breakIfStale(dir);
      if (busy) return busy;
    }
    throw new StateError("lock", `${dir.path}/${LOCK}`, "it keeps changing", "EBUSY");
  } finally {
    removeTemp(fs, temp, mine);
  }
}

/**
 * Looks at the lock in the way: returns who holds it while that process
 * runs, else removes it (a dead holder's, an older version's, or a link someone put
 * there) and returns `undefined` for another try.
 */
function breakIfStale(dir: UnitDirectory): LockBusy | undefined {
  const runtime = dir.runtime;
  const found = dir.lstat(LOCK);
  if (found === undefined) return undefined; // released meanwhile
  const lock = dir.entry(LOCK);
  if (found.kind === "file") {
    const match = OLD_HOLDER.exec(dir.read(LOCK, STATE_MAX_BYTES * 2) ?? "");
    const holder = match && parseIdentity(match[1], match[2] ?? "-");
    if (holder && isLive(runtime, holder, found.mtimeMs)) return new LockBusy(holder.pid);
    // unlink() cannot remove a directory: a directory lock taken meanwhile stays.
    removeQuietly(dir.fs, lock);
    return undefined;
  }
  if (found.kind !== "directory") {
    removeQuietly(dir.fs, lock); // a link or a FIFO: not a lock of ours
    return undefined;
  }
  let names: string[];
  try {
    names = dir.fs.readDir(lock);
  } catch {
    return undefined; // gone meanwhile
  }
  for (const name of names) {
    const match = HOLDER.exec(name);
    if (!match) {
      throw new StateError(
        "lock",
        `${dir.path}/${LOCK}`,
        `it holds ${JSON.stringify(name)}, which is not a lock holder`,
        "ENOTEMPTY",
      );
    }
    const holder = parseIdentity(match[1], match[2]);
    if (isLive(runtime, holder, found.mtimeMs)) return new LockBusy(holder.pid);
    // The dead holder's own name: no living process's file is ever removed.
    removeQuietly(dir.fs, `${lock}/${name}`);
  }
  removeDirectoryQuietly(dir.fs, lock); // only while empty: never a lock taken meanwhile
  return undefined;
}

/**
 * Whether the holder runs; where nothing can tell, whether the lock is
 * recent. `since` is the lock's mtime, a wall-clock time: only the wall
 * clock compares with it.
 */
function isLive(runtime: Runtime, holder: Identity, since: number): boolean {
  return isRunning(runtime, holder) ?? Date.now() - since < UNPROVABLE_STALE_MS;
}

function unlock(dir: UnitDirectory, holder: Identity): void {
  const lock = dir.entry(LOCK);
  removeQuietly(dir.fs, `${lock}/owner.${identityName(holder)}`);
  // Fails where another process took it the moment it was empty: theirs now.
  removeDirectoryQuietly(dir.fs, lock);
}

function removeTemp(fs: StateFs, temp: string, mine: string): void {
  removeQuietly(fs, `${temp}/${mine}`);
  removeDirectoryQuietly(fs, temp); // fails once renamed into place: the lock now
}

/**
 * The state files under `<rundir>/<unit>`: how the writer opens the unit
 * directory, replaces files in it atomically, removes and clears them, and
 * never touches anything outside it.
 *
 * The unit directory is opened once (`O_DIRECTORY | O_NOFOLLOW`) and every
 * file is reached through that descriptor (`/proc/self/fd/<fd>/<name>`), so
 * a unit directory swapped for a link afterwards (by another user, in a
 * world-writable rundir) leads nowhere else. Where `/proc` cannot be read
 * (Deno without `--allow-all`, systems without `/proc`), files are reached
 * by their path, after checking that the path still leads to the directory
 * that was opened: a swap between that check and the call remains possible
 * there (the README says so).
 *
 * @module
 */
import {
  type Identity,
  IDENTITY_PATTERN,
  identityName,
  isRunning,
  isThisProcess,
  parseIdentity,
} from "./_identity.ts";
import {
  type Entry,
  errorCode,
  type HeldFile,
  type Runtime,
  sameFile,
  type StateFs,
} from "./runtime/_runtime.ts";
import { nodeStateFs } from "./_state_fs.ts";
import {
  ERROR_FILE,
  HEARTBEAT_FILE,
  parseStateNumber,
  PID_FILE,
  READY_FILE,
  STARTTIME_FILE,
  STATE_MAX_BYTES,
} from "./_verdict.ts";
import { StateError } from "./errors.ts";

/** Every state file, in the order they are removed: never a healthy-looking remainder. */
export const STATE_FILES = [
  ERROR_FILE,
  HEARTBEAT_FILE,
  READY_FILE,
  STARTTIME_FILE,
  PID_FILE,
] as const;

/** State files are readable by a probe running as another user. */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/**
 * `.<name>.<pid>.<starttime>.<n>.tmp`: a temporary file on its way to
 * replace a state file; the writer's start time tells it from a later
 * process with the same pid. (Older versions wrote `.<name>.<pid>.<hex>.tmp`.)
 */
const TEMP_FILE = new RegExp(`^\\.[a-z]+\\.${IDENTITY_PATTERN}\\.[0-9]+\\.tmp$`);
const OLD_TEMP_FILE = /^\.[a-z]+\.([1-9][0-9]{0,9})\.[0-9a-f]+\.tmp$/;

const writers = new WeakMap<Runtime, StateFs>();

/** The writer's file operations on `runtime`: `node:fs`, loaded on first use. */
export function writerFs(runtime: Runtime): StateFs {
  if (runtime.stateFs) return runtime.stateFs;
  let fs = writers.get(runtime);
  if (!fs) {
    fs = nodeStateFs(runtime.nodeFs());
    // Deno's fstat through node:fs costs five times its own: set() asks it each time.
    if (runtime.holdFile) fs = { ...fs, hold: runtime.holdFile };
    writers.set(runtime, fs);
  }
  return fs;
}

/** Tells this process's temporary files apart. */
let counter = 0;

/** A new name for a temporary file (or directory) of `name`, by `writer`. */
export function tempName(name: string, writer: Identity): string {
  return `.${name}.${identityName(writer)}.${counter++}.tmp`;
}

/** A unit directory, opened. */
export class UnitDirectory {
  readonly runtime: Runtime;
  /** The writer's file operations on {@linkcode runtime}. */
  readonly fs: StateFs;
  /** `<rundir>/<unit>`, as errors name it. */
  readonly path: string;
  readonly fd: number;
  /** What `fstat` said of the directory when it was opened. */
  readonly identity: Entry;
  /**
   * Reaches the entries: the directory's real path where no other user can
   * swap a directory on the way to it, else `/proc/self/fd/<fd>`, or, where
   * `/proc` cannot be read, the path, checked before each use (`#check`).
   */
  readonly #via: string;
  readonly #check: boolean;
  /** Whether the umask, when the directory was opened, took no bit off the files' mode. */
  readonly #umaskKeeps: boolean;

  private constructor(
    runtime: Runtime,
    path: string,
    fd: number,
    identity: Entry,
    via: { path: string; check: boolean },
  ) {
    this.runtime = runtime;
    this.fs = writerFs(runtime);
    this.path = path;
    this.fd = fd;
    this.identity = identity;
    this.#via = via.path;
    this.#check = via.check;
    this.#umaskKeeps = umaskKeeps(runtime, FILE_MODE);
  }

  /**
   * Opens `path`, creating it (and a missing rundir) when `create` is set.
   * Refuses a symbolic link or anything but a directory there.
   */
  static open(runtime: Runtime, path: string, create: boolean): UnitDirectory {
    const fs = writerFs(runtime);
    const found = lstat(runtime, path);
    if (found === undefined) {
      if (!create) throw new StateError("open", path, "no such directory", "ENOENT");
      makeDirectories(runtime, path);
    } else if (found.kind !== "directory") {
      throw notOurs(path, found);
    }
    const fd = openDirectory(runtime, path, "open");
    try {
      const identity = fs.fstat(fd);
      const byDescriptor = `/proc/self/fd/${fd}`;
      const via = !reachable(runtime, byDescriptor)
        ? { path, check: true }
        : { path: unswappable(runtime, path, identity) ?? byDescriptor, check: false };
      return new UnitDirectory(runtime, path, fd, identity, via);
    } catch (error) {
      fs.close(fd);
      throw new StateError("open", path, error, errorCode(error));
    }
  }

  /** Whether `<rundir>/<unit>` still leads to this directory. */
  isCurrent(): boolean {
    const found = this.fs.lstat(this.path);
    return found?.kind === "directory" && sameFile(found, this.identity);
  }

  /** The path through which `name` is reached. */
  entry(name: string): string {
    if (this.#check && !this.isCurrent()) {
      // Without /proc, a path is all there is: refuse one that leads elsewhere now.
      throw new StateError("open", this.path, "it is no longer the directory loaded", "ENOENT");
    }
    return `${this.#via}/${name}`;
  }

  /**
   * Replaces `name` with `value` and a newline: a new file with a unique
   * name, then a rename, so a reader sees the old or the new content and
   * never a partial one. No fsync: the state means nothing after a reboot.
   * With `hold`, returns the new file held open (the caller closes it).
   */
  write(
    name: string,
    value: number | string,
    writer: Identity,
    hold = false,
  ): HeldFile | undefined {
    const fs = this.fs;
    const target = `${this.path}/${name}`;
    const temp = this.entry(tempName(name, writer));
    let held;
    try {
      fs.createFile(temp, `${value}\n`, FILE_MODE, this.#umaskKeeps);
      if (hold) held = fs.hold(temp);
    } catch (error) {
      removeQuietly(fs, temp);
      throw new StateError("write", target, error, errorCode(error));
    }
    try {
      fs.rename(temp, this.entry(name));
    } catch (error) {
      held?.close();
      removeQuietly(fs, temp);
      throw new StateError("replace", target, error, errorCode(error));
    }
    return held;
  }

  /**
   * Writes `value` over `name` in place: the last resort where it can be
   * neither replaced nor removed. Never through a link, never into a file
   * with another name.
   */
  overwrite(name: string, value: string): void {
    try {
      this.fs.overwrite(this.entry(name), value);
    } catch (error) {
      throw new StateError("write", `${this.path}/${name}`, error, errorCode(error));
    }
  }

  /** Removes `name`; one that is not there is fine. A directory there is a `StateError`. */
  remove(name: string): void {
    try {
      this.fs.unlink(this.entry(name));
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT") {
        throw new StateError(
          "remove",
          `${this.path}/${name}`,
          error,
          code === "EPERM" ? "EISDIR" : code,
        );
      }
    }
  }

  /** Reads a small regular file (never through a link, never waiting on a FIFO); `undefined` if none. */
  read(name: string, maxBytes = STATE_MAX_BYTES): string | undefined {
    try {
      return this.fs.readFile(this.entry(name), maxBytes);
    } catch {
      return undefined;
    }
  }

  /** The names in the directory. */
  list(): string[] {
    try {
      return this.fs.readDir(this.entry(""));
    } catch (error) {
      throw new StateError("list", this.path, error, errorCode(error));
    }
  }

  /** `lstat` of an entry, or `undefined`. */
  lstat(name: string): Entry | undefined {
    return lstat(this.runtime, this.entry(name));
  }

  /**
   * Removes the temporary files whose writers are provably gone (dead, or
   * their pid now another process's): regular files of ours only, so a
   * directory or a link named like one is left alone.
   */
  removeStaleTempFiles(): void {
    for (const name of this.list()) {
      const match = TEMP_FILE.exec(name) ?? OLD_TEMP_FILE.exec(name);
      if (!match) continue;
      const writer = parseIdentity(match[1], match[2] ?? "-");
      const kind = this.lstat(name)?.kind;
      // This process writes nothing while it loads: one of its names is a leftover.
      const stale = isThisProcess(this.runtime, writer) ||
        isRunning(this.runtime, writer) === false;
      if (!stale) continue;
      const path = this.entry(name);
      if (kind === "file") removeQuietly(this.fs, path);
      // A lock's temporary directory holds one file, named after its writer.
      else if (kind === "directory" && name.startsWith(".lock.")) {
        removeQuietly(this.fs, `${path}/owner.${identityName(writer)}`);
        removeDirectoryQuietly(this.fs, path);
      }
    }
  }

  /** Closes the directory. */
  close(): void {
    try {
      this.fs.close(this.fd);
    } catch {
      // Already closed.
    }
  }
}

/**
 * Whether this process's umask (the `Umask:` line of `/proc/self/status`)
 * takes no bit off `mode`: then files need no `fchmod`, one system call
 * less for each `set()`. Unknown: `false`.
 */
function umaskKeeps(runtime: Runtime, mode: number): boolean {
  try {
    const head = runtime.readHead("/proc/self/status", 4096);
    const match = head.kind === "file" ? /^Umask:\s*([0-7]{4})$/m.exec(head.text) : null;
    return match !== null && (parseInt(match[1], 8) & mode) === 0;
  } catch {
    return false; // no /proc
  }
}

function lstat(runtime: Runtime, path: string): Entry | undefined {
  try {
    return writerFs(runtime).lstat(path);
  } catch (error) {
    throw new StateError("open", path, error, errorCode(error));
  }
}

/**
 * The real path of the unit directory `path` (that `identity` describes)
 * when no other user can swap a directory on the way to it: every
 * directory above it belongs to root or to this user and is not writable by
 * others, or is sticky (others cannot rename what is not theirs). There the
 * path is as safe as the descriptor and cheaper to use; elsewhere (an
 * `emptyDir` is world-writable and not sticky) `undefined`.
 */
function unswappable(runtime: Runtime, path: string, identity: Entry): string | undefined {
  const fs = writerFs(runtime);
  const euid = runtime.euid();
  if (euid === undefined || (identity.uid !== 0 && identity.uid !== euid)) return undefined;
  const real = fs.realpath(path);
  const found = fs.lstat(real);
  if (found?.kind !== "directory" || !sameFile(found, identity)) return undefined;
  const parts = real.split("/").filter(Boolean);
  for (let depth = 0; depth < parts.length; depth++) {
    const above = fs.lstat(`/${parts.slice(0, depth).join("/")}`);
    if (above?.kind !== "directory" || (above.uid !== 0 && above.uid !== euid)) return undefined;
    const othersWrite = (above.mode & 0o022) !== 0;
    if (othersWrite && (above.mode & 0o1000) === 0) return undefined;
  }
  return real;
}

/** Whether the directory can be reached through `/proc/self/fd`. */
function reachable(runtime: Runtime, via: string): boolean {
  try {
    return writerFs(runtime).lstat(via)?.kind === "link";
  } catch {
    return false; // no /proc, or Deno without --allow-all
  }
}

/** Opens the directory `path`, refusing a link (`O_NOFOLLOW`) put there since it was looked at. */
function openDirectory(runtime: Runtime, path: string, operation: "open" | "create"): number {
  try {
    return writerFs(runtime).openDirectory(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ELOOP" || code === "ENOTDIR") throw notOurs(path, lstat(runtime, path));
    throw new StateError(operation, path, error, code);
  }
}

/** A `StateError` for something at `path` that is not a directory of ours. */
function notOurs(path: string, found: Entry | undefined): StateError {
  const what = found?.kind === "link" ? "is a symbolic link" : "is not a directory";
  return new StateError(
    "open",
    path,
    `${what}, not a unit directory`,
    found?.kind === "link" ? "ELOOP" : "ENOTDIR",
  );
}

/**
 * Creates `path` and the missing directories above it, each with mode 0755.
 * The mode is set, where the umask took bits off it, through a descriptor
 * of the new directory, and only when it is this user's: never by a path
 * another user could have swapped, never on a directory made by another.
 */
function makeDirectories(runtime: Runtime, path: string, parents = true): void {
  const fs = writerFs(runtime);
  try {
    fs.mkdir(path, DIR_MODE);
  } catch (error) {
    const code = errorCode(error);
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (code === "ENOENT" && parent !== "" && parents) {
      makeDirectories(runtime, parent);
      return makeDirectories(runtime, path, false);
    }
    if (code !== "EEXIST") throw new StateError("create", path, error, code);
    return; // made by another process meanwhile
  }
  const fd = openDirectory(runtime, path, "create");
  try {
    const made = fs.fstat(fd);
    if (made.mode !== DIR_MODE && made.uid === runtime.euid()) fs.fchmod(fd, DIR_MODE);
  } catch (error) {
    throw new StateError("create", path, error, errorCode(error));
  } finally {
    fs.close(fd);
  }
}

/** Removes `path` if it can; for clean-ups after a failure that is already being reported. */
export function removeQuietly(fs: StateFs, path: string): void {
  try {
    fs.unlink(path);
  } catch {
    // Nothing was created, or it is already gone.
  }
}

/** Removes the empty directory `path` if it can. */
export function removeDirectoryQuietly(fs: StateFs, path: string): void {
  try {
    fs.rmdir(path);
  } catch {
    // Not empty (taken by another process), or already gone.
  }
}

/** The owner `dir`'s state names: its pid and start time files; `undefined` without a valid pid. */
export function readOwner(dir: UnitDirectory): Identity | undefined {
  const pid = parseNumberFile(dir, PID_FILE);
  if (pid === undefined) return undefined;
  return { pid: Number(pid), starttime: parseNumberFile(dir, STARTTIME_FILE) };
}

function parseNumberFile(dir: UnitDirectory, name: string): string | undefined {
  const text = dir.read(name, STATE_MAX_BYTES + 1);
  return text === undefined || text.length > STATE_MAX_BYTES
    ? undefined
    : parseStateNumber(text, false);
}

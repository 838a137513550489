/**
 * The one interface through which the library reaches the runtime: process
 * facts, the environment, the few file operations the state needs, and the
 * writer's file operations ({@linkcode StateFs}).
 *
 * Implementations: `_deno.ts` (`Deno.*`), `_node.ts` (`node:` built-ins) and
 * `_bun.ts` (Node's, with a probe's reads through libc). `_current.ts` picks
 * one at import time. Only the chosen one touches its runtime: on Deno no
 * `node:` module loads for a probe, which would cost it tens of
 * milliseconds: the state writer's `fs` loads `node:fs` on first use. Errors
 * thrown by an implementation carry the POSIX `code` (`ENOENT`, `EEXIST`,
 * `EACCES`, ...) where the runtime gives one. How a file is read, on every
 * runtime, is `_read.ts`.
 *
 * @module
 */

import type * as Fs from "node:fs";

/**
 * What {@linkcode Runtime.readHead} found at a path: the type `lstat` gives
 * (a symbolic link is never followed), or a regular file's first bytes.
 * `text` holds one character per byte (Latin-1), as bash sees them.
 */
export type FileHead =
  | { readonly kind: "file"; readonly text: string; readonly truncated: boolean }
  | { readonly kind: "missing" | "link" | "directory" | "other" };

/** Everything the core needs from Deno, Node or Bun. */
export interface Runtime {
  /** The id of this process. */
  readonly pid: number;
  /** The host name (in a Kubernetes pod: the pod's name). */
  hostname(): string;
  /** An environment variable, or `undefined` when it is not set. */
  env(name: string): string | undefined;
  /** The current working directory. */
  cwd(): string;
  /**
   * `node:fs`, loaded on first use (on Deno, its Node layer): the state
   * writer's file operations need its open flags; a probe never loads it.
   */
  nodeFs(): typeof Fs;
  /** The writer's file operations, where a test replaces them (see `writerFs()`). */
  readonly stateFs?: StateFs;
  /** The runtime's own {@linkcode StateFs.hold}, where it is cheaper than `node:fs`'s. */
  holdFile?(path: string): HeldFile;
  /**
   * The system's uptime in seconds, never more than `/proc/uptime` shows (a
   * clock of whole seconds rounded up gives one second less), for where
   * `/proc/uptime` cannot be read; `undefined` if unknown.
   */
  osUptime(): number | undefined;
  /**
   * Whether a process with this pid exists (`kill(pid, 0)`), for systems
   * without `/proc`; `undefined` where the runtime may not ask.
   */
  processExists(pid: number): boolean | undefined;
  /** The effective user id, where the runtime tells. */
  euid(): number | undefined;
  /**
   * Calls `listener` on `signal`, one of {@linkcode CATCHABLE_SIGNALS}
   * (checked by the caller: each runtime refuses other names differently, or
   * not at all); returns what removes it. Never keeps the program alive.
   */
  onSignal(signal: string, listener: () => void): () => void;
  /**
   * A monotonic clock in milliseconds, from an arbitrary origin: a wall
   * clock stepped (NTP, `date`) does not move it, and it stops while the
   * system is suspended (so it never runs ahead of the uptime).
   */
  now(): number;
  /** Lets the program exit while `timer` (from `setTimeout`/`setInterval`) is pending. */
  unrefTimer(timer: unknown): void;
  /** Ends the process now with `code`. */
  exit(code: number): never;
  /**
   * Reads at most `maxBytes` of a regular file: `lstat` first (its type is
   * the answer for anything but a regular file), then an open that does not
   * block where the runtime has one (Node, Bun: `O_NONBLOCK`, `O_NOFOLLOW`;
   * see `readHeadWith()` in `_read.ts`), then `fstat` to check that the
   * file opened is the one `lstat` saw. On Deno a FIFO swapped in between
   * `lstat` and the open blocks the open.
   */
  readHead(path: string, maxBytes: number): FileHead;
  /**
   * {@linkcode readHead} for runtimes whose only open may block (Deno): the
   * open runs under a deadline, and an open still blocked then is abandoned
   * (the error of `openBlocked()` in `_read.ts`). It keeps the process up:
   * the command ends with {@linkcode Runtime.exit}.
   */
  readHeadAsync?(path: string, maxBytes: number): Promise<FileHead>;
  /** The command line after the script, for a command-line entry. */
  args(): string[];
  /** Writes `text` to standard output, synchronously. */
  writeOut(text: string): void;
  /**
   * Whether the module `meta` belongs to is the program's main script.
   * Where `import.meta.main` is missing (Node 20), the script's real path
   * tells: an npm bin is a symbolic link to the module.
   */
  isMain(meta: { url: string; main?: boolean }): boolean;
  /** Removes `name` from the environment, for this process and the children it starts. */
  unsetEnv?(name: string): void;
  /**
   * A sender to systemd's notify socket at `address` (`/path`, or `@name`
   * for an abstract socket, checked by the caller), opened at its first
   * message; see `_notify_socket.ts`.
   */
  notifySocket?(address: string): NotifySocket;
}

/**
 * Where the messages of systemd's notify protocol go: one datagram each.
 * `send` never blocks the event loop; what fails is thrown, or given to
 * `onError` when it fails later (a helper process).
 */
export interface NotifySocket {
  /** Sends `message` (`VARIABLE=value` lines) as one datagram. */
  send(message: string, onError: (error: unknown) => void): void;
  /** Closes the socket, once what was sent is delivered (within a second on Node). */
  close(): Promise<void>;
}

/**
 * The signals a program can handle alike on Deno, Bun and Node, on Linux and
 * macOS. Not SIGKILL and SIGSTOP (no process can catch them), nor SIGILL,
 * SIGFPE and SIGSEGV (a fault of the process itself: Deno refuses them),
 * nor names only Linux has (SIGPWR, SIGSTKFLT) or aliases.
 */
export const CATCHABLE_SIGNALS: readonly string[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGUSR1",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGCHLD",
  "SIGCONT",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGSYS",
];

/** The POSIX code of an error thrown by a {@linkcode Runtime}, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === "string") return code;
  return isPermissionDenied(error) ? "EACCES" : undefined;
}

/** Whether `error` is Deno's refusal for want of a permission: it has no code, only a class name. */
export function isPermissionDenied(error: unknown): boolean {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return name === "NotCapable" || name === "PermissionDenied";
}

/** Where a file read by {@linkcode Runtime.readHead} lives: its device and inode. */
export interface FileIdentity {
  readonly dev: number | bigint | null;
  readonly ino: number | bigint | null;
}

/** The type and identity of a file, as `lstat` or `fstat` tell them. */
export interface FileInfo extends FileIdentity {
  readonly kind: "file" | "link" | "directory" | "other";
}

/**
 * What reading a file needs once it is open, whatever the runtime's handle
 * of an open file; each throws an error with the POSIX `code` when it fails.
 */
export interface FileReads<Handle> {
  /** What is at `path`, a last symbolic link not followed. */
  lstat(path: string): FileInfo;
  fstat(handle: Handle): FileInfo;
  /** Fills `buffer` from the file; how many bytes it read (0 or `null` at the end). */
  read(handle: Handle, buffer: Uint8Array): number | null;
  close(handle: Handle): void;
}

/** {@linkcode FileReads} with an open that does not block, as Node and Bun have. */
export interface FileOps extends FileReads<number> {
  /** A descriptor of `path` to read, opened with `O_NONBLOCK | O_NOFOLLOW`, closed on exec. */
  open(path: string): number;
}

/** Whether `a` and `b` are the same file (where the runtime tells inodes). */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** What a path or descriptor is, as the writer's `lstat`/`fstat` tell. */
export interface Entry extends FileInfo {
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  readonly uid: number;
  /** Permission bits. */
  readonly mode: number;
  readonly mtimeMs: number;
}

/** A file held open: its link count tells whether it still has a name. */
export interface HeldFile {
  links(): number;
  close(): void;
}

/** The writer's file operations. Errors carry the POSIX `code`. */
export interface StateFs {
  /** `lstat(path)`, or `undefined` when nothing is there. */
  lstat(path: string): Entry | undefined;
  /** `fstat(fd)`. */
  fstat(fd: number): Entry;
  /** Creates one directory with `mode` (less the umask); `EEXIST` when something is there. */
  mkdir(path: string, mode: number): void;
  /** Sets the mode of an open file or directory: never by a path another user could swap. */
  fchmod(fd: number, mode: number): void;
  /** Opens a directory, refusing a symbolic link (`ELOOP`/`ENOTDIR`). */
  openDirectory(path: string): number;
  /**
   * Creates a new file (`O_EXCL`: never an existing one, nor through a
   * link) with `data` and exactly `mode`: set on the descriptor, unless
   * `umaskKeeps` says the umask takes no bit off it.
   */
  createFile(path: string, data: string, mode: number, umaskKeeps?: boolean): void;
  /** Holds the file at `path` open, to ask later how many names it has (0: removed or replaced). */
  hold(path: string): HeldFile;
  /**
   * Writes `data` over an existing regular file in place (truncating it),
   * never through a link and never into a file with another name
   * (`EMLINK` when it has more than one link, `ELOOP` for a symbolic link).
   * Not atomic: a last resort.
   */
  overwrite(path: string, data: string): void;
  /** Reads at most `maxBytes` of a regular file, never through a link nor waiting on a FIFO. */
  readFile(path: string, maxBytes: number): string | undefined;
  rename(from: string, to: string): void;
  /** Removes a file or link; `EISDIR`/`EPERM` for a directory. */
  unlink(path: string): void;
  /** Removes an empty directory. */
  rmdir(path: string): void;
  readDir(path: string): string[];
  /** The path with every link resolved. */
  realpath(path: string): string;
  close(fd: number): void;
}

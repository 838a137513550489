/**
 * The one interface through which the library reaches the runtime: process
 * facts, the environment and the few file operations the state needs.
 *
 * Implementations: `_runtime_deno.ts` (`Deno.*`), `_runtime_node.ts`
 * (`node:` built-ins) and `_runtime_bun.ts` (Node's, with a probe's reads
 * through libc). `_runtime_current.ts` picks one at import time. Only the chosen one touches its runtime: on Deno no `node:`
 * module loads for a probe, which would cost it tens of milliseconds: the
 * state writer's `fs` loads `node:fs` on first use. Errors thrown by an
 * implementation carry the POSIX `code` (`ENOENT`, `EEXIST`, `EACCES`, ...)
 * where the runtime gives one.
 *
 * @module
 */

import type * as Fs from "node:fs";
import type { HeldFile, StateFs } from "./_state_fs.ts";

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
  /** Lets the program exit while `timer` (from `setTimeout`/`setInterval`) is pending. */
  unrefTimer(timer: unknown): void;
  /** Ends the process now with `code`. */
  exit(code: number): never;
  /**
   * Reads at most `maxBytes` of a regular file: `lstat` first (its type is
   * the answer for anything but a regular file), then an open that does not
   * block where the runtime has one (Node, Bun: `O_NONBLOCK`, `O_NOFOLLOW`;
   * see {@linkcode readHeadWith}),
   * then `fstat` to check that the file opened is the one `lstat` saw. On
   * Deno a FIFO swapped in between `lstat` and the open blocks the open.
   */
  readHead(path: string, maxBytes: number): FileHead;
  /**
   * {@linkcode readHead} for runtimes whose only open may block (Deno): the
   * open runs under a deadline, and an open still blocked then is abandoned
   * (the error of {@linkcode openBlocked}). It keeps the process up: the
   * command ends with {@linkcode Runtime.exit}.
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
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === "string") return code;
  // Deno's permission errors have no code, only a class name.
  return name === "NotCapable" || name === "PermissionDenied" ? "EACCES" : undefined;
}

/**
 * Reads a regular file's first `maxBytes` (`Infinity`: all of it) through
 * `read`, which fills the buffer it is given and returns how many bytes it
 * read (0 or `null` at the end). One byte more is read to tell whether the
 * file is longer. The buffer grows as the file does: a state file is a few
 * bytes, a command line may be megabytes.
 */
export function readFileHead(
  read: (buffer: Uint8Array) => number | null,
  maxBytes: number,
): FileHead {
  let buffer = new Uint8Array(Math.min(maxBytes + 1, FIRST_READ_BYTES));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) break;
      const grown = new Uint8Array(Math.min(maxBytes + 1, length * 2));
      grown.set(buffer);
      buffer = grown;
    }
    const count = read(buffer.subarray(length));
    if (!count) break;
    length += count;
  }
  return fileHead(buffer.subarray(0, length), maxBytes);
}

/** The first buffer of {@linkcode readFileHead}: any state or `/proc` file the probes read fits. */
const FIRST_READ_BYTES = 8192;

/** The head of a file whose first `bytes` were read: `truncated` when there are more than `maxBytes`. */
export function fileHead(bytes: Uint8Array, maxBytes: number): FileHead {
  return {
    kind: "file",
    text: latin1(bytes.subarray(0, maxBytes)),
    truncated: bytes.length > maxBytes,
  };
}

/**
 * One character per byte (U+0000 to U+00FF), as bash reads a file: a
 * byte-order mark stays, a byte that is not UTF-8 stays one character. Not
 * a TextDecoder: its "latin1" is windows-1252, and making one costs Deno a
 * share of a probe.
 */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += LATIN1_CHUNK) {
    // apply, not a spread: spreading a Uint8Array iterates it, which costs Bun ~5 ms.
    const chunk = bytes.subarray(at, at + LATIN1_CHUNK) as unknown as number[];
    text += String.fromCharCode.apply(null, chunk);
  }
  return text;
}

/** Bytes per `String.fromCharCode` call: well under any runtime's limit on arguments. */
const LATIN1_CHUNK = 8192;

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

/**
 * The kernel's own files that the library and the probes read in `/proc`:
 * never a FIFO nor a link to swap in (a link on the way, such as
 * `/proc/self`, is no last component), so no `lstat` is needed before their
 * open. Any other path under `/proc` is a user's (`/proc/self/root/run`
 * leads to `/run`) and gets every check.
 */
const KERNEL_FILE =
  /^\/proc\/(?:uptime|sys\/kernel\/pid_max|[1-9][0-9]*|(?:self|[1-9][0-9]*)\/(?:stat|status|cmdline))$/;

/** Whether `path` is one of the kernel's files in `/proc` a probe reads (see {@linkcode KERNEL_FILE}). */
export function isKernelFile(path: string): boolean {
  return KERNEL_FILE.test(path);
}

/** What an open gave: the handle, or what it threw. */
export type Opened<Handle> = { readonly handle: Handle } | { readonly error: unknown };

/** What `open` gives, or what it throws, as an {@linkcode Opened}. */
export function openedBy<Handle>(open: () => Handle): Opened<Handle> {
  try {
    return { handle: open() };
  } catch (error) {
    return { error };
  }
}

/**
 * One {@linkcode Runtime.readHead}, as steps, for a synchronous open and for
 * one under a deadline alike: `lstat` (its type is the answer for anything
 * but a regular file; skipped for {@linkcode isKernelFile}), then the open
 * of the path it yields (it is given what the open gave), then `fstat` to
 * check that the file opened is the one `lstat` saw (a writer's rename in
 * between: look again), then the read.
 */
export function* readSteps<Handle>(
  reads: FileReads<Handle>,
  path: string,
  maxBytes: number,
): Generator<string, FileHead, Opened<Handle>> {
  for (let attempt = 1;; attempt++) {
    let seen: FileInfo | undefined;
    if (!isKernelFile(path)) {
      try {
        seen = reads.lstat(path);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return { kind: "missing" };
        throw error;
      }
      if (seen.kind !== "file") return { kind: seen.kind };
    }
    // Node and Bun open with O_NONBLOCK (a FIFO swapped in since the lstat
    // must not hang the probe) and O_NOFOLLOW (nor may a link lead
    // elsewhere); Deno's open has a deadline instead, and follows links.
    const opened = yield path;
    if ("error" in opened) {
      const code = errorCode(opened.error);
      if (code === "ENOENT" && attempt < READ_ATTEMPTS) continue;
      if (code === "ENOENT") return { kind: "missing" };
      if (code === "ELOOP") return { kind: "link" };
      // A socket swapped in cannot be opened (ENXIO): no regular file.
      if (code === "ENXIO") return { kind: "other" };
      if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "ETIMEDOUT") {
        throw openBlocked(path, opened.error);
      }
      throw opened.error;
    }
    const { handle } = opened;
    try {
      const info = reads.fstat(handle);
      if (seen && !sameFile(info, seen)) {
        if (attempt < READ_ATTEMPTS) continue;
        // Where the open follows links (Deno), it may be a link's target: never read it.
        throw Object.assign(
          new Error(`Cannot read ${path}: replaced on each of ${READ_ATTEMPTS} attempts`),
          { code: "EAGAIN" },
        );
      }
      if (info.kind !== "file") return { kind: info.kind === "link" ? "other" : info.kind };
      return readFileHead((buffer) => reads.read(handle, buffer), maxBytes);
    } finally {
      reads.close(handle);
    }
  }
}

/** {@linkcode Runtime.readHead} on a runtime whose open does not block (Node, Bun). */
export function readHeadWith(ops: FileOps, path: string, maxBytes: number): FileHead {
  return runSteps(readSteps(ops, path, maxBytes), (path) => openedBy(() => ops.open(path)));
}

/**
 * Runs `steps` to the end, giving each request (a file to read, a path to
 * open) what `answer` makes of it, and returns what they return. With
 * {@linkcode runStepsAsync}, one sequence of steps serves a synchronous and
 * an asynchronous reader.
 */
export function runSteps<Request, Answer, Result>(
  steps: Generator<Request, Result, Answer>,
  answer: (request: Request) => Answer,
): Result {
  let step = steps.next();
  while (!step.done) step = steps.next(answer(step.value));
  return step.value;
}

/** {@linkcode runSteps} with an asynchronous `answer`. */
export async function runStepsAsync<Request, Answer, Result>(
  steps: Generator<Request, Result, Answer>,
  answer: (request: Request) => Promise<Answer>,
): Promise<Result> {
  let step = steps.next();
  while (!step.done) step = steps.next(await answer(step.value));
  return step.value;
}

const encoder = new TextEncoder();

/** Writes all of `text` with `write`, which may take only part of what it is given. */
export function writeAll(write: (bytes: Uint8Array) => number, text: string): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) done += write(bytes.subarray(done));
}

/** Whether `a` and `b` are the same file (where the runtime tells inodes). */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * This process's command line as the kernel passed it: the arguments of
 * `/proc/self/cmdline`, read whole, one character per byte (a byte that is
 * not UTF-8 stays itself, where the runtime's own arguments hold U+FFFD).
 * `undefined` where it cannot be read.
 */
export function ownCommandLine(runtime: Pick<Runtime, "readHead">): string[] | undefined {
  try {
    const head = runtime.readHead("/proc/self/cmdline", Infinity);
    if (head.kind !== "file") return undefined;
    const args = head.text.split("\0");
    if (args.at(-1) === "") args.pop();
    return args;
  } catch {
    return undefined;
  }
}

/**
 * The error of an open that would block, in the same words on every
 * runtime: Node's and Bun's open (`O_NONBLOCK`) of a file on which another
 * process holds a lease fails at once (`EAGAIN`); Deno's gives up at its
 * deadline (`ETIMEDOUT`), which a FIFO swapped in can also make it reach.
 */
export function openBlocked(path: string, cause?: unknown): Error {
  return Object.assign(
    new Error(`Cannot open ${path}: the open blocks (a lease held on it, or a FIFO swapped in?)`, {
      cause,
    }),
    { code: "EWOULDBLOCK" },
  );
}

/** How often a read starts over when the file was replaced between `lstat` and the open. */
export const READ_ATTEMPTS = 3;

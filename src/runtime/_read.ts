/**
 * How a file is read on every runtime: one sequence of steps (`lstat`, an
 * open that does not block or one under a deadline, `fstat`, the read) over
 * whatever handle the runtime's open gives, driven synchronously or
 * asynchronously; and what the runtimes share around it: a file's head as
 * text, this process's command line, a write of all of a text.
 *
 * @module
 */
import {
  errorCode,
  type FileHead,
  type FileInfo,
  type FileOps,
  type FileReads,
  type Runtime,
  sameFile,
} from "./_runtime.ts";

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

/**
 * This process's command line as the kernel passed it: the arguments of
 * `/proc/self/cmdline`, read whole, one character per byte (a byte that is
 * not UTF-8 stays itself, where the runtime's own arguments hold U+FFFD).
 * `undefined` where it cannot be read. Read once per runtime: Bun's
 * arguments and the command's usage line both ask for it.
 */
export function ownCommandLine(runtime: Pick<Runtime, "readHead">): readonly string[] | undefined {
  if (!commandLines.has(runtime)) commandLines.set(runtime, readCommandLine(runtime));
  return commandLines.get(runtime);
}

const commandLines = new WeakMap<object, readonly string[] | undefined>();

function readCommandLine(runtime: Pick<Runtime, "readHead">): string[] | undefined {
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

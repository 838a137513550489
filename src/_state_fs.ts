/**
 * The file operations of the state writer, on `node:fs`, which Deno, Bun and
 * Node all have: it alone offers the open flags that make writing safe in a
 * directory others can touch (`O_NOFOLLOW`, `O_DIRECTORY`, `O_NONBLOCK`) and
 * modes set on a descriptor (`fchmod`). Only the writer loads it: the probes
 * read through the runtime's own calls.
 *
 * @module
 */
import type * as Fs from "node:fs";
import type { Runtime } from "./_runtime.ts";

/** What a path or descriptor is, as `lstat`/`fstat` tell. */
export interface Entry {
  readonly kind: "file" | "directory" | "symlink" | "other";
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

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** The {@linkcode StateFs} on `node:fs`. */
export function nodeStateFs(fs: typeof Fs): StateFs {
  const {
    O_RDONLY,
    O_WRONLY,
    O_CREAT,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_DIRECTORY,
  } = fs.constants;
  const entry = (stat: Fs.Stats): Entry => ({
    kind: stat.isFile()
      ? "file"
      : stat.isDirectory()
      ? "directory"
      : stat.isSymbolicLink()
      ? "symlink"
      : "other",
    dev: stat.dev,
    ino: stat.ino,
    nlink: stat.nlink,
    uid: stat.uid,
    mode: stat.mode & 0o7777,
    mtimeMs: stat.mtimeMs,
  });
  const writeAll = (fd: number, data: string) => {
    const bytes = encoder.encode(data);
    for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done);
  };
  const openDirectory = (path: string) => fs.openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  return {
    lstat(path) {
      const stat = fs.lstatSync(path, { throwIfNoEntry: false });
      return stat && entry(stat);
    },
    fstat: (fd) => entry(fs.fstatSync(fd)),
    mkdir: (path, mode) => fs.mkdirSync(path, { mode }),
    fchmod: (fd, mode) => fs.fchmodSync(fd, mode),
    openDirectory,
    createFile(path, data, mode, umaskKeeps = false) {
      const fd = fs.openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      try {
        if (!umaskKeeps) fs.fchmodSync(fd, mode); // the umask may have taken bits off `mode`
        writeAll(fd, data);
      } finally {
        fs.closeSync(fd);
      }
    },
    hold(path) {
      const fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      return { links: () => fs.fstatSync(fd).nlink, close: () => fs.closeSync(fd) };
    },
    overwrite(path, data) {
      // O_NONBLOCK: a FIFO put there must not hang the program.
      const fd = fs.openSync(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
      try {
        const stat = fs.fstatSync(fd);
        if (!stat.isFile()) throw systemError("EISDIR", `${path} is not a regular file`);
        if (stat.nlink !== 1) throw systemError("EMLINK", `${path} has another name`);
        fs.ftruncateSync(fd, 0);
        writeAll(fd, data);
      } finally {
        fs.closeSync(fd);
      }
    },
    readFile(path, maxBytes) {
      let fd;
      try {
        fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ENOENT" || code === "ELOOP" || code === "ENXIO") return undefined;
        throw error;
      }
      try {
        if (!fs.fstatSync(fd).isFile()) return undefined;
        const buffer = new Uint8Array(maxBytes);
        let length = 0;
        while (length < maxBytes) {
          const count = fs.readSync(fd, buffer, length, maxBytes - length, null);
          if (count === 0) break;
          length += count;
        }
        return decoder.decode(buffer.subarray(0, length));
      } finally {
        fs.closeSync(fd);
      }
    },
    rename: (from, to) => fs.renameSync(from, to),
    unlink(path) {
      // Deno's unlinkSync also removes an empty directory; unlink(2) does not.
      if (fs.lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) {
        throw systemError("EISDIR", `${path} is a directory`);
      }
      fs.unlinkSync(path);
    },
    rmdir: (path) => fs.rmdirSync(path),
    readDir: (path) => fs.readdirSync(path),
    realpath: (path) => fs.realpathSync(path),
    close: (fd) => fs.closeSync(fd),
  };
}

/** An error shaped like the runtime's: a message and a POSIX code. */
export function systemError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

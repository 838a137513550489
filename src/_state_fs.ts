/**
 * The file operations of the state writer, on `node:fs`, which Deno, Bun and
 * Node all have: it alone offers the open flags that make writing safe in a
 * directory others can touch (`O_NOFOLLOW`, `O_DIRECTORY`, `O_NONBLOCK`) and
 * modes set on a descriptor (`fchmod`). Only the writer loads it: the probes
 * read through the runtime's own calls. The interface it implements,
 * {@linkcode StateFs}, is the runtime's (`runtime/_runtime.ts`), where a test
 * puts a faulty one.
 *
 * @module
 */
import type * as Fs from "node:fs";
import type { Entry, StateFs } from "./runtime/_runtime.ts";
import { writeAll } from "./runtime/_read.ts";

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
      ? "link"
      : "other",
    dev: stat.dev,
    ino: stat.ino,
    nlink: stat.nlink,
    uid: stat.uid,
    mode: stat.mode & 0o7777,
    mtimeMs: stat.mtimeMs,
  });
  const write = (fd: number, data: string) => writeAll((bytes) => fs.writeSync(fd, bytes), data);
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
        write(fd, data);
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
        write(fd, data);
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

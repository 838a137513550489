/**
 * The {@linkcode Runtime} on Bun: Node's, with the reads and the one write
 * a probe makes done through libc (`bun:ffi`) rather than `node:fs`, whose
 * loading costs Bun about 9 ms, a third of its start; a probe starts Bun
 * each time. The reads are the same system calls with the same flags
 * (`lstat`, an open with `O_NONBLOCK | O_NOFOLLOW`, `fstat`, `read`), and
 * their errors carry the same POSIX codes. Where libc cannot be reached so
 * (not glibc, not x86-64 or arm64, no `statx`, `bun:ffi` refused), Node's
 * reads serve.
 *
 * @module
 */
import type { FileInfo, FileOps, Runtime } from "./_runtime.ts";
import { readHeadWith, writeAll } from "./_read.ts";
import { type NodeProcess, nodeRuntime } from "./_node.ts";

/** The part of `bun:ffi` used here, typed here so that no Bun types are needed to compile. */
interface BunFfi {
  dlopen<T extends Record<string, { args: number[]; returns: number }>>(
    path: string,
    symbols: T,
  ): { symbols: { [K in keyof T]: (...args: unknown[]) => number | bigint } };
  read: { i32(pointer: number | bigint, offset?: number): number };
  FFIType: Record<"i32" | "u32" | "u64" | "ptr" | "cstring", number>;
}

/** Bun's runtime: {@linkcode nodeRuntime} with libc's reads where it can have them. */
export function bunRuntime(process: NodeProcess): Runtime {
  const node = nodeRuntime(process);
  // Bound on first use: a program that never probes pays nothing for it.
  let bound: Libc | null | undefined;
  const libc = () => bound === undefined ? (bound = libcFiles(process) ?? null) : bound;
  return {
    ...node,
    osUptime() {
      // Linux's sysinfo(), as Deno's: whole seconds, rounded up (Node's reads /proc/uptime).
      const seconds = node.osUptime();
      return seconds === undefined ? undefined : Math.max(0, seconds - 1);
    },
    readHead(path, maxBytes) {
      const files = libc()?.files;
      return files ? readHeadWith(files, path, maxBytes) : node.readHead(path, maxBytes);
    },
    writeOut(text) {
      const bound = libc();
      if (bound) writeAll((bytes) => bound.write(1, bytes), text);
      else node.writeOut(text);
    },
  };
}

/** What libc gives Bun's runtime: the reads, and a write to a descriptor. */
interface Libc {
  readonly files: FileOps;
  write(fd: number, bytes: Uint8Array): number;
}

/** The open flags and `statx` constants, by architecture (the flags differ). */
const ARCHES: Record<string, { O_NOFOLLOW: number }> = {
  x64: { O_NOFOLLOW: 0o400000 },
  arm64: { O_NOFOLLOW: 0o100000 },
};
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
/** STATX_TYPE | STATX_INO: what the reads need (the device comes with every statx). */
const STATX_MASK = 0x1 | 0x100;
/** `struct statx`, the same on every architecture: where its fields are, and its size. */
const STATX = { mode: 28, ino: 32, devMajor: 136, devMinor: 140, size: 256 };
const S_IFMT = 0o170000;
const KINDS: Record<number, FileInfo["kind"]> = {
  0o100000: "file",
  0o120000: "link",
  0o040000: "directory",
};
/** Linux errno numbers (the same on x86-64 and arm64) and their codes. */
const CODES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  75: "EOVERFLOW",
};

/**
 * Files through libc, or `undefined` where they cannot be had. Linux only:
 * elsewhere a `libc.so.6` in the working directory could be what loads.
 */
export function libcFiles(
  process: NodeProcess & { arch?: string; platform?: string },
): Libc | undefined {
  const arch = ARCHES[process.arch ?? ""];
  if (!arch || process.platform !== "linux") return undefined;
  let ffi: BunFfi;
  let libc;
  try {
    ffi = (process.getBuiltinModule as unknown as (id: "bun:ffi") => BunFfi)("bun:ffi");
    const { i32, u32, u64, ptr, cstring } = ffi.FFIType;
    libc = ffi.dlopen("libc.so.6", {
      open: { args: [cstring, i32], returns: i32 },
      // ssize_t, taken as i32 (counts here are far below 2 GiB): no BigInt
      // is made between a failed call and the look at errno.
      read: { args: [i32, ptr, u64], returns: i32 },
      write: { args: [i32, ptr, u64], returns: i32 },
      close: { args: [i32], returns: i32 },
      statx: { args: [i32, cstring, i32, u32, ptr], returns: i32 },
      __errno_location: { args: [], returns: ptr },
    }).symbols;
  } catch {
    return undefined; // no such library or symbol, or no bun:ffi
  }
  // errno is this thread's: its address stays, and nothing runs between a
  // failed call and the look at it that could make a system call.
  const errno = libc.__errno_location() as number;
  const fail = (call: string, path: string) => {
    const number = ffi.read.i32(errno);
    const code = CODES[number] ?? `E${number}`;
    return Object.assign(new Error(`${code}: ${call} '${path}' failed (errno ${number})`), {
      code,
      errno: -number,
    });
  };
  const encoder = new TextEncoder();
  const cString = (text: string) => {
    // As Node refuses it: libc would read the path only up to the NUL.
    if (text.includes("\0")) {
      throw Object.assign(new TypeError(`Cannot use a path with a NUL byte: ${text}`), {
        code: "ERR_INVALID_ARG_VALUE",
      });
    }
    return encoder.encode(`${text}\0`);
  };
  const buffer = new Uint8Array(STATX.size);
  const view = new DataView(buffer.buffer);
  const stat = (dirfd: number, path: string, flags: number, shown: string): FileInfo => {
    if (libc.statx(dirfd, cString(path), flags, STATX_MASK, buffer) !== 0) {
      throw fail("statx", shown);
    }
    return {
      kind: KINDS[view.getUint16(STATX.mode, true) & S_IFMT] ?? "other",
      dev: view.getUint32(STATX.devMajor, true) * 2 ** 32 + view.getUint32(STATX.devMinor, true),
      ino: view.getBigUint64(STATX.ino, true),
    };
  };
  const flags = O_NONBLOCK | arch.O_NOFOLLOW | O_CLOEXEC; // O_RDONLY is 0
  const files: FileOps = {
    lstat: (path) => stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, path),
    open(path) {
      const fd = libc.open(cString(path), flags) as number;
      if (fd < 0) throw fail("open", path);
      return fd;
    },
    fstat: (fd) => stat(fd, "", AT_EMPTY_PATH, `fd ${fd}`),
    read(fd, into) {
      const count = libc.read(fd, into, into.length) as number;
      if (count < 0) throw fail("read", `fd ${fd}`);
      return count;
    },
    close: (fd) => void libc.close(fd),
  };
  try {
    stat(AT_FDCWD, "/", 0, "/"); // a kernel or libc without statx: Node's reads
  } catch {
    return undefined;
  }
  return {
    files,
    write(fd, bytes) {
      const count = libc.write(fd, bytes, bytes.length) as number;
      if (count < 0) throw fail("write", `fd ${fd}`);
      return count;
    },
  };
}

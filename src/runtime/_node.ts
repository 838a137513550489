/**
 * The {@linkcode Runtime} on Node and Bun, built on `node:` built-ins.
 *
 * The built-ins come from `process.getBuiltinModule()` when this runtime is
 * chosen, not from static imports: Deno would load its whole Node layer for
 * them even where this file is never used.
 *
 * @module
 */
import type * as Fs from "node:fs";
import type * as Os from "node:os";
import type * as Url from "node:url";
import type { FileInfo, FileOps, Runtime } from "./_runtime.ts";
import { ownCommandLine, readHeadWith, writeAll } from "./_read.ts";

/** The part of Node's `process` this adapter uses. */
export interface NodeProcess {
  readonly pid: number;
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  readonly versions: { readonly bun?: string };
  hrtime(): [number, number];
  cwd(): string;
  kill(pid: number, signal: number): void;
  geteuid?(): number;
  on(signal: string, listener: () => void): void;
  off(signal: string, listener: () => void): void;
  exit(code: number): never;
  getBuiltinModule(id: "node:fs"): typeof Fs;
  getBuiltinModule(id: "node:os"): typeof Os;
  getBuiltinModule(id: "node:url"): typeof Url;
}

/** The type and identity `stat` tells. */
export function infoOf(stat: Fs.Stats | Fs.BigIntStats): FileInfo {
  const kind = stat.isFile()
    ? "file"
    : stat.isSymbolicLink()
    ? "link"
    : stat.isDirectory()
    ? "directory"
    : "other";
  return { kind, dev: stat.dev, ino: stat.ino };
}

/**
 * Whether `kill(pid, 0)` through `process` finds a process: `undefined`
 * where it may not ask.
 */
export function signalZero(process: Pick<NodeProcess, "kill">, pid: number): boolean | undefined {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === "ESRCH" ? false : code === "EPERM" ? true : undefined;
  }
}

/** The Node/Bun implementation of {@linkcode Runtime}. */
export function nodeRuntime(process: NodeProcess): Runtime {
  // Loaded on first use: Bun's runtime may read and write without it.
  let loaded: typeof Fs | undefined;
  const fs = () => loaded ??= process.getBuiltinModule("node:fs");
  const files: FileOps = {
    lstat: (path) => infoOf(fs().lstatSync(path)),
    open(path) {
      const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs().constants;
      return fs().openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW); // and close-on-exec
    },
    fstat: (fd) => infoOf(fs().fstatSync(fd)),
    read: (fd, buffer) => fs().readSync(fd, buffer),
    close: (fd) => fs().closeSync(fd),
  };
  return {
    pid: process.pid,
    hostname: () => process.getBuiltinModule("node:os").hostname(),
    env: (name) => process.env[name],
    cwd: () => process.cwd(),
    nodeFs: fs,
    // On Linux, libuv reads /proc/uptime (or CLOCK_BOOTTIME's whole seconds, rounded down).
    osUptime: () => process.getBuiltinModule("node:os").uptime(),
    processExists: (pid) => signalZero(process, pid),
    euid: () => process.geteuid?.(),
    onSignal(signal, listener) {
      process.on(signal, listener);
      return () => process.off(signal, listener);
    },
    // Not performance.now(): on Node 20 its first call loads perf_hooks (half a MiB, a millisecond).
    now() {
      const [seconds, nanoseconds] = process.hrtime();
      return seconds * 1000 + nanoseconds / 1e6;
    },
    unrefTimer: (timer) => (timer as { unref?: () => void }).unref?.(),
    exit: (code) => process.exit(code),
    readHead: (path, maxBytes) => readHeadWith(files, path, maxBytes),
    args() {
      const args = process.argv.slice(2);
      // Bun drops a `--` right after the script; /proc/self/cmdline keeps it.
      if (process.versions.bun === undefined) return args;
      const raw = ownCommandLine(this) ?? [];
      return raw.length > args.length && raw[raw.length - args.length - 1] === "--"
        ? ["--", ...args]
        : args;
    },
    // Not process.stdout: setting up its stream costs Bun about 10 ms.
    writeOut: (text) => writeAll((bytes) => fs().writeSync(1, bytes), text),
    unsetEnv: (name) => void delete process.env[name],
    isMain(meta) {
      if (typeof meta.main === "boolean") return meta.main;
      const script = process.argv[1];
      if (!script) return false;
      try {
        const { pathToFileURL } = process.getBuiltinModule("node:url");
        return meta.url === pathToFileURL(fs().realpathSync(script)).href;
      } catch {
        return false;
      }
    },
  };
}

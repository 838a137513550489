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
import {
  CMDLINE_MAX_BYTES,
  type FileHead,
  READ_ATTEMPTS,
  readFileHead,
  type Runtime,
  sameFile,
} from "./_runtime.ts";

/** The part of Node's `process` this adapter uses. */
export interface NodeProcess {
  readonly pid: number;
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  readonly versions: { readonly bun?: string };
  exitCode?: number | string | null | undefined;
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

const encoder = new TextEncoder();

/** The kind of file `stat` describes. */
function typeOf(stat: Fs.Stats): "file" | "link" | "directory" | "other" {
  return stat.isFile()
    ? "file"
    : stat.isSymbolicLink()
    ? "link"
    : stat.isDirectory()
    ? "directory"
    : "other";
}

/** The Node/Bun implementation of {@linkcode Runtime}. */
export function nodeRuntime(process: NodeProcess): Runtime {
  const fs = process.getBuiltinModule("node:fs");
  const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;
  const writeAll = (fd: number, text: string) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) {
      done += fs.writeSync(fd, bytes, done);
    }
  };
  return {
    pid: process.pid,
    hostname: () => process.getBuiltinModule("node:os").hostname(),
    env: (name) => process.env[name],
    cwd: () => process.cwd(),
    nodeFs: () => fs,
    osUptime: () => process.getBuiltinModule("node:os").uptime(),
    processExists(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        return code === "ESRCH" ? false : code === "EPERM" ? true : undefined;
      }
    },
    euid: () => process.geteuid?.(),
    onSignal(signal, listener) {
      process.on(signal, listener);
      return () => process.off(signal, listener);
    },
    unrefTimer: (timer) => (timer as { unref?: () => void }).unref?.(),
    exit: (code) => process.exit(code),
    readHead(path, maxBytes): FileHead {
      for (let attempt = 1;; attempt++) {
        // /proc holds no FIFO or link to swap in (a link on the way, such as
        // /proc/self, is no last component): there the open's fstat will do.
        let seen: Fs.Stats | undefined;
        if (!path.startsWith("/proc/")) {
          try {
            seen = fs.lstatSync(path);
          } catch (error) {
            if ((error as { code?: string }).code === "ENOENT") return { kind: "missing" };
            throw error;
          }
          const kind = typeOf(seen);
          if (kind !== "file") return { kind };
        }
        let fd: number;
        try {
          // O_NONBLOCK: a FIFO swapped in since the lstat must not hang the
          // probe; O_NOFOLLOW: nor may a link swapped in lead elsewhere.
          fd = fs.openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === "ENOENT" && attempt < READ_ATTEMPTS) continue;
          if (code === "ENOENT") return { kind: "missing" };
          if (code === "ELOOP") return { kind: "link" };
          // A socket swapped in cannot be opened (ENXIO): no regular file.
          if (code === "ENXIO") return { kind: "other" };
          throw error;
        }
        try {
          const opened = fs.fstatSync(fd);
          // Replaced since the lstat (a writer's rename): look again.
          if (seen && !sameFile(opened, seen) && attempt < READ_ATTEMPTS) continue;
          const now = typeOf(opened);
          if (now !== "file") return { kind: now === "link" ? "other" : now };
          return readFileHead((buffer) => fs.readSync(fd, buffer), maxBytes);
        } finally {
          fs.closeSync(fd);
        }
      }
    },
    args() {
      const args = process.argv.slice(2);
      // Bun drops a `--` right after the script; /proc/self/cmdline keeps it.
      if (process.versions.bun === undefined) return args;
      try {
        const head = this.readHead("/proc/self/cmdline", CMDLINE_MAX_BYTES);
        const raw = head.kind === "file" && !head.truncated ? head.text.split("\0") : [];
        if (raw.at(-1) === "") raw.pop();
        return raw.length > args.length && raw[raw.length - args.length - 1] === "--"
          ? ["--", ...args]
          : args;
      } catch {
        return args;
      }
    },
    // Not process.stdout: setting up its stream costs Bun about 10 ms.
    writeOut: (text) => writeAll(1, text),
    setExitCode(code) {
      process.exitCode = code;
    },
    isMain(meta) {
      if (typeof meta.main === "boolean") return meta.main;
      const script = process.argv[1];
      if (!script) return false;
      try {
        const { pathToFileURL } = process.getBuiltinModule("node:url");
        return meta.url === pathToFileURL(fs.realpathSync(script)).href;
      } catch {
        return false;
      }
    },
  };
}

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
import { type FileHead, readFileHead, type Runtime } from "./_runtime.ts";
import { nodeStateFs, type StateFs } from "./_state_fs.ts";

/** The part of Node's `process` this adapter uses. */
export interface NodeProcess {
  readonly pid: number;
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
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

/** The Node/Bun implementation of {@linkcode Runtime}. */
export function nodeRuntime(process: NodeProcess): Runtime {
  const fs = process.getBuiltinModule("node:fs");
  let stateFs: StateFs | undefined;
  const { O_RDONLY, O_NONBLOCK } = fs.constants;
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
    get fs() {
      return stateFs ??= nodeStateFs(fs);
    },
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
      let fd: number;
      try {
        // O_NONBLOCK: opening a FIFO with no writer must not hang the probe.
        fd = fs.openSync(path, O_RDONLY | O_NONBLOCK);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ENOENT") return { kind: "missing" };
        // A unix socket cannot be opened (nor can a device with nothing
        // behind it): it is no regular file, as Deno's stat() and bash say.
        if (code === "ENXIO") return { kind: "other" };
        throw error;
      }
      try {
        const stat = fs.fstatSync(fd);
        if (stat.isDirectory()) return { kind: "directory" };
        if (!stat.isFile()) return { kind: "other" };
        return readFileHead((buffer) => fs.readSync(fd, buffer), maxBytes);
      } finally {
        fs.closeSync(fd);
      }
    },
    args: () => process.argv.slice(2),
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

/**
 * The {@linkcode Runtime} on Deno, built on `Deno.*`.
 *
 * @module
 */
import type * as Fs from "node:fs";
import type { FileHead, FileInfo, FileReads, Runtime } from "./_runtime.ts";
import { type Opened, openedBy, readSteps, runSteps, runStepsAsync, writeAll } from "./_read.ts";
import { type NodeProcess, signalZero } from "./_node.ts";

/** The part of the `Deno` namespace this adapter uses, typed here so the npm build compiles without Deno's types. */
interface DenoFile {
  readSync(buffer: Uint8Array): number | null;
  writeSync(data: Uint8Array): number;
  statSync(): DenoFileInfo;
  close(): void;
}

/** See {@linkcode DenoFile}. */
interface DenoFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  dev: number;
  ino: number | null;
  nlink: number | null;
}

/** See {@linkcode DenoFile}. */
export interface DenoNamespace {
  readonly pid: number;
  hostname(): string;
  readonly env: { get(name: string): string | undefined; delete(name: string): void };
  cwd(): string;
  openSync(path: string, options: { read: true }): DenoFile;
  open(path: string, options: { read: true }): Promise<DenoFile>;
  lstatSync(path: string): DenoFileInfo;
  exit(code: number): never;
  osUptime(): number;
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  unrefTimer(id: number): void;
  readonly args: string[];
  readonly stdout: { writeSync(data: Uint8Array): number };
}

/** Deno's Node layer, loaded only by the state writer and `processExists`. */
function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

function nodeFs(): typeof Fs {
  return nodeProcess().getBuiltinModule("node:fs");
}

/** The Deno implementation of {@linkcode Runtime}. */
export function denoRuntime(deno: DenoNamespace): Runtime {
  const files: FileReads<DenoFile> = {
    lstat: (path) => infoOf(deno.lstatSync(path)),
    fstat: (file) => infoOf(file.statSync()),
    read: (file, buffer) => file.readSync(buffer),
    close: (file) => file.close(),
  };
  return {
    pid: deno.pid,
    hostname: () => deno.hostname(),
    env: (name) => deno.env.get(name),
    cwd: () => deno.cwd(),
    nodeFs,
    holdFile(path) {
      const file = deno.openSync(path, { read: true });
      return { links: () => file.statSync().nlink ?? 1, close: () => file.close() };
    },
    osUptime() {
      try {
        // Linux's sysinfo(): whole seconds, rounded up.
        return Math.max(0, deno.osUptime() - 1);
      } catch {
        return undefined; // needs --allow-sys=osUptime
      }
    },
    processExists: (pid) => signalZero(nodeProcess(), pid),
    euid() {
      try {
        return nodeProcess().geteuid?.();
      } catch {
        return undefined;
      }
    },
    onSignal(signal, listener) {
      deno.addSignalListener(signal, listener);
      return () => deno.removeSignalListener(signal, listener);
    },
    now: () => performance.now(),
    unrefTimer: (timer) => deno.unrefTimer(timer as number),
    exit: (code) => deno.exit(code),
    args: () => [...deno.args],
    writeOut: (text) => writeAll((bytes) => deno.stdout.writeSync(bytes), text),
    isMain: (meta) => meta.main === true,
    unsetEnv: (name) => deno.env.delete(name),
    readHead(path, maxBytes): FileHead {
      // Deno.openSync takes no O_NONBLOCK: a FIFO swapped in after the
      // lstat, or a lease held on the file, blocks this open
      // (readHeadAsync puts a deadline on it).
      return runSteps(
        readSteps(files, path, maxBytes),
        (path) => openedBy(() => deno.openSync(path, { read: true })),
      );
    },
    readHeadAsync(path, maxBytes): Promise<FileHead> {
      // Only the open can block (also in /proc: a lease), so only it is asynchronous.
      return runStepsAsync(
        readSteps(files, path, maxBytes),
        (path) =>
          openWithin(path, OPEN_DEADLINE_MS)
            .then((handle): Opened<DenoFile> => ({ handle }), (error) => ({ error })),
      );
    },
  };

  /** Deno.open, or an `ETIMEDOUT` error once `ms` have passed (the open is abandoned). */
  function openWithin(path: string, ms: number): Promise<DenoFile> {
    // Not setTimeout: on Deno 2.9 its first call loads Node's timers (about
    // 20 ms). The signal's timer is unref'd: a blocked open keeps the process up.
    const signal = AbortSignal.timeout(ms);
    const opening = deno.open(path, { read: true });
    let onAbort = () => {};
    const deadline = new Promise<never>((_, reject) => {
      onAbort = () => {
        // If the open ends after all (a lease broken, a writer on the FIFO), close what it gives.
        opening.then((file) => file.close(), () => {});
        // readSteps says it as the other runtimes do (openBlocked).
        reject(Object.assign(new Error(`Cannot open ${path}: still blocked after ${ms} ms`), {
          code: "ETIMEDOUT",
        }));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([opening, deadline])
      .finally(() => signal.removeEventListener("abort", onAbort));
  }
}

/** How long the command waits for an open. */
const OPEN_DEADLINE_MS = 1000;

/** The type and identity Deno's `lstat` or `fstat` tells. */
function infoOf(info: DenoFileInfo): FileInfo {
  const kind = info.isFile
    ? "file"
    : info.isSymlink
    ? "link"
    : info.isDirectory
    ? "directory"
    : "other";
  return { kind, dev: info.dev, ino: info.ino };
}

/**
 * The {@linkcode Runtime} on Deno, built on `Deno.*`.
 *
 * @module
 */
import type * as Fs from "node:fs";
import { type FileHead, readFileHead, type Runtime } from "./_runtime.ts";
import type { NodeProcess } from "./_runtime_node.ts";
import { nodeStateFs, type StateFs } from "./_state_fs.ts";

/** The part of the `Deno` namespace this adapter uses, typed here so the npm build compiles without Deno's types. */
interface DenoFile {
  readSync(buffer: Uint8Array): number | null;
  close(): void;
}

/** See {@linkcode DenoFile}. */
export interface DenoNamespace {
  readonly pid: number;
  hostname(): string;
  readonly env: { get(name: string): string | undefined };
  cwd(): string;
  openSync(
    path: string,
    options: {
      read?: boolean;
    },
  ): DenoFile;
  statSync(path: string): { isFile: boolean; isDirectory: boolean };
  osUptime(): number;
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  unrefTimer(id: number): void;
  exit(code: number): never;
  readonly args: string[];
  readonly stdout: { writeSync(data: Uint8Array): number };
  exitCode: number;
}

const encoder = new TextEncoder();

/** Writes all of `text`: one write may take only part of it. */
function writeAll(file: { writeSync(data: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) {
    done += file.writeSync(bytes.subarray(done));
  }
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
  let stateFs: StateFs | undefined;
  return {
    pid: deno.pid,
    hostname: () => deno.hostname(),
    env: (name) => deno.env.get(name),
    cwd: () => deno.cwd(),
    get fs() {
      return stateFs ??= nodeStateFs(nodeFs());
    },
    osUptime() {
      try {
        return deno.osUptime();
      } catch {
        return undefined; // needs --allow-sys=osUptime
      }
    },
    processExists(pid) {
      try {
        nodeProcess().kill(pid, 0);
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        return code === "ESRCH" ? false : code === "EPERM" ? true : undefined;
      }
    },
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
    unrefTimer: (timer) => deno.unrefTimer(timer as number),
    exit: (code) => deno.exit(code),
    args: () => [...deno.args],
    writeOut: (text) => writeAll(deno.stdout, text),
    setExitCode(code) {
      deno.exitCode = code;
    },
    isMain: (meta) => meta.main === true,
    readHead(path, maxBytes): FileHead {
      let stat;
      try {
        // Deno.openSync takes no O_NONBLOCK, so look before opening: a FIFO
        // with no writer would block the open.
        stat = deno.statSync(path);
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") {
          return { kind: "missing" };
        }
        throw error;
      }
      if (stat.isDirectory) return { kind: "directory" };
      if (!stat.isFile) return { kind: "other" };
      const file = deno.openSync(path, { read: true });
      try {
        return readFileHead((buffer) => file.readSync(buffer), maxBytes);
      } finally {
        file.close();
      }
    },
  };
}

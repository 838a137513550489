/**
 * The {@linkcode Runtime} on Deno, built on `Deno.*`.
 *
 * @module
 */
import { type FileHead, readFileHead, type Runtime } from "./_runtime.ts";

/** The part of the `Deno` namespace this adapter uses, typed here so the npm build compiles without Deno's types. */
interface DenoFile {
  readSync(buffer: Uint8Array): number | null;
  writeSync(data: Uint8Array): number;
  close(): void;
}

/** See {@linkcode DenoFile}. */
export interface DenoNamespace {
  readonly pid: number;
  hostname(): string;
  readonly env: { get(name: string): string | undefined };
  cwd(): string;
  mkdirSync(path: string, options: { mode: number }): void;
  chmodSync(path: string, mode: number): void;
  openSync(
    path: string,
    options: {
      read?: boolean;
      write?: boolean;
      createNew?: boolean;
      truncate?: boolean;
      mode?: number;
    },
  ): DenoFile;
  statSync(path: string): { isFile: boolean; isDirectory: boolean };
  lstatSync(path: string): { isDirectory: boolean };
  renameSync(from: string, to: string): void;
  linkSync(from: string, to: string): void;
  removeSync(path: string): void;
  readDirSync(path: string): Iterable<{ name: string }>;
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

/** The Deno implementation of {@linkcode Runtime}. */
export function denoRuntime(deno: DenoNamespace): Runtime {
  return {
    pid: deno.pid,
    hostname: () => deno.hostname(),
    env: (name) => deno.env.get(name),
    cwd: () => deno.cwd(),
    mkdir(path, mode) {
      deno.mkdirSync(path, { mode });
      deno.chmodSync(path, mode); // the umask may have taken bits off `mode`
    },
    writeNewFile(path, data, mode) {
      const file = deno.openSync(path, { write: true, createNew: true, mode });
      try {
        deno.chmodSync(path, mode);
        writeAll(file, data);
      } finally {
        file.close();
      }
    },
    overwrite(path, data) {
      const file = deno.openSync(path, { write: true, truncate: true });
      try {
        writeAll(file, data);
      } finally {
        file.close();
      }
    },
    link: (from, to) => deno.linkSync(from, to),
    rename: (from, to) => deno.renameSync(from, to),
    remove(path) {
      // Deno.removeSync also removes an empty directory; unlink() does not.
      if (deno.lstatSync(path).isDirectory) {
        throw Object.assign(new Error(`Is a directory: ${path}`), { code: "EISDIR" });
      }
      deno.removeSync(path);
    },
    readDir: (path) => Array.from(deno.readDirSync(path), (entry) => entry.name),
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

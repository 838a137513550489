/**
 * The {@linkcode Runtime} on Node and Bun, built on `node:` built-ins.
 *
 * @module
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { type FileHead, readFileHead, type Runtime } from "./_runtime.ts";

const encoder = new TextEncoder();

/** The Node/Bun implementation of {@linkcode Runtime}. */
export function nodeRuntime(): Runtime {
  return {
    pid: process.pid,
    hostname,
    env: (name) => process.env[name],
    cwd: () => process.cwd(),
    mkdir(path, mode) {
      mkdirSync(path, { mode });
      chmodSync(path, mode); // the umask may have taken bits off `mode`
    },
    writeNewFile(path, data, mode) {
      const fd = openSync(path, "wx", mode);
      try {
        fchmodSync(fd, mode); // the umask may have taken bits off `mode`
        const bytes = encoder.encode(data);
        for (let done = 0; done < bytes.length;) {
          done += writeSync(fd, bytes, done);
        }
      } finally {
        closeSync(fd);
      }
    },
    rename: renameSync,
    remove: unlinkSync,
    readDir: (path) => readdirSync(path),
    readHead(path, maxBytes): FileHead {
      let fd: number;
      try {
        // O_NONBLOCK: opening a FIFO with no writer must not hang the probe.
        fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") {
          return { kind: "missing" };
        }
        throw error;
      }
      try {
        const stat = fstatSync(fd);
        if (stat.isDirectory()) return { kind: "directory" };
        if (!stat.isFile()) return { kind: "other" };
        return readFileHead((buffer) => readSync(fd, buffer), maxBytes);
      } finally {
        closeSync(fd);
      }
    },
  };
}

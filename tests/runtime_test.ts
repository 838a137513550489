/**
 * The runtime adapters under the probes: how Deno's, Node's and Bun's
 * read a file's head (never through a last link, nor one swapped in after
 * the look, one character per byte), Bun's libc calls against node:fs and
 * its fallback, and Deno's deadline on an open that blocks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, lstatSync, openSync, symlinkSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { probeUnitAsync } from "../src/_probe.ts";
import { type DenoNamespace, denoRuntime } from "../src/runtime/_deno.ts";
import { bunRuntime, libcFiles } from "../src/runtime/_bun.ts";
import { infoOf, type NodeProcess, nodeRuntime } from "../src/runtime/_node.ts";
import { openBlocked, readHeadWith } from "../src/runtime/_read.ts";
import { runtime } from "../src/runtime/_current.ts";
import { isDeno } from "./_env.ts";
import { withTempDir } from "./_helpers.ts";

test("runtime: a read never follows a last link, also in /proc, nor one swapped in after the look", async () => {
  await withTempDir(async (dir) => {
    writeFileSync(`${dir}/target`, "0\n");
    writeFileSync(`${dir}/old`, "3\n");
    const fd = openSync(`${dir}/target`, "r");
    try {
      // /proc/self/fd/N is a link to the file: no kernel file, so it is looked at first.
      assert.deepEqual(runtime.readHead(`/proc/self/fd/${fd}`, 64), { kind: "link" });
    } finally {
      closeSync(fd);
    }
    // The look saw a regular file (`old`); a link to `target` has taken its
    // place by the open, on every attempt.
    symlinkSync(`${dir}/target`, `${dir}/error`);
    const looked = (path: string) => path === `${dir}/error` ? `${dir}/old` : path;
    if (isDeno) {
      // Deno's open follows the link; its fstat tells another file: never read.
      const deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;
      const denoLike = Object.create(deno, {
        lstatSync: { value: (path: string) => deno.lstatSync(looked(path)) },
      });
      const replaced = { message: `Cannot read ${dir}/error: replaced on each of 3 attempts` };
      assert.throws(() => denoRuntime(denoLike).readHead(`${dir}/error`, 64), replaced);
      await assert.rejects(denoRuntime(denoLike).readHeadAsync!(`${dir}/error`, 64), replaced);
      return;
    }
    // Node and Bun open with O_NOFOLLOW: the link is refused (ELOOP).
    const fs = process.getBuiltinModule("node:fs");
    const lying = { ...fs, lstatSync: (path: string) => fs.lstatSync(looked(path)) };
    const nodeLike = {
      pid: process.pid,
      getBuiltinModule: (id: string) => id === "node:fs" ? lying : process.getBuiltinModule(id),
    } as unknown as NodeProcess;
    assert.deepEqual(nodeRuntime(nodeLike).readHead(`${dir}/error`, 64), { kind: "link" });
    // A regular file that is not the one looked at, on every attempt: never read either.
    const replaced = { message: `Cannot read ${dir}/ready: replaced on each of 3 attempts` };
    writeFileSync(`${dir}/ready`, "ready\n");
    const lookedAtOld = (path: string) => path === `${dir}/ready` ? `${dir}/old` : looked(path);
    const renaming = { ...fs, lstatSync: (path: string) => fs.lstatSync(lookedAtOld(path)) };
    const renamingLike = {
      ...nodeLike,
      getBuiltinModule: (id: string) => id === "node:fs" ? renaming : process.getBuiltinModule(id),
    } as unknown as NodeProcess;
    assert.throws(() => nodeRuntime(renamingLike).readHead(`${dir}/ready`, 64), replaced);
    const libc = process.versions.bun ? libcFiles(process as unknown as NodeProcess) : undefined;
    if (libc) {
      const files = { ...libc.files, lstat: (path: string) => libc.files.lstat(lookedAtOld(path)) };
      assert.deepEqual(readHeadWith(files, `${dir}/error`, 64), { kind: "link" });
      assert.throws(() => readHeadWith(files, `${dir}/ready`, 64), replaced);
    }
  });
});

test("runtime: a file is read one character per byte, as bash reads it, also past 8192 bytes", async () => {
  await withTempDir((dir) => {
    // Every byte value, then enough to cross the chunks the text is made in.
    const bytes = Uint8Array.from({ length: 20_000 }, (_, at) => at % 256);
    writeFileSync(`${dir}/file`, bytes);
    const expected = Array.from(bytes.subarray(0, 16_384), (byte) => String.fromCharCode(byte))
      .join("");
    assert.deepEqual(runtime.readHead(`${dir}/file`, 16_384), {
      kind: "file",
      text: expected,
      truncated: true,
    });
  });
});

test("runtime: Bun's libc file operations see what node:fs sees", {
  skip: !("Bun" in globalThis) && "bun:ffi is Bun's (probe_test.ts runs the command on Bun)",
}, async () => {
  await withTempDir((dir) => {
    const libc = libcFiles(process as unknown as NodeProcess)!;
    assert.ok(libc, "libc binds on Linux x86-64 and arm64");
    writeFileSync(`${dir}/file`, "hello\n");
    symlinkSync(`${dir}/file`, `${dir}/link`);
    spawnSync("mkfifo", [`${dir}/fifo`]);
    // The device as major * 2^32 + minor, from the kernel's encoding that node:fs gives.
    const device = (dev: bigint) => {
      const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
      const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
      return Number(major) * 2 ** 32 + Number(minor);
    };
    for (
      const path of ["file", "link", "fifo", ""].map((name) => `${dir}/${name}`).concat("/dev/null")
    ) {
      const seen = libc.files.lstat(path);
      const stat = lstatSync(path, { bigint: true });
      assert.deepEqual(seen, { ...infoOf(stat), dev: device(stat.dev) }, path);
    }
    const fd = libc.files.open(`${dir}/file`);
    try {
      assert.deepEqual(libc.files.fstat(fd), libc.files.lstat(`${dir}/file`));
      // A read fills the part of the buffer it is given.
      const buffer = new Uint8Array(16);
      assert.equal(libc.files.read(fd, buffer.subarray(3, 8)), 5);
      assert.deepEqual([...buffer.subarray(0, 9)], [
        0,
        0,
        0,
        ...new TextEncoder().encode("hello"),
        0,
      ]);
    } finally {
      libc.files.close(fd);
    }
    assert.throws(() => libc.files.open(`${dir}/link`), { code: "ELOOP" });
    assert.throws(() => libc.files.open(`${dir}/none`), { code: "ENOENT" });
    assert.throws(() => libc.files.lstat(`${dir}/file\0x`), { code: "ERR_INVALID_ARG_VALUE" });
  });
});

test("runtime: Bun's runtime falls back to node:fs where libc cannot be had", async () => {
  await withTempDir((dir) => {
    const asked: string[] = [];
    const load = process.getBuiltinModule.bind(process);
    // What Bun's runtime asks of its process, on `arch`.
    const bunLike = (arch: string) =>
      ({
        pid: process.pid,
        argv: process.argv,
        env: process.env,
        arch,
        platform: "linux",
        versions: { bun: "1" },
        getBuiltinModule(id: string) {
          asked.push(id);
          if (id === "bun:ffi") throw new Error("no FFI here");
          return load(id);
        },
      }) as unknown as NodeProcess;
    writeFileSync(`${dir}/file`, "42\n");
    const bun = bunRuntime(bunLike("x64"));
    assert.deepEqual(bun.readHead(`${dir}/file`, 64), {
      kind: "file",
      text: "42\n",
      truncated: false,
    });
    assert.deepEqual(asked, ["bun:ffi", "node:fs"]);
    const other = bunRuntime(bunLike("riscv64"));
    assert.deepEqual(other.readHead(`${dir}/none`, 64), { kind: "missing" });
    assert.deepEqual(asked.slice(2), ["node:fs"], "no bun:ffi asked for on another architecture");
  });
});

test("runtime: Deno's reads give up an open that blocks, and say so", {
  timeout: 30_000,
}, async () => {
  // A Deno whose every file is regular by lstat, and whose open never ends: a FIFO swapped in.
  const deno = {
    pid: 1,
    lstatSync: () => ({ isFile: true, isDirectory: false, isSymlink: false, dev: 1, ino: 1 }),
    open: () => new Promise(() => {}),
  } as unknown as DenoNamespace;
  // A real blocked open is an operation that keeps the process up, so the
  // deadline's timer (unref'd on Node 20) fires; this one is only a promise.
  const hold = setInterval(() => {}, 1000);
  const result = await probeUnitAsync(denoRuntime(deno), { unit: "api", rundir: "/run" }, {
    unit: "--unit",
    rundir: "--rundir",
  }).finally(() => clearInterval(hold));
  assert.equal(result.status, "failed");
  assert.equal(result.reason, `unit api: probe failed: ${openBlocked("/run/api/pid").message}`);
});

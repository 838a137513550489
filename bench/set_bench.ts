/**
 * What `set()` costs on each runtime, beside the same safe steps done by
 * hand (the pid file's link count through its descriptor, then a new file
 * made with `O_EXCL | O_NOFOLLOW` in the unit directory, write, close,
 * rename: in a rundir no other user can write, under a umask that takes no
 * bit off 0644, `set()` needs no descriptor path and no `fchmod`) and
 * beside the plain write a naive
 * implementation would do (`writeFileSync`, not atomic: a reader can see an
 * empty file), measured side by side in one run.
 *
 * Run: `deno run --allow-all bench/set_bench.ts [calls]` (after `npm install`).
 * With `--worker DIR` it measures the runtime it runs on, in a rundir under
 * DIR, and prints JSON; the parent runs it on Deno, Bun and the current LTS
 * Node (which runs the TypeScript source itself), on the temporary
 * directory's file system and on a tmpfs (`/dev/shm`), where `/run` usually is.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createLiveness } from "../mod.ts";

const calls = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 2_000);
/** Where the rundirs go: the temporary directory, and a tmpfs where there is one. */
const bases = [tmpdir(), "/dev/shm"].filter((dir, index) => index === 0 || existsSync(dir));

/** Microseconds per call of `body`, the median of 3 runs of `calls` calls. */
function measure(body: (i: number) => void): number {
  const runs = [];
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) body(i);
    runs.push((performance.now() - start) * 1000 / calls);
  }
  return runs.sort((a, b) => a - b)[1];
}

const worker = process.argv.indexOf("--worker");
if (worker > 0) {
  const rundir = mkdtempSync(`${process.argv[worker + 1]}/liveness-bench-`);
  const liveness = createLiveness({ unit: "bench", rundir, heartbeat: false });
  await liveness.load([]);
  const plain = `${rundir}/plain`;
  // The same safe steps by hand, in a directory of their own.
  const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const pid = openSync(`${rundir}/bench/pid`, O_RDONLY);
  const encoder = new TextEncoder();
  const umaskKeeps = (process.umask() & 0o644) === 0;
  const safe = (i: number) => {
    if (fstatSync(pid).nlink === 0) throw new Error("lost");
    const temp = `${rundir}/.hand.${process.pid}.${i}.tmp`;
    const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    if (!umaskKeeps) fchmodSync(fd, 0o644);
    writeSync(fd, encoder.encode(`${i & 1}\n`));
    closeSync(fd);
    renameSync(temp, `${rundir}/hand`);
  };
  // Interleaved, so all see the same state of the machine.
  let set = 0, steps = 0, write = 0;
  for (let round = 0; round < 2; round++) {
    set += measure((i) => liveness.set(i & 1));
    steps += measure(safe);
    write += measure((i) => writeFileSync(plain, `${i & 1}\n`));
  }
  closeSync(pid);
  await liveness.close();
  rmSync(rundir, { recursive: true });
  console.log(JSON.stringify({ set: set / 2, steps: steps / 2, write: write / 2 }));
} else {
  const self = fileURLToPath(import.meta.url);
  const runtimes: [string, string[]][] = [
    ["Deno", ["node_modules/.bin/deno", "run", "--allow-all", self]],
    ["Bun", ["node_modules/.bin/bun", self]],
    ["Node LTS", ["node_modules/node/bin/node", "--no-warnings", self]],
  ];
  console.log(
    `\nset() against the same safe steps by hand and a plain writeFileSync, ${calls} calls, median of 3 runs\n`,
  );
  console.log(
    "| runtime | rundir on | set() µs | safe steps by hand µs | × by hand | writeFileSync µs | × plain write |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
  for (const base of bases) {
    const filesystem = spawnSync("stat", ["-f", "-c", "%T", base], { encoding: "utf8" }).stdout;
    for (const [name, [command, ...args]] of runtimes) {
      const result = spawnSync(command, [...args, String(calls), "--worker", base], {
        encoding: "utf8",
      });
      if (result.status !== 0) throw new Error(`${name}: ${result.stderr}`);
      const { set, steps, write } = JSON.parse(result.stdout);
      const cells = [set.toFixed(1), steps.toFixed(1), (set / steps).toFixed(2)];
      cells.push(write.toFixed(1), (set / write).toFixed(2));
      console.log(`| ${name} | ${base} (${filesystem.trim()}) | ${cells.join(" | ")} |`);
    }
  }
}

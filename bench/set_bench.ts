/**
 * What `set()` costs on each runtime, beside the plain write a naive
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
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  const liveness = createLiveness({ unit: "bench", rundir });
  await liveness.load([]);
  const plain = `${rundir}/plain`;
  // Interleaved pairs, so both see the same state of the machine.
  let set = 0, write = 0;
  for (let pair = 0; pair < 2; pair++) {
    set += measure((i) => liveness.set(i & 1));
    write += measure((i) => writeFileSync(plain, `${i & 1}\n`));
  }
  liveness.reset();
  rmSync(rundir, { recursive: true });
  console.log(JSON.stringify({ set: set / 2, write: write / 2 }));
} else {
  const self = fileURLToPath(import.meta.url);
  const runtimes: [string, string[]][] = [
    ["Deno", ["node_modules/.bin/deno", "run", "--allow-all", self]],
    ["Bun", ["node_modules/.bin/bun", self]],
    ["Node LTS", ["node_modules/node/bin/node", "--no-warnings", self]],
  ];
  console.log(`\nset() against a plain writeFileSync, ${calls} calls, median of 3 runs\n`);
  console.log(
    "| runtime | rundir on | set() µs per call | writeFileSync µs per call | × plain write |",
  );
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const base of bases) {
    const filesystem = spawnSync("stat", ["-f", "-c", "%T", base], { encoding: "utf8" }).stdout;
    for (const [name, [command, ...args]] of runtimes) {
      const result = spawnSync(command, [...args, String(calls), "--worker", base], {
        encoding: "utf8",
      });
      if (result.status !== 0) throw new Error(`${name}: ${result.stderr}`);
      const { set, write } = JSON.parse(result.stdout);
      console.log(
        `| ${name} | ${base} (${filesystem.trim()}) | ${set.toFixed(1)} | ${write.toFixed(1)} | ${
          (set / write).toFixed(2)
        } |`,
      );
    }
  }
}

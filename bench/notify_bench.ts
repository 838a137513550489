/**
 * What one message of systemd's notify protocol costs on each runtime,
 * beside one `set(0)` of the same runtime in the same run: Deno and Bun send
 * a datagram through libc (FFI), Node starts `systemd-notify` for each. The
 * receiver is a datagram socket bound by python3 that reads and drops.
 *
 * Run: `deno run --allow-all bench/notify_bench.ts` (after `npm install`).
 * With `--worker SOCKET DIR` it measures the runtime it runs on and prints
 * JSON; the parent runs it on Deno, Bun and the current Node.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createLiveness } from "../mod.ts";
import { runtime } from "../src/runtime/_current.ts";

const DATAGRAMS = 2_000;
const HELPERS = 20;
const SETS = 2_000;

async function worker(address: string, dir: string): Promise<void> {
  const socket = runtime.notifySocket!(address);
  const isNode = !("Deno" in globalThis) && !("Bun" in globalThis);
  const errors: unknown[] = [];
  const count = isNode ? HELPERS : DATAGRAMS;
  // Only the sends that went are timed: the receiver's queue (max_dgram_qlen) is short, and a
  // send that finds it full fails at once with EAGAIN; it is tried again, untimed.
  let spent = 0;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    try {
      socket.send("WATCHDOG=1", (error) => errors.push(error));
      if (isNode) await socket.close(); // waits for the helper to end
      spent += performance.now() - start;
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
      i--;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const notify = spent / count;
  await socket.close();
  const liveness = createLiveness({ unit: "bench", rundir: dir, notify: false });
  await liveness.load([]);
  const start = performance.now();
  for (let i = 0; i < SETS; i++) liveness.set(0);
  const set = (performance.now() - start) / SETS;
  await liveness.close();
  console.log(JSON.stringify({ notify, set, errors: errors.map(String) }));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(`${tmpdir()}/liveness-notify-bench-`);
  const address = `${dir}/notify`;
  const receiver = spawn("python3", [
    "-c",
    "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n" +
    "print('bound',flush=True)\nwhile True: s.recv(65536)",
    address,
  ], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => receiver.stdout.once("data", resolve));
  const bin = fileURLToPath(new URL("../node_modules/.bin/", import.meta.url));
  const script = fileURLToPath(import.meta.url);
  const runs: Record<string, string[]> = {
    deno: [`${bin}deno`, "run", "--allow-all", script],
    bun: [`${bin}bun`, script],
    node: [`${bin}node`, script],
  };
  try {
    for (const [name, [command, ...args]] of Object.entries(runs)) {
      const result = spawnSync(command, [...args, "--worker", address, dir], { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`${name}: ${result.stderr}`);
      const { notify, set, errors } = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
      console.log(
        `${name.padEnd(5)} one message ${(notify * 1000).toFixed(1).padStart(8)} µs, one set(0) ` +
          `${(set * 1000).toFixed(1).padStart(6)} µs: ${(notify / set).toFixed(2)} set(0)s` +
          (errors.length ? ` (errors: ${errors[0]})` : ""),
      );
    }
  } finally {
    receiver.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf("--worker");
if (at >= 0) await worker(process.argv[at + 1], process.argv[at + 2]);
else await main();

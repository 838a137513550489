/**
 * What one probe costs as Kubernetes pays it, in a real container engine
 * (podman), measured side by side in one run: `podman exec` of probe.sh and
 * of the `liveness-probe` command on Node, Bun and Deno, against `podman
 * exec` of `true` (the floor of any exec probe) and of each runtime starting
 * an empty script; and an HTTP GET of `/livez` on the published loopback
 * port, a new connection each time as the kubelet makes it. Rounds are
 * interleaved (each round runs every row once, in turn) so that the
 * machine's load falls on all rows alike. Prints a markdown table.
 *
 * Run: `node_modules/.bin/node bench/container_bench.ts [rounds]` (as root,
 * with podman set up by tests/containers/setup_podman.sh).
 *
 * @module
 */
import { request } from "node:http";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { performance } from "node:perf_hooks";
import { buildImages } from "../tests/containers/_image.ts";
import {
  type Container,
  PROBE_SH,
  RUNTIMES,
  send,
  withContainer,
} from "../tests/containers/_container.ts";
import { engineProblem, podman, podmanOk } from "../tests/containers/_podman.ts";

const rounds = Number(process.argv[2] ?? 20);
const EMPTY = "/control/empty.js";

/** A row: what it runs, once. Resolves to false when it failed. */
interface Row {
  readonly name: string;
  readonly run: () => Promise<boolean>;
}

function execRow(name: string, container: Container, command: readonly string[]): Row {
  return {
    name,
    run: async () => (await podman(["exec", container.name, ...command])).status === 0,
  };
}

/** GET `path` on a new connection, as the kubelet's httpGet does. */
function httpRow(name: string, port: string, path: string): Row {
  return {
    name,
    run: () =>
      new Promise((resolve) => {
        const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200));
        });
        req.on("error", () => resolve(false));
        req.end();
      }),
  };
}

/** The rows, on a container whose unit is loaded and healthy. */
async function rows(container: Container): Promise<Row[]> {
  writeFileSync(join(container.control, "empty.js"), "");
  await send(container, "load");
  await send(container, "set", "0");
  const list = [
    execRow("podman exec true (floor)", container, ["true"]),
    execRow("podman exec probe.sh", container, PROBE_SH),
  ];
  for (const [name, runtime] of Object.entries(RUNTIMES)) {
    list.push(execRow(`podman exec liveness-probe, ${name}`, container, runtime.probe));
    list.push(execRow(`podman exec ${name}, empty script`, container, [...runtime.run, EMPTY]));
  }
  const port = (await podmanOk(["port", container.name, "9000/tcp"])).trim().split(":").at(-1)!;
  try {
    await send(container, "serve", "9000");
    list.push(httpRow("HTTP GET /livez, serve() (published loopback port)", port, "/livez"));
  } catch (error) {
    // Before serve(): a bare node:http server, the floor of any HTTP probe.
    console.error(`serve() failed (${error instanceof Error ? error.message : error})`);
    await send(container, "bare", "9000");
    list.push(httpRow("HTTP GET, a bare node:http server (published loopback port)", port, "/"));
  }
  return list;
}

/** The median and the 90th percentile of `values`. */
function quantiles(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [at(0.5), at(0.9)];
}

async function main(): Promise<void> {
  const problem = engineProblem();
  if (problem) {
    console.error(`container bench: ${problem}`);
    process.exit(1);
  }
  const images = buildImages((line) => console.error(line));
  await withContainer(
    { image: images.app, args: ["--publish", "127.0.0.1::9000"] },
    async (container) => {
      const list = await rows(container);
      const times = list.map(() => [] as number[]);
      for (let round = 0; round < rounds; round++) {
        for (const [i, row] of list.entries()) {
          const begin = performance.now();
          if (!(await row.run())) throw new Error(`${row.name} failed`);
          times[i].push(performance.now() - begin);
        }
      }
      const floor = quantiles(times[0])[0];
      const load = loadavg().map((value) => value.toFixed(1)).join(" ");
      console.log(`\n${rounds} rounds, podman ${await podmanVersion()}, load average ${load}\n`);
      console.log("| probe | median | p90 | × exec of `true` |");
      console.log("| --- | ---: | ---: | ---: |");
      for (const [i, row] of list.entries()) {
        const [median, p90] = quantiles(times[i]);
        console.log(
          `| ${row.name} | ${median.toFixed(1)} ms | ${p90.toFixed(1)} ms | ${
            (median / floor).toFixed(2)
          } |`,
        );
      }
    },
  );
}

async function podmanVersion(): Promise<string> {
  return (await podmanOk(["version", "--format", "{{.Client.Version}}"])).trim();
}

await main();

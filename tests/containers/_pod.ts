/**
 * A pod of the examples' manifests on this machine, for the prober: the
 * container's environment with its volume mounted at a temporary
 * directory, its exec probes mapped to this checkout's files, and a process
 * started as the container's would be.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";
import { ROOT } from "./_image.ts";
import { PREFIX } from "./_podman.ts";
import { type ContainerProbes, execProbe, Prober } from "./_prober.ts";

/** Node from node_modules: it runs the library's .ts files as they are. */
const NODE = join(ROOT, "node_modules/.bin/node");
/** What the images hold at these paths, in this checkout. */
const PATHS: Record<string, string[]> = {
  "/app/node_modules/@cic/liveness/probe.sh": [join(ROOT, "probe.sh")],
  "/nodejs/bin/node": [NODE],
  "/app/node_modules/@cic/liveness/src/probe_cli.js": [join(ROOT, "src/probe_cli.ts")],
};

/** The parts of a Deployment's container the prober reads. */
interface ContainerSpec extends ContainerProbes {
  env?: { name: string; value: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: { containerPort: number }[];
}

/** The first container of the Deployment in `examples/<file>`. */
export function manifestContainer(file: string): ContainerSpec {
  const deployment = parse(readFileSync(join(ROOT, "examples", file), "utf8"));
  return deployment.spec.template.spec.containers[0];
}

/** A free loopback port (closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on("error", reject);
  });
}

/** A running pod: its process, its prober, and where its state and control files are. */
export interface Pod {
  readonly child: ChildProcess;
  readonly prober: Prober;
  readonly control: string;
  readonly env: Record<string, string>;
  /** The process's exit: code and signal. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** What to run. */
export interface PodOptions {
  /** `examples/<manifest>`. */
  manifest: string;
  /** The program: `examples/service.mjs` or the driven fixture. */
  program: string;
  env?: Record<string, string>;
  /** Manifest ports to loopback ports, for httpGet. */
  ports?: Record<string, number>;
  scale: number;
  livenessWhileTerminating?: boolean;
}

/**
 * Starts the program as the manifest's container on this machine (Node from
 * node_modules, `@cic/liveness` from this checkout's source) and the prober
 * on it; `body` gets the pod, which is killed and cleaned up after.
 */
export async function withPod<T>(options: PodOptions, body: (pod: Pod) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}pod-`));
  const spec = manifestContainer(options.manifest);
  const mounts = new Map(
    (spec.volumeMounts ?? []).map((
      { mountPath },
      i,
    ) => [mountPath, mkdtempSync(join(dir, `v${i}-`))]),
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...Object.fromEntries(
      (spec.env ?? []).map(({ name, value }) => [name, mounts.get(value) ?? value]),
    ),
    CONTROL: dir,
    ...options.env,
  };
  const program = join(dir, "program.mjs");
  const source = readFileSync(options.program, "utf8")
    .replace('"@cic/liveness"', JSON.stringify(pathToFileURL(join(ROOT, "mod.ts")).href));
  writeFileSync(program, source);
  const child = spawn(NODE, [program], { env, stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (code, signal) => resolve([code, signal]))
  );
  const prober = new Prober(spec, {
    exec: (command, timeout) =>
      execProbe(command.flatMap((word) => PATHS[word] ?? [word]), timeout, env),
    http: (port) => `http://127.0.0.1:${options.ports?.[String(port)] ?? port}`,
    scale: options.scale,
    livenessWhileTerminating: options.livenessWhileTerminating,
  });
  prober.start();
  try {
    return await body({ child, prober, control: dir, env, exited });
  } finally {
    await prober.stop();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The npm package end to end: packs the build, installs the tarball into an
 * empty project, and there runs the life cycle, the `liveness-probe` bin and
 * `probe.sh` on Node and on Bun, as a user of the package would.
 *
 * It needs the build: `scripts/build_npm.ts` compiles it into `npm/tests/`,
 * next to the package, and runs it there on Node. From the source tree it
 * skips.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The built package, when this file runs from `npm/tests/`. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
/** Bun from the repository's `node_modules`, two levels above `npm/tests/`. */
const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
const NAME = "@cic/liveness";
const UNIT = "e2e";

const skip = isBuild() ? false : "needs the npm build: runs in the Node leg (scripts/build_npm.ts)";

function isBuild(): boolean {
  try {
    return JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).name === NAME;
  } catch {
    return false;
  }
}

/**
 * Runs the life cycle through the installed package (`load`, `set(0)`,
 * `set(3)`, `reset`) and, after each step, `probe()` and the probe commands
 * given as JSON. Prints what it saw as JSON. It also imports `./probe`, which
 * must not run the CLI on import.
 */
const LIFE_CYCLE = `
import * as library from "${NAME}";
import { HealthCheckError, load, probe, reset, set } from "${NAME}";
import { main } from "${NAME}/probe";
import { spawnSync } from "node:child_process";
import process from "node:process";

const [rundir, commands] = process.argv.slice(2);
const options = { unit: "${UNIT}", rundir };
const env = { ...process.env, LIVENESS_UNIT_NAME: "${UNIT}", LIVENESS_RUNDIR: rundir };
const stages = [];
function observe(stage) {
  const { healthy, reason } = probe(options);
  const probes = JSON.parse(commands).map(([command, ...args]) => {
    const { status, stdout, stderr } = spawnSync(command, args, { env, encoding: "utf8" });
    return { command: [command, ...args].join(" "), status, output: stdout + stderr };
  });
  stages.push({ stage, healthy, reason, probes });
}
await load([() => true], options);
observe("loaded");
set(0, options);
observe("healthy");
set(3, options);
observe("unhealthy");
reset(options);
observe("reset");
const exports = [HealthCheckError, main].map((value) => typeof value);
// An error's name is its class's, which a bundler renames where two modules' names collide.
const names = Object.entries(library)
  .filter(([name, value]) => value.prototype instanceof Error && value.name !== name)
  .map(([name, value]) => \`\${name} is named \${value.name}\`);
console.log(JSON.stringify({ exports, names, stages }));
`;

/** What the life cycle script saw after one step. */
interface Stage {
  stage: string;
  healthy: boolean;
  reason: string;
  probes: { command: string; status: number | null; output: string }[];
}

/** The temporary project the tarball is installed in, with what was packed. */
interface Project {
  dir: string;
  packed: string[];
  bin: string;
  probeSh: string;
}

let project: Project | undefined;

/** Packs and installs the build once for the whole file. */
function installed(): Project {
  if (project) return project;
  const dir = mkdtempSync(join(tmpdir(), "liveness-npm-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const [packed] = JSON.parse(
    npm(dir, ["pack", "--json", "--pack-destination", dir, PACKAGE_DIR]),
  );
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
  writeFileSync(join(dir, "life_cycle.mjs"), LIFE_CYCLE);
  // The package has no dependencies: the tarball installs without the registry.
  npm(dir, ["install", "--offline", "--no-audit", "--no-fund", join(dir, packed.filename)]);
  project = {
    dir,
    packed: packed.files.map((file: { path: string }) => file.path),
    bin: join(dir, "node_modules", ".bin", "liveness-probe"),
    probeSh: join(dir, "node_modules", NAME, "probe.sh"),
  };
  return project;
}

/** Runs npm in `cwd` with a cache of its own and none of an outer npm's settings. */
function npm(cwd: string, args: string[]): string {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
  );
  const result = spawnSync("npm", [...args, "--cache", join(cwd, ".npm-cache")], {
    cwd,
    env: { ...env, npm_config_update_notifier: "false" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assertExit(result, `npm ${args.join(" ")}`);
  return result.stdout;
}

function assertExit(result: SpawnSyncReturns<string>, what: string): void {
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}${result.stderr}`);
}

/** Runs the life cycle script with `command` and checks every step. */
function assertLifeCycle(command: string[], probes: string[][], env: Record<string, string> = {}) {
  const { dir } = installed();
  const rundir = mkdtempSync(join(dir, "run-"));
  const [executable, ...args] = command;
  const result = spawnSync(
    executable,
    [...args, join(dir, "life_cycle.mjs"), rundir, JSON.stringify(probes)],
    { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 },
  );
  assertExit(result, command.join(" "));
  const { exports, names, stages } = JSON.parse(result.stdout) as {
    exports: string[];
    names: string[];
    stages: Stage[];
  };
  assert.deepEqual(exports, ["function", "function"]);
  assert.deepEqual(names, []);
  assert.deepEqual(
    stages.map(({ stage, healthy }) => [stage, healthy]),
    [["loaded", false], ["healthy", true], ["unhealthy", false], ["reset", false]],
  );
  assert.equal(stages[2].reason, `unit ${UNIT}: error 3`);
  for (const { stage, healthy, reason, probes } of stages) {
    for (const { command, status, output } of probes) {
      assert.equal(status, healthy ? 0 : 1, `${stage}: ${command} exited ${status}:\n${output}`);
    }
    // The bin is the TypeScript probe: it prints the same reason.
    const [bin] = probes;
    assert.ok(bin.output.includes(reason), `${stage}: ${bin.command} printed\n${bin.output}`);
  }
}

test("npm package: the tarball holds the build, the bin and probe.sh, and no tests", {
  skip,
}, () => {
  const { packed, bin, probeSh } = installed();
  for (const file of ["package.json", "README.md", "LICENSE", "mod.js", "mod.d.ts", "probe.sh"]) {
    assert.ok(packed.includes(file), `${file} is not in the tarball`);
  }
  assert.ok(packed.includes("src/probe_cli.js"));
  // The library and the command are one module each: the modules they hold only declared.
  const modules = packed.filter((file) => file.endsWith(".js")).sort();
  assert.deepEqual(modules, ["mod.js", "src/probe_cli.js"]);
  assert.ok(packed.includes("src/_unit.d.ts"));
  assert.deepEqual(packed.filter((file) => file.startsWith("tests/")), []);
  assert.equal(readFileSync(bin, "utf8").split("\n")[0], "#!/usr/bin/env sh");
  for (const path of [bin, probeSh]) {
    assert.equal(statSync(path).mode & 0o111, 0o111, `${path} is not executable`);
  }
});

test("npm package: Node runs the life cycle, the liveness-probe bin and probe.sh", {
  skip,
}, () => {
  const { bin, probeSh } = installed();
  // The bin's `exec node` finds the Node running this test first.
  const path = `${dirname(process.execPath)}${delimiter}${process.env.PATH}`;
  assertLifeCycle([process.execPath], [[bin], [probeSh]], { PATH: path });
});

test("npm package: Bun runs the life cycle, the liveness-probe bin and probe.sh", {
  skip,
}, () => {
  const { bin, probeSh } = installed();
  assertLifeCycle([BUN], [[BUN, bin], [probeSh]]);
});

test("npm package: the library, one module, loads node:http only when serve() is called", {
  skip,
}, () => {
  const { dir } = installed();
  const rundir = mkdtempSync(join(dir, "run-"));
  const script = `
const http = () => process.moduleLoadList.includes("NativeModule http");
const seen = [http()];
const { createLiveness } = await import("${NAME}");
const liveness = createLiveness({ unit: "${UNIT}", rundir: ${JSON.stringify(rundir)} });
await liveness.load([]);
seen.push(http());
await liveness.serve({ port: 0, hostname: "127.0.0.1" });
seen.push(http());
await liveness.close();
console.log(JSON.stringify(seen));`;
  const result = spawnSync(process.execPath, ["--input-type=module", "--eval", script], {
    cwd: dir,
    encoding: "utf8",
    timeout: 60_000,
  });
  assertExit(result, "node --eval");
  assert.deepEqual(JSON.parse(result.stdout), [false, false, true]);
});

test("npm package: the bin hands every argument to the command, none to Node (--env-file)", {
  skip,
}, () => {
  const { bin } = installed();
  const path = `${dirname(process.execPath)}${delimiter}${process.env.PATH}`;
  const line = "bad usage: unknown option '--env-file' (try --help)\n";
  // Node takes `--env-file` after a script as its own (a missing file: its exit 9).
  for (
    const args of [["--env-file=/nonexistent"], ["--unit", "api", "--env-file", "/nonexistent"]]
  ) {
    for (const command of [[bin], [BUN, bin]]) {
      const [executable, ...rest] = command;
      const result = spawnSync(executable, [...rest, ...args], {
        env: { ...process.env, PATH: path },
        encoding: "utf8",
      });
      const what = `${command.join(" ")} ${args.join(" ")}`;
      assert.equal(result.stdout, line, what);
      assert.equal(result.stderr, "", what);
      assert.equal(result.status, 1, what);
    }
  }
});

/**
 * `npm test`: the static checks, then the one test suite under Deno, Bun and
 * Node (the last against the npm build, as users install it). Shows each
 * run's result and ends with one line: `N passed, N failed`, summed.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildNpm } from "./build_npm.ts";
import { runGate, runSuite, type SuiteResult } from "./_suite.ts";

// The paths below are the repository's, wherever this is started from.
process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const bin = (name: string) => `node_modules/.bin/${name}`;
const config = JSON.parse(readFileSync("deno.json", "utf8"));

const results: SuiteResult[] = [
  await runGate("deno fmt --check", bin("deno"), ["fmt", "--check"]),
  await runGate("deno lint", bin("deno"), ["lint"]),
  await runGate("deno check", bin("deno"), [
    "check",
    "mod.ts",
    "src/",
    "tests/",
    "scripts/",
    "bench/",
  ]),
  await runGate("deno doc --lint", bin("deno"), [
    "doc",
    "--lint",
    ...Object.values<string>(config.exports),
  ]),
  await runGate("deno publish --dry-run", bin("deno"), ["publish", "--dry-run", "--allow-dirty"]),
  await shellcheck(),
  await runSuite("deno", "deno", bin("deno"), [
    "test",
    "--allow-all",
    "--doc",
    "mod.ts",
    "src/",
    "tests/",
  ]),
  // Bun times a test out after 5 s by default, too short for the tests that
  // start processes on a loaded machine; Deno and Node have no default limit.
  await runSuite("bun", "bun", bin("bun"), ["test", "--timeout", "60000", "tests/"]),
  ...await nodeLeg(),
  await containerLeg(),
];

/** shellcheck on probe.sh, where the machine has it (Debian's `shellcheck`). */
async function shellcheck(): Promise<SuiteResult> {
  if (spawnSync("shellcheck", ["--version"]).status !== 0) {
    console.log("\nshellcheck: not installed (apt-get install shellcheck); skipped");
    return { label: "shellcheck (not installed)", passed: 0, failed: 0, skipped: 1 };
  }
  return await runGate("shellcheck probe.sh", "shellcheck", [
    "probe.sh",
    "bench/seed_probe.sh",
    "tests/containers/setup_podman.sh",
  ]);
}

/** The npm build, the suite on Node against it, and the package checks. */
async function nodeLeg(): Promise<SuiteResult[]> {
  try {
    return await buildNpm(undefined, { test: true });
  } catch (error) {
    console.log(`\nnpm build failed: ${error instanceof Error ? error.message : error}`);
    return [{ label: "npm build", passed: 0, failed: 1 }];
  }
}

/**
 * `tests/containers/` once, on the Node from node_modules (it runs the .ts
 * files as they are): the examples in podman, with Node, Bun and Deno inside
 * the containers, and the kubelet-like prober. Its tests skip, saying why,
 * where podman cannot run containers.
 */
function containerLeg(): Promise<SuiteResult> {
  const files = readdirSync("tests/containers")
    .filter((name) => name.endsWith("_test.ts"))
    .sort()
    .map((name) => `tests/containers/${name}`);
  return runSuite("containers (podman, prober)", "node", bin("node"), [
    "--test",
    "--test-reporter=spec",
    "--test-concurrency=1",
    ...files,
  ]);
}

console.log("\n=== results");
const count = (key: "passed" | "failed" | "skipped") =>
  results.reduce((sum, result) => sum + (result[key] ?? 0), 0);
for (const { label, passed, failed, skipped = 0 } of results) {
  const columns = [[passed, "passed"], [failed, "failed"], [skipped, "skipped"]]
    .map(([n, word]) => `${String(n).padStart(4)} ${word}`);
  console.log(`${label.padEnd(36)} ${columns.join(" ")}`);
}
console.log(`${count("skipped")} skipped: each says why in its run above`);
console.log(`${count("passed")} passed, ${count("failed")} failed`);
process.exitCode = count("failed") === 0 ? 0 : 1;

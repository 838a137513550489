/**
 * Builds the npm package in `npm/`, tests it on Node and checks it.
 *
 * What dnt would do, with the TypeScript compiler from npm (dnt is on JSR
 * only): compile `mod.ts` and `src/` to ES2022 JavaScript and declarations
 * at the package root, make the library and the command one module each
 * (see {@linkcode bundle}), write `package.json` from `deno.json`, copy the
 * README, the license and `probe.sh`. Then, unless `--no-test` is given,
 * compile the tests next to the build and run them with `node --test` on the
 * machine's Node and on the Node from `node_modules`, remove them, and run
 * `publint` and `attw`.
 *
 * Usage: `npm run build:npm -- [<version>] [--no-test]` (the version defaults
 * to `deno.json`'s).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runGate, runSuite, type SuiteResult } from "./_suite.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "npm");
const BIN = join(ROOT, "node_modules", ".bin");

/** The command the package installs; it runs the `./probe` export. */
const BIN_NAME = "liveness-probe";
/** Copied as they are; npm always packs the README and the license. */
const ASSETS = ["README.md", "LICENSE", "probe.sh"];
/** The semver.org regular expression for a version. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** The fields of `deno.json` the package shares. */
interface DenoConfig {
  name: string;
  version: string;
  description: string;
  license: string;
  exports: Record<string, string>;
}

/** Options of {@linkcode buildNpm}. */
export interface BuildOptions {
  /** Run the tests on Node against the build. Default: `true`. */
  test?: boolean;
}

/**
 * Empties and writes `npm/` as `version` of the package (`deno.json`'s when
 * `undefined`), tests it on Node (unless `options.test` is `false`), checks
 * it with `publint` and `attw`, and prints its packed size.
 *
 * @returns one result per Node run of the suite, then one for each package
 * check: failures are counted there, not thrown, like the other runs of
 * `scripts/test.ts`.
 * @throws {Error} when the version is not semver, a file is missing or the
 * compilation fails: there is no build to test.
 */
export async function buildNpm(
  version: string | undefined,
  options: BuildOptions = {},
): Promise<SuiteResult[]> {
  const config: DenoConfig = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  version ??= config.version;
  if (!SEMVER.test(version)) {
    throw new Error(`Invalid version ${JSON.stringify(version)}: give a semver such as 1.2.3.`);
  }
  const missing = [...Object.values(config.exports), ...ASSETS]
    .filter((path) => !existsSync(join(ROOT, path)));
  if (missing.length > 0) throw new Error(`The package needs ${missing.join(", ")}: not found.`);
  const test = options.test ?? true;

  rmSync(OUT, { recursive: true, force: true });
  compile([
    "mod.ts",
    ...sourceFiles("src").filter((path) => !path.endsWith("_test.ts")),
    ...(test ? sourceFiles("tests") : []),
  ]);
  for (const asset of ASSETS) copyFileSync(join(ROOT, asset), join(OUT, asset));
  const library = join(OUT, jsPath(config.exports["."]));
  if (test) keepCompiledForTests(library);
  bundle(library);
  const cli = join(OUT, jsPath(config.exports["./probe"]));
  bundle(cli);
  setShebang(cli);
  for (const path of [cli, join(OUT, "probe.sh")]) chmodSync(path, 0o755);
  writeFileSync(
    join(OUT, "package.json"),
    JSON.stringify(manifest(config, version), null, 2) + "\n",
  );

  const results: SuiteResult[] = [];
  if (test) {
    try {
      for (const path of otherFiles("tests")) {
        mkdirSync(dirname(join(OUT, path)), { recursive: true });
        copyFileSync(join(ROOT, path), join(OUT, path));
      }
      results.push(await testOn(systemNode()), await testOn(join(BIN, "node")));
    } finally {
      // Not part of the package.
      rmSync(join(OUT, "tests"), { recursive: true, force: true });
      rmSync(join(OUT, COMPILED_ENTRY), { force: true });
    }
  }
  results.push(
    await publint(),
    await runGate("attw", join(BIN, "attw"), ["--pack", OUT, "--profile", "esm-only"]),
  );
  printPackSize();
  return results;
}

/** The `.ts` files under `dir` (relative to the root), recursively. */
function sourceFiles(dir: string): string[] {
  return walk(dir).filter((path) => path.endsWith(".ts"));
}

/** The files under `dir` that are not TypeScript: fixtures to copy next to the tests. */
function otherFiles(dir: string): string[] {
  return walk(dir).filter((path) => !path.endsWith(".ts"));
}

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** `./src/x.ts` to `./src/x.js` (or `.d.ts` with `extension`). */
function jsPath(path: string, extension = ".js"): string {
  return path.replace(/\.ts$/, extension);
}

/**
 * Compiles `files` (relative to the root) into `npm/`, mirroring the tree.
 * The tsconfig lives in a temporary directory so that no tsconfig.json in
 * the repository can change the build.
 */
function compile(files: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "liveness-build-"));
  try {
    const tsconfig = {
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        lib: ["es2022"],
        declaration: true,
        strict: true,
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
        rewriteRelativeImportExtensions: true,
        noEmitOnError: true,
        newLine: "lf",
        rootDir: ROOT,
        outDir: OUT,
      },
      files: files.map((path) => join(ROOT, path)),
    };
    const project = join(dir, "tsconfig.json");
    writeFileSync(project, JSON.stringify(tsconfig, null, 2));
    const tsc = spawnSync(join(BIN, "tsc"), ["--project", project], { stdio: "inherit" });
    if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Replaces the compiled entry at `path` with one module holding all it
 * imports, made by `bun build`: each module a program loads costs it. A
 * probe starts a runtime each time (Bun: about 7 ms for the command's ten
 * other modules); on Node, resolving the library's thirty modules cost a
 * program more start-up time than their code, and made Node's own loader
 * hot enough for TurboFan to compile it (4 MiB more resident memory on Node
 * 20; see `bench/README.md`). The declarations stay the compiler's, one
 * file per module. No module may import a `node:` built-in statically: in
 * one module, it would load with the library on every runtime.
 */
function bundle(path: string): void {
  const out = `${path}.bundle`;
  const built = spawnSync(
    join(BIN, "bun"),
    [
      "build",
      relative(OUT, path),
      "--target=node",
      "--format=esm",
      "--outfile",
      relative(OUT, out),
    ],
    { cwd: OUT, encoding: "utf8" },
  );
  if (built.status !== 0) {
    throw new Error(`bun build failed (exit ${built.status ?? built.signal}):\n${built.stderr}`);
  }
  renameSync(out, path);
}

/** The library's entry as compiled, for the tests (see {@linkcode keepCompiledForTests}). */
const COMPILED_ENTRY = "_mod.js";

/**
 * Keeps the library's entry `path` as compiled (its modules, unbundled)
 * beside it, as {@linkcode COMPILED_ENTRY}, and makes the compiled tests
 * import it: they reach inside the modules (`healthOf()` of an owner made
 * by `createLiveness()`), which needs one copy of each. The programs they
 * start, the docs' examples and the installed package run the bundle.
 */
function keepCompiledForTests(path: string): void {
  copyFileSync(path, join(dirname(path), COMPILED_ENTRY));
  const entry = `from "../${relative(OUT, path)}"`;
  let rewritten = 0;
  for (const test of readdirSync(join(OUT, "tests")).filter((name) => name.endsWith(".js"))) {
    const file = join(OUT, "tests", test);
    const code = readFileSync(file, "utf8");
    if (!code.includes(entry)) continue;
    writeFileSync(file, code.replaceAll(entry, `from "../${COMPILED_ENTRY}"`));
    rewritten++;
  }
  if (rewritten === 0) {
    throw new Error(
      `Cannot keep the library as compiled for the tests: none imports it (${entry})`,
    );
  }
}

/** `./mod.js` to `mod.js`: the form npm keeps for `bin` and `files`. */
function bare(path: string): string {
  return path.replace(/^\.\//, "");
}

/**
 * The first two lines of the compiled CLI, whatever the source had: run as
 * a program, `sh` starts Node with `--` before the script, for Node reads
 * `--env-file` as its own even after the script, up to a `--`. To Node and
 * Bun the second line is a string and a comment. (`env -S node --` would
 * spare the shell, but busybox's `env` has no `-S`; publint wants `env`.)
 */
const BIN_HEAD = '#!/usr/bin/env sh\n":" //; exec node -- "$0" "$@"\n';

/** Makes the compiled CLI start with {@linkcode BIN_HEAD}. */
function setShebang(path: string): void {
  const code = readFileSync(path, "utf8").replace(/^#!.*\n/, "");
  writeFileSync(path, `${BIN_HEAD}${code}`);
}

/** `package.json`: the metadata from `deno.json`, the paths of the build. */
function manifest(config: DenoConfig, version: string): Record<string, unknown> {
  const exports = Object.fromEntries(
    Object.entries(config.exports).map(([name, path]) => [
      name,
      { types: jsPath(path, ".d.ts"), default: jsPath(path) },
    ]),
  );
  const main = config.exports["."];
  const cli = config.exports["./probe"];
  return {
    name: config.name,
    version,
    description: config.description,
    license: config.license,
    keywords: ["kubernetes", "liveness", "probe", "health-check", "deno", "bun", "node"],
    type: "module",
    exports: { ...exports, "./package.json": "./package.json" },
    main: jsPath(main),
    types: jsPath(main, ".d.ts"),
    bin: { [BIN_NAME]: bare(jsPath(cli)) },
    // The allowlist keeps npm/tests out while the tests pack the build, and
    // the compiled modules that the two bundles hold: only their declarations.
    files: [
      bare(jsPath(main)),
      bare(jsPath(main, ".d.ts")),
      "src/**/*.d.ts",
      bare(jsPath(cli)),
      "probe.sh",
    ],
    sideEffects: false,
    engines: { node: ">=20.16" }, // process.getBuiltinModule()
  };
}

/** The machine's own Node: the first `node` on the PATH outside any node_modules. */
function systemNode(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || dir.split("/").includes("node_modules")) continue;
    const path = join(dir, "node");
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  throw new Error("No node on the PATH outside node_modules: install Node 20 or later.");
}

/** Runs the compiled `*_test.js` files with `node --test` in `npm/`. */
function testOn(node: string): Promise<SuiteResult> {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  const files = readdirSync(join(OUT, "tests"))
    .filter((name) => name.endsWith("_test.js"))
    .sort()
    .map((name) => `tests/${name}`);
  return runSuite(
    `node ${version.replace(/^v/, "")} (npm build)`,
    "node",
    node,
    ["--test", "--test-reporter=spec", ...files],
    { cwd: OUT },
  );
}

/** `publint`, strict, as one test: a suggestion fails it too, as a warning does. */
function publint(): Promise<SuiteResult> {
  return runGate("publint", join(BIN, "publint"), ["run", "--strict", OUT], {
    clean: (output) => !/^Suggestions:/m.test(output),
  });
}

/** Prints the size of the tarball `npm pack` makes of `npm/`. */
function printPackSize(): void {
  const pack = spawnSync("npm", ["pack", "--dry-run", "--json"], { cwd: OUT, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(`npm pack --dry-run failed:\n${pack.stderr}`);
  const [{ size, unpackedSize, entryCount }] = JSON.parse(pack.stdout);
  const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
  console.log(
    `\nnpm/: ${kB(size)} packed, ${kB(unpackedSize)} unpacked, ${entryCount} files`,
  );
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const [version, ...rest] = args.filter((arg) => arg !== "--no-test");
  if (version?.startsWith("-") || rest.length > 0) {
    console.error("Usage: npm run build:npm -- [<version>] [--no-test]");
    process.exit(2);
  }
  const start = performance.now();
  try {
    const results = await buildNpm(version, { test: !args.includes("--no-test") });
    console.log(`\n=== npm build: ${((performance.now() - start) / 1000).toFixed(1)} s`);
    for (const { label, passed, failed } of results) {
      console.log(`${label}: ${passed} passed, ${failed} failed`);
    }
    if (results.some((result) => result.failed > 0)) process.exit(1);
  } catch (error) {
    console.error(`\nbuild_npm: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}

/**
 * Every fenced code block of the documentation (`README.md`, `docs/`,
 * `CONTRIBUTING.md`, `bench/README.md`) is checked, by what it is: the
 * README's service runs as written on Node, Bun and Deno and its probes
 * answer; TypeScript and JavaScript type-check (and run, marked `run`); shell
 * parses with `bash -n`; YAML parses and Kubernetes manifests validate; unit
 * files pass `systemd-analyze verify`; HTTP transcripts are what the handler
 * answers; excerpts of `examples/` and a command's output are the real text.
 * A block no check knows fails. The links and the paths the docs name must
 * lead somewhere. CONTRIBUTING.md lists the markers.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1";
import { parseAllDocuments } from "yaml";
import { createLiveness } from "../mod.ts";
import { commandFor, type RuntimeName } from "./_runtimes.ts";

/** The checkout: the first directory up from here with `docs/` (the suite may run from `npm/tests/`). */
const ROOT = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== "/"; dir = dirname(dir)) {
    if (existsSync(join(dir, "docs")) && existsSync(join(dir, "deno.json"))) return dir;
  }
  throw new Error("Cannot find the checkout's docs/ above this test");
})();
/** The npm build, when this file runs from `npm/tests/`. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const IS_BUILD = PACKAGE_DIR !== `${ROOT}/` && existsSync(join(PACKAGE_DIR, "mod.js"));
const DENO = commandFor("deno", "")[0];
const BUN = commandFor("bun", "")[0];
/** The Node running this suite, else the current one from npm (it runs the sources' .ts). */
const NODE = commandFor("node", "")[0];

const DOCS = [
  "README.md",
  "CONTRIBUTING.md",
  "bench/README.md",
  ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort()
    .map((name) => `docs/${name}`),
];

/** One fenced code block. */
interface Block {
  /** `docs/http.md:42`: where its fence opens. */
  where: string;
  /** The language, the info string's first word. */
  lang: string;
  /** The info string's other words: `fragment`, `run`, `service`, ... */
  roles: string[];
  /** The text between the fences, without the fence's indentation. */
  text: string;
  /** The HTML comment on the line before, if any: `examples/Dockerfile`, `output of: ...`. */
  marker?: string;
}

/** The fenced code blocks of a Markdown file. */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let end = i + 1;
    while (end < lines.length && !isClosing(lines[end], fence)) {
      body.push(lines[end].startsWith(indent) ? lines[end].slice(indent.length) : lines[end]);
      end++;
    }
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === "") before--;
    const comment = /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(lines[before] ?? "");
    const [lang = "", ...roles] = info.trim().split(/\s+/).filter(Boolean);
    blocks.push({
      where: `${file}:${i + 1}`,
      lang,
      roles,
      text: body.length ? `${body.join("\n")}\n` : "",
      marker: comment?.[1],
    });
    i = end;
  }
  return blocks;
}

/** The text of a Markdown file without its fenced code blocks. */
function proseOf(path: string): string {
  let fence: string | undefined;
  return readFileSync(path, "utf8").split("\n").filter((line) => {
    if (fence !== undefined) {
      if (isClosing(line, fence)) fence = undefined;
      return false;
    }
    fence = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    return fence === undefined;
  }).join("\n");
}

function isClosing(line: string, fence: string): boolean {
  const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
  return close !== null && close[1][0] === fence[0] && close[1].length >= fence.length;
}

const BLOCKS = DOCS.flatMap(blocksOf);
const blocks = (accept: (block: Block) => boolean) => BLOCKS.filter(accept);
const isScript = (block: Block) => ["ts", "js"].includes(block.lang);
const isShell = (block: Block) => ["sh", "bash"].includes(block.lang);
const excerpt = (block: Block) => block.marker?.match(/^examples\/(\S+)$/)?.[1];
const outputOf = (block: Block) => block.marker?.match(/^output of: (.+)$/)?.[1];

/** How each block is checked; a block none of these takes fails the first test. */
const KINDS: [string, (block: Block) => boolean][] = [
  ["excerpt of examples/", (block) => excerpt(block) !== undefined],
  ["command output", (block) => outputOf(block) !== undefined],
  ["TypeScript, type-checked", (b) => b.lang === "ts" && !b.roles.includes("run")],
  ["TypeScript, type-checked and run", (b) => b.lang === "ts" && b.roles.includes("run")],
  ["JavaScript service, type-checked and run", (b) => b.lang === "js" && b.roles[0] === "service"],
  ["shell, run", (b) => isShell(b) && ["start", "probes"].includes(b.roles[0])],
  ["shell, parsed", (b) => isShell(b) && !["start", "probes"].includes(b.roles[0])],
  ["YAML, parsed and validated", (b) => b.lang === "yaml"],
  ["JSON, parsed", (b) => b.lang === "json"],
  ["systemd unit, verified", (b) => b.lang === "ini"],
  ["HTTP transcript, compared", (b) => b.lang === "text" && b.roles[0] === "transcript"],
  ["state files, compared", (b) => b.lang === "text" && b.roles[0] === "state"],
];

test("docs: every code block is one that a check knows", () => {
  const counts = new Map<string, number>();
  const unknown: string[] = [];
  for (const block of BLOCKS) {
    const kind = KINDS.find(([, accept]) => accept(block))?.[0];
    if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    else unknown.push(`${block.where} (${block.lang} ${block.roles.join(" ")})`);
  }
  assert.deepEqual(unknown, [], "blocks no check knows: give each a marker (CONTRIBUTING.md)");
  console.log(`${BLOCKS.length} code blocks in ${DOCS.length} files:`);
  for (const [kind, count] of counts) console.log(`  ${String(count).padStart(3)} ${kind}`);
  for (const kind of ["TypeScript, type-checked", "shell, parsed", "YAML, parsed and validated"]) {
    assert.ok(counts.get(kind), `no block of kind ${kind}: is the parser broken?`);
  }
});

test("docs: README.md is at most 250 lines, and no page speaks of the project's history", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.ok(readme.split("\n").length <= 251, "README.md has more than 250 lines");
  const history = /\b(?:the seed|seed's|\d+\.\d+'s|as \d+\.\d+ (?:did|was))\b/i;
  for (const file of DOCS) {
    const line = readFileSync(join(ROOT, file), "utf8").split("\n")
      .findIndex((text) => history.test(text));
    assert.equal(line, -1, `${file}:${line + 1} speaks of the history: that is CHANGELOG.md's`);
  }
});

test("docs: every excerpt of examples/ is the file's text", () => {
  const excerpts = blocks((block) => excerpt(block) !== undefined);
  assert.ok(excerpts.length > 0, "the docs show the examples");
  for (const block of excerpts) {
    const text = readFileSync(join(ROOT, "examples", excerpt(block)!), "utf8");
    assert.equal(block.text, text, `${block.where}: the excerpt of examples/${excerpt(block)}`);
  }
  const markers = DOCS.flatMap((file) =>
    proseOf(join(ROOT, file)).match(/^<!-- examples\//gm) ?? []
  );
  assert.equal(markers.length, excerpts.length, "each examples/ marker is followed by a block");
});

test("docs: each command's output shown is what the command prints", () => {
  for (const block of blocks((block) => outputOf(block) !== undefined)) {
    const command = outputOf(block)!;
    const result = spawnSync("bash", ["-c", command], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: `${ROOT}:${process.env.PATH}` },
    });
    assert.equal(result.stdout, block.text, `${block.where}: the output of ${command}`);
  }
});

/** A temporary directory, removed when the process exits. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Stand-ins for what a fragment uses without defining. */
const PRELUDE_IMPORT = "import { createLiveness, load, probe, reset, set } " +
  'from "@cic/liveness";\nvoid [createLiveness, load, probe, reset, set];\n';
const PRELUDE_BUN = "declare const Bun: {\n" +
  "  serve(options: { port?: number; routes?: Record<string, (r: Request) => Response>; " +
  "fetch?: (r: Request) => Response }): { stop(force?: boolean): Promise<void> };\n};\n";

/** A block as a module of its own: fragments get the library and a `liveness`. */
function moduleText(block: Block): string {
  if (!block.roles.includes("fragment")) {
    return block.lang === "js" ? `// @ts-check\n${block.text}` : block.text;
  }
  let prelude = "";
  if (!/from "@cic\/liveness"/.test(block.text)) prelude += PRELUDE_IMPORT;
  if (!/\b(?:const|let|var|using)\s+liveness\b/.test(block.text)) {
    prelude += 'declare const liveness: import("@cic/liveness").Liveness;\n';
  }
  if (/\bBun\./.test(block.text)) prelude += PRELUDE_BUN;
  return `${prelude}${block.text}`;
}

/** A directory where `@cic/liveness` is the checkout's `mod.ts`, for Deno. */
function denoProject(): string {
  const dir = tempDir("liveness-docs-check-");
  writeFileSync(
    join(dir, "deno.json"),
    JSON.stringify({
      imports: { "@cic/liveness": join(ROOT, "mod.ts") },
      compilerOptions: { strict: true },
      lock: false,
    }),
  );
  return dir;
}

/** Each block's file name: where it comes from, so that an error names it. */
function fileName(block: Block, index: number): string {
  const extension = block.lang === "js" ? "mjs" : "ts";
  return `${block.where.replace(/[/:.]/g, "_")}_${index}.${extension}`;
}

test("docs: every TypeScript and JavaScript block type-checks", () => {
  const dir = denoProject();
  const files = blocks(isScript).map((block, index) => {
    const name = fileName(block, index);
    writeFileSync(join(dir, name), moduleText(block));
    return name;
  });
  assert.ok(files.length > 0);
  const result = spawnSync(DENO, ["check", "--quiet", ...files], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(result.status, 0, `deno check failed:\n${result.stdout}${result.stderr}`);
});

test("docs: every block marked `run` runs on Deno and exits 0", () => {
  const dir = denoProject();
  for (const [index, block] of blocks((block) => block.roles.includes("run")).entries()) {
    const name = fileName(block, index);
    writeFileSync(join(dir, name), moduleText(block));
    const rundir = mkdtempSync(join(dir, "run-"));
    const result = spawnSync(DENO, ["run", "--allow-all", name], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...cleanEnv(), LIVENESS_RUNDIR: rundir, NO_COLOR: "1" },
    });
    assert.equal(result.status, 0, `${block.where} failed:\n${result.stdout}${result.stderr}`);
  }
});

test("docs: every shell block parses, and names npm scripts that exist", () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
  for (const block of blocks(isShell)) {
    const result = spawnSync("bash", ["-n"], { input: block.text, encoding: "utf8" });
    assert.equal(result.status, 0, `${block.where}: bash -n: ${result.stderr}`);
    for (const [, name] of block.text.matchAll(/\bnpm run (?:--silent )?([\w:-]+)/g)) {
      assert.ok(name in scripts, `${block.where}: no npm script ${name}`);
    }
  }
});

test("docs: the install block names the tarball `npm pack` makes of this version", () => {
  const { name, version } = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const tarball = `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
  const [install] = blocks((block) => block.roles[0] === "install");
  assert.ok(install, "the README shows how to install");
  for (const [named] of install.text.matchAll(/[\w.-]+\.tgz/g)) {
    assert.equal(named, tarball, `${install.where}: the tarball of version ${version}`);
  }
  assert.match(install.text, /npm run build:npm/);
});

/** The location variables of every probe and of the library, and Kubernetes', removed. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) =>
      !/^(?:LIVENESS_|CIC_)|^KUBERNETES_SERVICE_HOST$/.test(name)
    ),
  ) as Record<string, string>;
}

/** A port free on this machine now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject).listen(0, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * An app directory as the README's install makes it: `package.json`, and
 * `@cic/liveness` in `node_modules`: the npm build where this runs from it,
 * else the sources (Bun, Deno and the current Node run them).
 */
function appDir(service: Block): string {
  const dir = tempDir("liveness-docs-app-");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
  const scope = join(dir, "node_modules", "@cic");
  mkdirSync(scope, { recursive: true });
  if (IS_BUILD) {
    symlinkSync(PACKAGE_DIR, join(scope, "liveness"));
  } else {
    const pkg = join(scope, "liveness");
    mkdirSync(pkg);
    for (const entry of ["mod.ts", "src", "probe.sh"]) {
      symlinkSync(join(ROOT, entry), join(pkg, entry));
    }
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "@cic/liveness", type: "module", exports: { ".": "./mod.ts" } }),
    );
  }
  writeFileSync(join(dir, "service.mjs"), service.text);
  return dir;
}

/** `NAME=value ... command args` of a `start` block, one per line (`\` continues a line). */
function startLines(block: Block): string[] {
  return block.text.replace(/\\\n\s*/g, "").split("\n").filter((line) => line.trim() !== "");
}

/** The child's exit code, or `null` if it was still running after `ms`. */
function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const RUNTIMES: Record<string, RuntimeName> = { node: "node", bun: "bun", deno: "deno" };
const BINARIES: Record<RuntimeName, string> = { node: NODE, bun: BUN, deno: DENO };
const [SERVICE] = blocks((block) => block.lang === "js" && block.roles[0] === "service");
const PROBES = blocks((block) => block.roles[0] === "probes");
const HAS_CURL = spawnSync("curl", ["--version"]).status === 0;

for (const start of blocks((block) => block.roles[0] === "start")) {
  for (const line of startLines(start)) {
    const words = line.trim().split(/\s+/);
    const env: Record<string, string> = Object.fromEntries(
      words.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => word.split(/=(.*)/s, 2)),
    );
    const [command, ...args] = words.filter((word) => !/^[A-Z_]+=/.test(word));
    const runtime = RUNTIMES[command];
    test(`docs: ${start.where}: \`${line.trim()}\` runs the service, and its probes answer`, {
      skip: HAS_CURL ? false : "the probes' lines call curl, which this machine lacks",
    }, async () => {
      assert.ok(SERVICE, "the README has a service");
      assert.ok(runtime, `${start.where}: ${command} is not a runtime the test knows`);
      assert.ok(words.every((word) => !/["'$`]/.test(word)), "a start line is plain words");
      const dir = appDir(SERVICE);
      const rundir = join(dir, "run");
      const [port, healthPort] = [await freePort(), await freePort()];
      const written = Object.fromEntries(
        Object.entries(env).map(([name, value]) => [name, value.replace("/tmp/liveness", rundir)]),
      );
      const child = spawn(
        BINARIES[runtime],
        args.map((arg) => arg.replace("/tmp/liveness", rundir)),
        {
          cwd: dir,
          env: { ...cleanEnv(), ...written, PORT: `${port}`, HEALTH_PORT: `${healthPort}` },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout!.on("data", (chunk) => output += chunk);
      child.stderr!.on("data", (chunk) => output += chunk);
      try {
        assert.equal(written.LIVENESS_RUNDIR, rundir, "the line sets LIVENESS_RUNDIR");
        await untilLive(child, healthPort, () => output);
        for (const block of PROBES) {
          const script = block.text.replaceAll("/tmp/liveness", rundir)
            .replaceAll("localhost:9000", `localhost:${healthPort}`);
          const result = spawnSync("bash", ["-c", `set -eo pipefail\n${script}`], {
            cwd: dir,
            encoding: "utf8",
            env: cleanEnv(),
          });
          const said = `${result.stdout}${result.stderr}`;
          assert.equal(result.status, 0, `${block.where} against ${line}:\n${said}\n${output}`);
          assert.match(said, new RegExp(`unit api: healthy \\(pid ${child.pid}\\)`));
          assert.match(said, new RegExp(`unit api: ready \\(pid ${child.pid}\\)`));
        }
        process.kill(child.pid!, "SIGTERM");
        assert.equal(await exitOf(child, 30_000), 0, `the service's exit on SIGTERM:\n${output}`);
        const after = spawnSync(join(ROOT, "probe.sh"), ["--unit", "api", "--rundir", rundir], {
          encoding: "utf8",
        });
        assert.match(after.stdout, /no pid file/, "the shutdown removed the state");
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
  }
}

/** Waits until the service's `/livez` answers 200. */
async function untilLive(child: ChildProcess, port: number, output: () => string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`the service exited:\n${output()}`);
    const status = await fetch(`http://localhost:${port}/livez`).then(
      async (response) => (await response.text(), response.status),
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the service was not live in 30 s:\n${output()}`);
}

test("docs: every YAML block parses, and Kubernetes manifests validate", () => {
  for (const block of blocks((block) => block.lang === "yaml")) {
    for (const document of parseAllDocuments(block.text)) {
      assert.deepEqual(document.errors, [], `${block.where}: YAML errors`);
      const value = document.toJS();
      try {
        new Deployment(asDeployment(value)).validate();
      } catch (error) {
        assert.fail(`${block.where}: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
});

/** A Deployment as it is, or a pod spec's or a container's fragment inside a minimal one. */
// deno-lint-ignore no-explicit-any
function asDeployment(value: any): any {
  if (value?.kind === "Deployment") return value;
  const labels = { app: "docs" };
  const wrap = (spec: unknown) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "docs" },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
  });
  if (Array.isArray(value?.containers)) return wrap(value);
  const containerKeys = ["startupProbe", "livenessProbe", "readinessProbe", "env", "ports"];
  if (containerKeys.some((key) => key in (value ?? {}))) {
    return wrap({ containers: [{ name: "api", image: "app", ...value }] });
  }
  throw new Error("neither a Deployment nor a pod's or a container's fragment");
}

test("docs: every JSON block parses", () => {
  for (const block of blocks((block) => block.lang === "json")) {
    assert.doesNotThrow(() => JSON.parse(block.text), `${block.where}: not JSON`);
  }
});

const HAS_SYSTEMD_ANALYZE = spawnSync("systemd-analyze", ["--version"]).status === 0;

test("docs: every unit file passes systemd-analyze verify", {
  skip: HAS_SYSTEMD_ANALYZE ? false : "systemd-analyze is not installed",
}, () => {
  const dir = tempDir("liveness-docs-units-");
  for (const [index, block] of blocks((block) => block.lang === "ini").entries()) {
    const name = block.text.match(/^# \S*\/([\w@.-]+\.service)$/m)?.[1] ?? `docs-${index}.service`;
    const path = join(dir, name);
    writeFileSync(path, block.text);
    const result = spawnSync("systemd-analyze", ["verify", "--man=no", path], {
      encoding: "utf8",
    });
    // Only a program this machine lacks may be named missing: the unit is for another one.
    const complaints = `${result.stdout}${result.stderr}`.split("\n").filter((line) => {
      const missing = /Command (\S+) is not executable/.exec(line)?.[1];
      return line.trim() !== "" && !(missing && !existsSync(missing));
    });
    assert.deepEqual(complaints, [], `${block.where}: systemd-analyze verify`);
  }
});

/** A transcript's requests: `$ curl [-H 'Name: value'] URL  # status`, and what was printed. */
function requestsOf(
  block: Block,
): { url: string; headers: Headers; status?: number; body: string }[] {
  const requests: { url: string; headers: Headers; status?: number; body: string }[] = [];
  for (const line of block.text.trimEnd().split("\n")) {
    const command = /^\$ (.*?)(?:\s+#\s*(.*))?$/.exec(line);
    if (!command) {
      assert.ok(requests.length > 0, `${block.where}: output before any command`);
      requests.at(-1)!.body += `${line}\n`;
      continue;
    }
    const words = [...command[1].matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)]
      .map((match) => match[1] ?? match[2] ?? match[3]);
    assert.equal(words.shift(), "curl", `${block.where}: a transcript shows curl`);
    const headers = new Headers();
    let url = "";
    for (let i = 0; i < words.length; i++) {
      if (words[i] === "-H") {
        const [name, value] = words[++i].split(/:\s*(.*)/s, 2);
        headers.set(name, value);
      } else if (!words[i].startsWith("-")) url = words[i];
    }
    const status = command[2]?.match(/\b(\d{3})\b/)?.[1];
    requests.push({
      url: /^https?:/.test(url) ? url : `http://${url}`,
      headers,
      status: status ? Number(status) : undefined,
      body: "",
    });
  }
  return requests;
}

test("docs: every HTTP transcript is what the endpoints answer", async () => {
  const rundir = tempDir("liveness-docs-http-");
  for (const block of blocks((block) => block.roles[0] === "transcript")) {
    const code = Number(block.roles.join(" ").match(/set\((-?\d+)\)/)?.[1] ?? 0);
    const liveness = createLiveness({ unit: "api", rundir });
    try {
      await liveness.load([]);
      // `transcript loaded`: before the first set().
      if (!block.roles.includes("loaded")) liveness.set(code);
      for (const { url, headers, status, body } of requestsOf(block)) {
        const response = liveness.fetch(new Request(url, { headers }));
        const text = await response.text();
        if (status !== undefined) assert.equal(response.status, status, `${block.where}: ${url}`);
        if (response.headers.get("content-type")?.includes("json")) {
          assert.deepEqual(JSON.parse(text), JSON.parse(body), `${block.where}: ${url}`);
        } else {
          assert.equal(text.trimEnd(), body.trimEnd(), `${block.where}: ${url}`);
        }
      }
    } finally {
      await liveness.close();
    }
  }
});

test("docs: the state files shown are a live unit's, numbers for numbers", async () => {
  const rundir = tempDir("liveness-docs-state-");
  const liveness = createLiveness({ unit: "api", rundir });
  try {
    await liveness.load([]);
    liveness.set(0);
    const files = readdirSync(liveness.dir).filter((name) => !name.startsWith("."));
    for (const block of blocks((block) => block.roles[0] === "state")) {
      const shown = block.text.trimEnd().split("\n").map((line) => line.split(/\s+(.*)/s, 2));
      assert.deepEqual(shown.map(([name]) => name).sort(), [...files].sort(), block.where);
      for (const [name, sample] of shown) {
        const pattern = sample.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\d+/g, "\\d+");
        const content = readFileSync(join(liveness.dir, name), "utf8");
        assert.match(content, new RegExp(`^${pattern}\n$`), `${block.where}: ${name}`);
      }
    }
  } finally {
    await liveness.close();
  }
});

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

test("docs: every relative link leads to a file, and a heading, that exist", () => {
  for (const file of DOCS) {
    for (const [, target] of proseOf(join(ROOT, file)).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const linked = path ? join(dirname(join(ROOT, file)), path) : join(ROOT, file);
      assert.ok(existsSync(linked), `${file}: the link ${target} leads nowhere`);
      if (anchor === undefined) continue;
      const headings = proseOf(linked).match(/^#+ .*$/gm) ?? [];
      const slugs = headings.map((heading) => slug(heading.replace(/^#+ /, "")));
      assert.ok(
        slugs.includes(anchor),
        `${file}: no heading #${anchor} in ${relative(ROOT, linked)}`,
      );
    }
  }
});

test("docs: every path of the checkout the docs name exists", () => {
  const path = /`((?:tests|examples|bench|scripts|docs|src)\/[\w./-]*\w|mod\.ts|probe\.sh)`/g;
  for (const file of DOCS) {
    for (const [, named] of readFileSync(join(ROOT, file), "utf8").matchAll(path)) {
      // The package's compiled files exist only in a build; `examples/NAME` is a pattern.
      if ((named.startsWith("src/") && named.endsWith(".js")) || /\b[A-Z]{2,}\b/.test(named)) {
        continue;
      }
      assert.ok(existsSync(join(ROOT, named)), `${file} names ${named}, which does not exist`);
    }
  }
});

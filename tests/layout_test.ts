/**
 * The source's layout, read from the files as written: no import circle in
 * `mod.ts` and `src/` (type-only and dynamic imports count), no module that
 * imports one of a higher layer, only the public modules choose the runtime,
 * and no file or class past the size a reader takes in.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The npm build's tests run against JavaScript: the source is not there. */
const skip = !existsSync(join(ROOT, "src", "_unit.ts")) &&
  "reads the TypeScript source: run from the repository";

/** One import of a module: what it names, and whether only types or only at run time. */
interface Edge {
  readonly to: string;
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

/** `mod.ts` and every `.ts` file under `src/`, by path from the root. */
function sourceFiles(): string[] {
  const files = readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
  return ["mod.ts", ...files].sort();
}

/** Code without its comments: the examples in JSDoc import modules users see, not this one. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const STATIC = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^;"]*?\sfrom\s+)?"(\.[^"]+)"/g;
const DYNAMIC = /\bimport\(\s*"(\.[^"]+)"\s*\)/g;

/** The relative imports of each source file, resolved to paths from the root. */
function importGraph(): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  for (const file of sourceFiles()) {
    const text = code(readFileSync(join(ROOT, file), "utf8"));
    const resolve = (specifier: string) => normalize(join(dirname(file), specifier));
    const edges: Edge[] = [];
    for (const [, type, specifier] of text.matchAll(STATIC)) {
      edges.push({ to: resolve(specifier), typeOnly: type !== undefined, dynamic: false });
    }
    for (const [, specifier] of text.matchAll(DYNAMIC)) {
      edges.push({ to: resolve(specifier), typeOnly: false, dynamic: true });
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Every import circle: the strongly connected components of more than one module, or a self-import. */
function circles(graph: Map<string, Edge[]>): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const { to } of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      component.push(member);
    } while (member !== node);
    const selfImport = (graph.get(node) ?? []).some(({ to }) => to === node);
    if (component.length > 1 || selfImport) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/**
 * The layers, lowest first: a module imports only from its own layer or
 * lower ones. The leaves import nothing but types of leaves.
 */
function layer(file: string): number {
  if (
    /^src\/(errors|(check_|shutdown_)?types|_verdict|_options|_flags|http\/types)\.ts$/.test(file)
  ) {
    return 0;
  }
  if (file.startsWith("src/runtime/")) return 1;
  if (file.startsWith("src/http/") || file.startsWith("src/grpc/")) return 3;
  if (file === "src/_unit.ts") return 4;
  if (/^(mod|src\/(liveness|member|probe|probe_cli))\.ts$/.test(file)) return 5;
  return 2; // the core: src/_*.ts
}

test("layout: the import graph is read from every source file", { skip }, () => {
  const graph = importGraph();
  assert.ok(graph.size > 30, `${graph.size} files`);
  const unit = graph.get("src/_unit.ts")!.map(({ to }) => to);
  assert.ok(unit.includes("src/_held.ts") && unit.includes("src/types.ts"), unit.join(" "));
  const serve = graph.get("src/http/serve.ts")!;
  assert.ok(serve.some(({ to, dynamic }) => to === "src/http/_node.ts" && dynamic));
  for (const [file, edges] of graph) {
    for (const { to } of edges) {
      assert.ok(graph.has(to), `${file} imports ${to}, not a source file`);
    }
  }
});

test("layout: no import circle in mod.ts and src/, type-only and dynamic imports counted", {
  skip,
}, () => {
  assert.deepEqual(circles(importGraph()), []);
  // The check itself finds one.
  const circle = new Map([["a", [{ to: "b", typeOnly: true, dynamic: false }]], [
    "b",
    [{ to: "a", typeOnly: false, dynamic: true }],
  ]]);
  assert.deepEqual(circles(circle), [["a", "b"]]);
});

test("layout: no module imports from a higher layer; the leaves import only types of leaves", {
  skip,
}, () => {
  const wrong: string[] = [];
  for (const [file, edges] of importGraph()) {
    for (const { to, typeOnly } of edges) {
      if (layer(to) > layer(file)) wrong.push(`${file} -> ${to}`);
      if (layer(file) === 0 && !typeOnly) wrong.push(`${file} -> ${to} (a leaf's value import)`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("layout: only the public modules choose the runtime; the rest are given it", { skip }, () => {
  const choosers = [...importGraph()]
    .filter(([, edges]) => edges.some(({ to }) => to === "src/runtime/_current.ts"))
    .map(([file]) => file);
  assert.deepEqual(choosers, [
    "src/liveness.ts",
    "src/member.ts",
    "src/probe.ts",
    "src/probe_cli.ts",
  ]);
});

test("layout: no source file over 450 lines, no class over 400", { skip }, () => {
  const long: string[] = [];
  for (const file of sourceFiles()) {
    const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
    if (lines.length > 450) long.push(`${file}: ${lines.length} lines`);
    lines.forEach((line, at) => {
      const name = /^(?:export )?class (\w+)/.exec(line)?.[1];
      if (name === undefined) return;
      const end = lines.indexOf("}", at);
      if (end - at + 1 > 400) long.push(`${file}: class ${name} of ${end - at + 1} lines`);
    });
  }
  assert.deepEqual(long, []);
});

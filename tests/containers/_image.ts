/**
 * The suite's images, built from this machine's own files (no registry is
 * needed): a base with bash, sh, Node, Bun and Deno and the libraries `ldd`
 * names, a distroless-like base with Node only, and on each the npm package
 * and the demo service, through `examples/Dockerfile` and
 * `examples/Dockerfile.distroless`. Built with `podman build --format docker`
 * so that HEALTHCHECK is kept, and tagged with a hash of everything they are
 * made of: a second run finds them and builds nothing.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { podmanSync, podmanSyncOk, PREFIX } from "./_podman.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");
/** The version the npm build gets: the one the suite is written for. */
const VERSION = "0.2.0";

/** Where each program sits in the image, and which file of this machine it is. */
const RUNTIMES = {
  node: { image: "/usr/bin/node", host: "/usr/bin/node" },
  bun: { image: "/usr/local/bin/bun", host: join(ROOT, "node_modules/bun/bin/bun.exe") },
  deno: { image: "/usr/local/bin/deno", host: join(ROOT, "node_modules/deno/deno") },
} as const;
/** The shell tools of the full base: bash for probe.sh, sh for string health commands. */
const TOOLS = ["/usr/bin/bash", "/usr/bin/dash", "/usr/bin/true", "/usr/bin/env"];
/** distroless/nodejs keeps Node here. */
export const DISTROLESS_NODE = "/nodejs/bin/node";

/** The images the suite runs. */
export interface Images {
  /** The full base with the service: bash, Node, Bun, Deno. */
  readonly app: string;
  /** Node only, no shell. */
  readonly distroless: string;
}

/** The files (and programs) the images are made of, hashed for their tag. */
function inputs(): string[] {
  const tree = (dir: string) =>
    readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  return [
    ...["mod.ts", "probe.sh", "deno.json", "scripts/build_npm.ts"].map((path) => join(ROOT, path)),
    ...tree("src"),
    ...tree("examples"),
    fileURLToPath(import.meta.url),
  ].sort();
}

/** A short hash of the inputs and of the programs copied into the images. */
function contentHash(): string {
  const hash = createHash("sha256");
  for (const path of inputs()) hash.update(`${relative(ROOT, path)}\0`).update(readFileSync(path));
  for (const path of [...TOOLS, ...Object.values(RUNTIMES).map(({ host }) => host)]) {
    const { size, mtimeMs } = statSync(path);
    hash.update(`${path}\0${size}\0${mtimeMs}\0`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** `localhost/liveness-test-<name>:<tag>`. */
function imageName(name: string, tag: string): string {
  return `localhost/${PREFIX}${name}:${tag}`;
}

function imageExists(name: string): boolean {
  return podmanSync(["image", "exists", name]).status === 0;
}

/**
 * Removes the suite's images of other builds (older sources or programs).
 * Without --force: an image a container still uses (another checkout's run)
 * stays.
 */
function removeStaleImages(tag: string): void {
  const listed = podmanSyncOk(["images", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n");
  const stale = listed.filter((name) =>
    name.startsWith(`localhost/${PREFIX}`) && !name.endsWith(`:${tag}`)
  );
  for (const name of stale) podmanSync(["rmi", name]);
}

/**
 * The suite's images, built unless images of the same inputs exist.
 * Builds the npm package (`scripts/build_npm.ts`) into `npm/` first.
 */
export function buildImages(log: (line: string) => void = () => {}): Images {
  const tag = contentHash();
  const images = { app: imageName("app", tag), distroless: imageName("distroless", tag) };
  if (Object.values(images).every(imageExists)) return images;
  removeStaleImages(tag);
  const work = join(tmpdir(), `${PREFIX}image-${tag}`);
  rmSync(work, { recursive: true, force: true });
  try {
    log(`building the npm package ${VERSION}`);
    buildNpm();
    log(`building ${images.app} and ${images.distroless}`);
    const app = appContext(join(work, "app"));
    const base = buildBase(join(work, "base"), imageName("base", tag), fullRoot);
    buildExample("Dockerfile", app, base, images.app);
    const slim = buildBase(join(work, "slim"), imageName("distroless-base", tag), distrolessRoot);
    buildExample("Dockerfile.distroless", app, slim, images.distroless);
    // The bases live on as layers of the images; their names are not needed.
    podmanSync(["untag", base]);
    podmanSync(["untag", slim]);
    return images;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `scripts/build_npm.ts <VERSION> --no-test`, into `npm/`. */
function buildNpm(): void {
  const build = spawnSync(
    join(BIN, "deno"),
    ["run", "--allow-all", "scripts/build_npm.ts", VERSION, "--no-test"],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (build.status !== 0) throw new Error(`npm build failed:\n${build.stdout}${build.stderr}`);
}

/** A base image FROM scratch: `fill` writes its root; `extra` lines follow the COPY. */
function buildBase(dir: string, name: string, fill: (root: string) => string[]): string {
  const root = join(dir, "root");
  const extra = fill(root);
  writeFileSync(
    join(dir, "Containerfile"),
    ["FROM scratch", "COPY root/ /", ...extra, ""].join("\n"),
  );
  podmanSyncOk(["build", "--format", "docker", "--quiet", "--tag", name, dir]);
  return name;
}

/** An example Dockerfile built on `base` in the context `context`. */
function buildExample(file: string, context: string, base: string, name: string): void {
  podmanSyncOk([
    "build",
    "--format",
    "docker",
    "--quiet",
    "--build-arg",
    `BASE=${base}`,
    "--file",
    join(ROOT, "examples", file),
    "--tag",
    name,
    context,
  ]);
}

/** The root of the full base: bash, sh, Node, Bun, Deno. */
function fullRoot(root: string): string[] {
  skeleton(root);
  for (const path of TOOLS) copyProgram(root, path, path);
  for (const { image, host } of Object.values(RUNTIMES)) copyProgram(root, host, image);
  symlinkSync("dash", join(root, "usr/bin/sh"));
  return [
    "ENV PATH=/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin",
    "ENV DENO_DIR=/tmp/deno DENO_NO_UPDATE_CHECK=1",
  ];
}

/** The root of a distroless-like base: Node at /nodejs/bin/node, no shell, no env. */
function distrolessRoot(root: string): string[] {
  skeleton(root);
  copyProgram(root, RUNTIMES.node.host, DISTROLESS_NODE);
  return ['ENTRYPOINT ["/nodejs/bin/node"]'];
}

/** The directories every image has, the merged /usr links, a passwd. */
function skeleton(root: string): void {
  for (const dir of ["usr/bin", "usr/lib", "usr/lib64", "usr/local/bin", "etc", "app"]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  for (const dir of ["proc", "sys", "dev", "run", "tmp"]) mkdirSync(join(root, dir));
  chmodSync(join(root, "tmp"), 0o1777);
  for (const link of ["bin", "lib", "lib64", "sbin"]) {
    const host = `/${link}`;
    if (existsSync(host) && lstatSync(host).isSymbolicLink()) {
      symlinkSync(readlinkSync(host), join(root, link));
    }
  }
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
}

/** Copies the program `host` to `image` in `root`, with the libraries it links. */
function copyProgram(root: string, host: string, image: string): void {
  place(root, host, image);
  for (const library of libraries(host)) place(root, library, library);
}

/** Copies the file behind `host` to `image` in `root` (once). */
function place(root: string, host: string, image: string): void {
  const target = join(root, image);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(host), target);
  chmodSync(target, statSync(host).mode & 0o7777);
}

/** The absolute paths `ldd` prints for `program`. */
function libraries(program: string): string[] {
  const ldd = spawnSync("ldd", [program], { encoding: "utf8" });
  if (ldd.status !== 0) throw new Error(`ldd ${program} failed: ${ldd.stderr}`);
  return [...ldd.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((match) => match[1]);
}

/**
 * The build context of the examples: the demo service, a package.json and
 * node_modules with the npm build installed as `npm install` would.
 */
function appContext(dir: string): string {
  const packageDir = join(dir, "node_modules/@cic/liveness");
  mkdirSync(dirname(packageDir), { recursive: true });
  cpSync(join(ROOT, "npm"), packageDir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  mkdirSync(join(dir, "node_modules/.bin"));
  for (const [name, path] of Object.entries<string>(manifest.bin)) {
    symlinkSync(`../@cic/liveness/${path}`, join(dir, "node_modules/.bin", name));
  }
  copyFileSync(join(ROOT, "examples/service.mjs"), join(dir, "service.mjs"));
  copyFileSync(join(ROOT, "examples/package.json"), join(dir, "package.json"));
  return dir;
}

/**
 * An image with systemd as pid 1, made of this machine's own systemd (its
 * `systemd`, `systemctl` and `systemd-notify`, with the libraries `ldd`
 * names) on the suite's app image, and one `Type=notify` unit with
 * `WatchdogSec=` per runtime, each running the example service through
 * `hang.mjs`, which makes its event loop hang on SIGUSR2.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { basename, dirname, join } from "node:path";
import { podmanSync, podmanSyncOk, PREFIX } from "./_podman.ts";
import { type RuntimeName, RUNTIMES } from "./_container.ts";

/** systemd's programs, as the machine has them. */
const PROGRAMS = ["/lib/systemd/systemd", "/bin/systemctl", "/bin/systemd-notify"];
/** The watchdog's period of the units, in seconds: WATCHDOG=1 every half of it. */
export const WATCHDOG_SEC = 3;

/** Why the machine cannot give the image its systemd, or `undefined`. */
export function systemdProblem(): string | undefined {
  const missing = PROGRAMS.filter((path) => !existsSync(path));
  if (missing.length > 0) return `this machine has no systemd to copy (${missing.join(", ")})`;
  return undefined;
}

/** The name of the unit that runs the service on `runtime`. */
export function unitOf(runtime: RuntimeName): string {
  return `api-${runtime}`;
}

/** The unit file of `runtime`'s service, the `index`-th (its ports). */
function unitFile(runtime: RuntimeName, index: number): string {
  return [
    "[Unit]",
    `Description=the example service on ${runtime}, under systemd's watchdog`,
    // The image has none of a system's targets (sysinit.target): a restart would need them.
    "DefaultDependencies=no",
    "",
    "[Service]",
    "Type=notify",
    // systemd-notify may send as its parent only with CAP_SYS_ADMIN, which a container lacks.
    ...runtime === "node" ? ["NotifyAccess=all"] : [],
    "WorkingDirectory=/app",
    `Environment=LIVENESS_UNIT_NAME=${unitOf(runtime)} LIVENESS_RUNDIR=/run/liveness DRAIN_MS=0`,
    `Environment=PORT=${8080 + index} HEALTH_PORT=${9000 + index}`,
    "Environment=PATH=/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin",
    "Environment=DENO_DIR=/tmp/deno DENO_NO_UPDATE_CHECK=1",
    `ExecStart=${RUNTIMES[runtime].run.join(" ")} /app/hang.mjs`,
    `WatchdogSec=${WATCHDOG_SEC}`,
    "Restart=on-failure",
    "RestartSec=1",
    "StandardOutput=inherit",
    "StandardError=inherit",
    "",
  ].join("\n");
}

const HANG = `// The example service, whose event loop hangs on SIGUSR2.
import process from "node:process";

process.on("SIGUSR2", () => {
  for (;;);
});
await import("./service.mjs");
`;

/** The image with systemd on `app`, built unless it exists. */
export function buildSystemdImage(app: string): string {
  const runtimes = Object.keys(RUNTIMES) as RuntimeName[];
  const hash = createHash("sha256").update(app).update(
    readFileSync(fileURLToPath(import.meta.url)),
  );
  runtimes.forEach((runtime, index) => hash.update(unitFile(runtime, index)));
  for (const path of PROGRAMS) hash.update(`${path}\0${statSync(path).mtimeMs}`);
  const name = `localhost/${PREFIX}systemd:${hash.digest("hex").slice(0, 16)}`;
  if (podmanSync(["image", "exists", name]).status === 0) return name;
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}systemd-`));
  try {
    const root = join(dir, "root");
    for (const path of PROGRAMS) {
      place(root, path);
      for (const library of libraries(path)) place(root, library);
    }
    const units = join(root, "etc/systemd/system");
    mkdirSync(units, { recursive: true });
    writeFileSync(
      join(units, "default.target"),
      `[Unit]\nDescription=the suite's services\nWants=${
        runtimes.map((runtime) => `${unitOf(runtime)}.service`).join(" ")
      }\n`,
    );
    runtimes.forEach((runtime, index) =>
      writeFileSync(join(units, `${unitOf(runtime)}.service`), unitFile(runtime, index))
    );
    writeFileSync(join(root, "etc/machine-id"), "");
    writeFileSync(join(root, "etc/os-release"), "ID=liveness-test\nNAME=liveness-test\n");
    mkdirSync(join(root, "app"));
    writeFileSync(join(root, "app/hang.mjs"), HANG);
    writeFileSync(join(dir, "Containerfile"), `FROM ${app}\nCOPY root/ /\n`);
    podmanSyncOk(["build", "--format", "docker", "--quiet", "--tag", name, dir]);
    return name;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Copies the file behind `path` into `root`, under its name in its real
 * directory (the image's /lib is a link; a library keeps its soname).
 */
function place(root: string, path: string): void {
  const real = realpathSync(path);
  const target = join(root, realpathSync(dirname(path)), basename(path));
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(real, target);
  chmodSync(target, statSync(real).mode & 0o7777);
}

/** The absolute paths `ldd` prints for `program`. */
function libraries(program: string): string[] {
  const ldd = spawnSync("ldd", [program], { encoding: "utf8" });
  if (ldd.status !== 0) throw new Error(`ldd ${program} failed: ${ldd.stderr}`);
  return [...ldd.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((match) => match[1]);
}

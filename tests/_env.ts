/**
 * What tests ask of the machine, asked once per process: root, the tools
 * that start processes as another user or in new namespaces, the kernel
 * features a few tests need, the kernel's limits and clock; and whether the
 * suite runs from source or from the npm build. Where a tool or feature is
 * missing, the test (or the part of it) that needs it skips, saying why: the
 * next machine, or kernel, may differ.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

/** Whether Deno runs the suite. */
export const isDeno: boolean = "Deno" in globalThis;

/** `.ts` when the suite runs from source, `.js` when it runs from the npm build. */
export const extension: ".ts" | ".js" = import.meta.url.endsWith(".js") ? ".js" : ".ts";

/** Whether a command runs and exits 0. */
function succeeds(command: string, args: readonly string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/** The command that creates a new pid namespace with its own /proc: a container restart. */
export const UNSHARE: readonly string[] = ["unshare", "--pid", "--fork", "--mount-proc"];

/** Whether this process runs as root. */
export const isRoot: boolean = process.getuid?.() === 0;

/** Whether python3 runs (it makes sockets and FIFOs and holds leases for some tests). */
export const hasPython: boolean = succeeds("python3", ["--version"]);

/** Whether this process can run a command as another user (root and setpriv(1)). */
export const canDropRoot: boolean = isRoot && succeeds("setpriv", ["--version"]);

/** The user and group ids of nobody. */
export const NOBODY_IDS: { readonly uid: number; readonly gid: number } = {
  uid: 65534,
  gid: 65534,
};

/** The command that runs the command after it as nobody: another user, no groups. */
export const NOBODY: readonly string[] = [
  "setpriv",
  `--reuid=${NOBODY_IDS.uid}`,
  `--regid=${NOBODY_IDS.gid}`,
  "--clear-groups",
];

/** `/proc/sys/kernel/pid_max`: pids are below it. */
export const PID_MAX: number = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));

/** `/proc/uptime` now, in hundredths of a second (as the heartbeat file writes it). */
export function uptime(): number {
  const match = /^(\d+)\.(\d\d) /.exec(readFileSync("/proc/uptime", "latin1"));
  assert.ok(match, "/proc/uptime is not as expected");
  return Number(match[1]) * 100 + Number(match[2]);
}

/** Whether `unshare --pid --fork --mount-proc` works here (root, and a kernel that allows it). */
export const canUnshare: boolean = succeeds(UNSHARE[0], [...UNSHARE.slice(1), "true"]);

/** Whether `unshare --uts` works here. */
export const canUnshareUts: boolean = succeeds("unshare", ["--uts", "true"]);

/** Whether strace(1) is installed and may trace here. */
export const canStrace: boolean = succeeds("strace", ["-f", "-o", "/dev/null", "true"]);

/**
 * Why `mount -o remount,hidepid=2 /proc` cannot be done in a new pid
 * namespace here, or `undefined` where it can.
 */
export function hidepidRefusal(): string | undefined {
  if (!canUnshare) return "unshare --pid --fork --mount-proc does not work here (needs root)";
  const result = spawnSync(UNSHARE[0], [
    ...UNSHARE.slice(1),
    "mount",
    "-o",
    "remount,hidepid=2",
    "/proc",
  ], { encoding: "utf8" });
  return result.status === 0
    ? undefined
    : `this kernel refuses to remount /proc with hidepid=2 (${result.stderr.trim()})`;
}

/**
 * A Python program that holds a write lease on the file `sys.argv[1]`,
 * ignoring the kernel's call to let go, so that any open of the file blocks
 * (for up to /proc/sys/fs/lease-break-time) or fails at once where it may
 * not block. It prints `leased`, or `no lease: <why>` and exits 1.
 */
export const LEASE_HOLDER = `import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
except OSError as error:
    print("no lease:", error, flush=True)
    sys.exit(1)
print("leased", flush=True)
time.sleep(120)`;

/**
 * Why a write lease cannot be taken here on a file of `kind`, or
 * `undefined` where the kernel grants it: a regular file in the temporary
 * directory, or a `/proc/<pid>/status` file of another process (Linux 6.18
 * refuses leases on /proc files with EINVAL; older kernels grant them).
 */
export function leaseRefusal(kind: "file" | "proc"): string | undefined {
  if (!leaseRefusals.has(kind)) leaseRefusals.set(kind, askLease(kind));
  return leaseRefusals.get(kind);
}

/** What {@linkcode leaseRefusal} found, by kind of file. */
const leaseRefusals = new Map<"file" | "proc", string | undefined>();

function askLease(kind: "file" | "proc"): string | undefined {
  if (!hasPython) return "python3 is missing (it holds the lease)";
  // The same fcntl as LEASE_HOLDER, on a file made for it or on the /proc
  // file of a child that sleeps meanwhile; the lease is let go at once.
  const result = spawnSync("python3", [
    "-c",
    `import fcntl, os, sys, tempfile, time
if sys.argv[1] == "proc":
    child = os.fork()
    if child == 0:
        time.sleep(10)
        os._exit(0)
    path = "/proc/%d/status" % child
else:
    child = None
    handle, path = tempfile.mkstemp()
    os.close(handle)
fd = os.open(path, os.O_RDONLY)
try:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    print("leased")
except OSError as error:
    print("no lease:", error)
finally:
    os.close(fd)
    if child is None:
        os.unlink(path)
    else:
        os.kill(child, 9)
        os.waitpid(child, 0)`,
    kind,
  ], { encoding: "utf8", timeout: 20_000 });
  const line = (result.stdout ?? "").trim();
  if (line === "leased") return undefined;
  const what = kind === "proc" ? "a /proc file" : "a file in the temporary directory";
  return `this kernel refuses a write lease on ${what} (${line || result.stderr?.trim()})`;
}

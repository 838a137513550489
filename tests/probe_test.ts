/**
 * The probe's verdicts: the cases of `probe_cases.json` against `probe.sh`,
 * the `liveness-probe` command and, where the flags map onto options,
 * `probe()`; then what a table cannot set up: state the library writes, a
 * writer that died, a restarted pid 1, `main()` in this process, and
 * `probe.sh` starting no process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { createLiveness, probe, type ProbeOptions } from "../mod.ts";
import { judgeHeartbeat } from "../src/_verdict.ts";
import { main } from "../src/probe_cli.ts";
import { FLAGS, helpText, parseMaxAge } from "../src/_flags.ts";
import { probeUnit } from "../src/_probe.ts";
import type { Runtime } from "../src/runtime/_runtime.ts";
import { openBlocked } from "../src/runtime/_read.ts";
import { runtime } from "../src/runtime/_current.ts";
import {
  fixture,
  LOCATION_VARIABLES,
  PROBE_CLI,
  PROBE_SH,
  reachableCopy,
  readState,
  ROOT,
  runtimeCommand,
  withEnv,
  withTempDir,
} from "./_helpers.ts";
import {
  canDropRoot,
  canStrace,
  canUnshare,
  canUnshareUts,
  extension,
  hidepidRefusal,
  isDeno,
  LEASE_HOLDER,
  leaseRefusal,
  NOBODY,
  PID_MAX,
  UNSHARE,
  uptime,
} from "./_env.ts";
import { type Case, readCases } from "./_probe_cases.ts";
import { commandFor } from "./_runtimes.ts";
import { holdState, kill, sleeper, startSubject, startTime } from "./_subjects.ts";

/** A case with its placeholders filled in and its files written. */
interface Setup {
  rundir: string;
  args: string[];
  env: Record<string, string>;
  /** The expected output, newline included, unless the case expects the help. */
  output?: string;
  /** `output`, with each `{age}` (measured at the moment of probing) as any number. */
  matcher?: RegExp;
}

const CASES = readCases();
/** Both implementations, run as a Kubernetes exec probe runs them. */
const COMMANDS: [string, string[]][] = [
  ["probe.sh", [PROBE_SH]],
  ["liveness-probe", ((command, args) => [command, ...args])(...runtimeCommand(PROBE_CLI))],
];
const DEFAULT_ARGS = ["--unit", "api", "--rundir", "{rundir}"];
/** The usage line after the name, from the flag table. */
const USAGE = escapeRegExp(helpText("NAME").split("\n")[0].slice("Usage: NAME ".length));
const TRACED = "execve,execveat,clone,clone3,fork,vfork";

/** Fills `{name}`, `{repeat N TEXT}` and `{uptime}` / `{uptime-20.5}` (seconds from now) placeholders. */
function fill(text: string, vars: Record<string, string>): string {
  return text
    .replace(/\{repeat (\d+) ([^}]*)\}/g, (_, count, unit) => unit.repeat(Number(count)))
    .replace(/\{uptime(?:([+-]\d+(?:\.\d\d?)?))?\}/g, (_, offset = "0") => {
      const at = Number(vars.uptime) + Math.round(Number(offset) * 100);
      return `${Math.floor(at / 100)}.${String(at % 100).padStart(2, "0")}`;
    })
    .replace(/\{(\w+)\}/g, (placeholder, name) => {
      assert.ok(name in vars, `unknown placeholder ${placeholder}`);
      return vars[name];
    });
}

function writeFiles(dir: string, files: NonNullable<Case["files"]>, vars: Record<string, string>) {
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    if (typeof file === "string") writeFileSync(path, fill(file, vars));
    else if (file.kind === "directory") mkdirSync(path);
    else if (file.kind === "huge") writeFileSync(path, "1".repeat(1 << 20));
    else if (file.kind === "symlink") symlinkSync(fill(file.target, vars), path);
    else if (file.kind === "socket") makeSocket(path);
    else assert.equal(spawnSync("mkfifo", [path]).status, 0, `mkfifo ${path} failed`);
  }
}

/** A unix socket at `path`: the file stays after the process that bound it exits. */
function makeSocket(path: string): void {
  const script = "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])";
  const result = spawnSync("python3", ["-c", script, path], { encoding: "utf8" });
  assert.equal(result.status, 0, `python3 could not make a socket at ${path}: ${result.stderr}`);
}

/** Sets up `testCase` in a fresh rundir and runs `body` on it. */
async function withCase(testCase: Case, body: (setup: Setup) => void): Promise<void> {
  await withTempDir(async (rundir) => {
    const subject = await startSubject(testCase.pid);
    try {
      const vars = {
        rundir,
        hostname: hostname(),
        pid: String(subject.pid),
        self: String(process.pid),
        self_starttime: startTime(process.pid),
        tgid: String(subject.tgid),
        starttime: subject.starttime,
        pid_max: String(PID_MAX),
        pid_limit: String(PID_MAX - 1),
        pid_plus_2_64: String(BigInt(subject.pid) + 2n ** 64n),
        uptime: String(uptime()),
      };
      if (testCase.files) {
        writeFiles(`${rundir}/${fill(testCase.dir ?? "api", vars)}`, testCase.files, vars);
      }
      if (testCase.elsewhere !== undefined) {
        writeFileSync(`${rundir}/elsewhere`, fill(testCase.elsewhere, vars));
      }
      const output = testCase.reason === undefined
        ? undefined
        : `${fill(testCase.reason.replaceAll("{age}", "\0"), vars)}\n`;
      body({
        rundir,
        args: (testCase.args ?? DEFAULT_ARGS).map((arg) => fill(arg, vars)),
        env: Object.fromEntries(
          Object.entries(testCase.env ?? {}).map(([name, value]) => [name, fill(value, vars)]),
        ),
        output: output?.replaceAll("\0", "{age}"),
        matcher: output?.includes("\0")
          ? new RegExp(`^${output.split("\0").map(escapeRegExp).join("\\d+(?:\\.\\d{1,3})?")}$`)
          : undefined,
      });
    } finally {
      await subject.stop();
    }
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** This process's environment without the location variables, plus `env`. */
function childEnv(env: Record<string, string> = {}): Record<string, string> {
  const base = Object.entries(process.env)
    .filter((entry): entry is [string, string] =>
      entry[1] !== undefined && !LOCATION_VARIABLES.includes(entry[0])
    );
  return { ...Object.fromEntries(base), ...env };
}

function run(command: readonly string[], args: readonly string[], env?: Record<string, string>) {
  const [file, ...rest] = command;
  const result = spawnSync(file, [...rest, ...args], {
    env: childEnv(env),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return result;
}

/** How {@linkcode assertCommands} runs the commands. */
interface CommandsRun {
  /** Variables added to an environment without the location variables. */
  env?: Record<string, string>;
  /** A command that runs the probe after it: `unshare ...`, `setpriv ...`. */
  via?: readonly string[];
  /** The commands to run: both probes by default. */
  commands?: [string, string[]][];
}

/** Runs the commands with `args`; checks the exit code, the one line and a silent stderr. */
function assertCommands(
  args: string[],
  code: number,
  output: string | RegExp,
  { env, via = [], commands = COMMANDS }: CommandsRun = {},
) {
  for (const [name, command] of commands) {
    const result = run([...via, ...command], args, env);
    const shown = env && Object.keys(env).length > 0 ? ` ${JSON.stringify(env)}` : "";
    const what = `${name} ${JSON.stringify(args)}${shown}`;
    assert.equal(result.stderr, "", `${what} wrote to stderr`);
    if (typeof output === "string") {
      assert.equal(result.stdout, output, `${what} printed the wrong line`);
    } else {
      assert.match(result.stdout, output, `${what} printed the wrong line`);
    }
    assert.equal(result.status, code, `${what} exited ${result.status}`);
    assertAgeAboveMax(result.stdout, what);
  }
}

/** A stale heartbeat's line never contradicts itself: the age it shows is above the max. */
function assertAgeAboveMax(line: string, what: string): void {
  const match = /no heartbeat for ([0-9.]+)s \(max ([0-9.]+)s\)/.exec(line);
  if (!match) return;
  const [age, max] = [match[1], match[2]];
  assert.ok(Number(age) > Number(max), `${what}: ${line.trimEnd()}`);
  // The age has no more decimals than the max: it is not more precise than what it is held to.
  const decimals = (seconds: string) => seconds.split(".")[1]?.length ?? 0;
  assert.ok(decimals(age) <= decimals(max), `${what}: ${line.trimEnd()}`);
}

/**
 * The `probe()` options a case's command line stands for, by the flag table.
 * A flag the table has and this mapping does not fails the case: no case
 * with a verdict goes untried on `probe()`.
 */
function toOptions(args: readonly string[], name: string): ProbeOptions {
  const options: { unit?: string; rundir?: string; ready?: boolean; maxAge?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--" && i === args.length - 1) break;
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = FLAGS.find(({ name }) => name === (equals > 2 ? arg.slice(0, equals) : arg));
    const value = flag?.value ? (equals > 2 ? arg.slice(equals + 1) : args[++i]) : undefined;
    switch (flag?.name) {
      case "--unit":
        options.unit = value;
        break;
      case "--rundir":
        options.rundir = value;
        break;
      case "--ready":
        options.ready = true;
        break;
      case "--max-age":
        options.maxAge = parseMaxAge(value ?? "");
        assert.ok(options.maxAge, `case "${name}": --max-age ${value} is no age`);
        break;
      default:
        assert.fail(`case "${name}": the harness cannot map ${JSON.stringify(arg)} onto probe()`);
    }
  }
  return options;
}

for (const testCase of CASES) {
  test(`probe: ${testCase.name}`, { timeout: 60_000 }, async () => {
    await withCase(testCase, ({ args, env, output, matcher }) => {
      if (testCase.help) {
        const [shell, cli] = COMMANDS.map(([name, command]) => {
          const { status, stdout, stderr } = run(command, args, env);
          assert.equal(stderr, "");
          assert.equal(status, testCase.code);
          assert.match(
            stdout,
            new RegExp(`^Usage: ${name} ${USAGE}\n`),
          );
          return stdout.replace(name, "NAME");
        });
        assert.equal(shell, cli, "the two helps differ");
        return;
      }
      assert.ok(output !== undefined);
      assertCommands(args, testCase.code, matcher ?? output, { env });

      if (testCase.status === undefined) {
        // Only usage has no status: every verdict is also probe()'s.
        assert.match(output, /^bad usage: /, "a case with a verdict needs a status");
        return;
      }
      const options = toOptions(args, testCase.name);
      const result = withEnv(env, () => probe(options));
      const reason = output.slice(0, -1).replace(/ from --(unit|rundir):/, " from options.$1:");
      if (matcher) {
        assert.match(`${result.reason}\n`, matcher);
        assertAgeAboveMax(result.reason, `probe() of ${testCase.name}`);
      } else {
        assert.equal(result.reason, reason);
      }
      assert.equal(result.status, testCase.status);
      assert.equal(result.healthy, testCase.code === 0);
    });
  });
}

test("probe: state written by the library, step by step", { timeout: 60_000 }, async () => {
  await withTempDir(async (rundir) => {
    const liveness = createLiveness({ unit: "api", rundir });
    const dir = `${rundir}/api`;
    const args = ["--unit", "api", "--rundir", rundir];

    assertCommands(args, 1, `unit api: no pid file at ${dir}/pid (no directory ${dir})\n`);
    assert.equal(probe({ unit: "api", rundir }).status, "no-pid");

    await liveness.load([]);
    assertCommands(args, 1, "unit api: not started: set(0) not called yet\n");
    assert.deepEqual(probe({ unit: "api", rundir }), {
      healthy: false,
      status: "no-error",
      reason: "unit api: not started: set(0) not called yet",
      unit: "api",
      dir,
      pid: process.pid,
    });

    liveness.set(0);
    assertCommands(args, 0, `unit api: healthy (pid ${process.pid})\n`);
    assert.deepEqual(probe({ unit: "api", rundir }), {
      healthy: true,
      status: "healthy",
      reason: `unit api: healthy (pid ${process.pid})`,
      unit: "api",
      dir,
      pid: process.pid,
      error: 0,
    });

    liveness.set(3);
    assertCommands(args, 1, "unit api: error 3\n");
    assert.deepEqual(probe({ unit: "api", rundir }), {
      healthy: false,
      status: "unhealthy",
      reason: "unit api: error 3",
      unit: "api",
      dir,
      pid: process.pid,
      error: 3,
    });

    liveness.reset();
    assertCommands(
      args,
      1,
      `unit api: no pid file at ${dir}/pid (the directory exists: not loaded)\n`,
    );
    assert.equal(probe({ unit: "api", rundir }).status, "no-pid");
  });
});

test(
  "probe: a writer that dies leaves a pid that is not running",
  { timeout: 60_000 },
  async () => {
    await withTempDir(async (rundir) => {
      const args = ["--unit", "api", "--rundir", rundir];
      const child = await holdState(rundir, "api", 0);
      const { pid } = child;
      try {
        assertCommands(args, 0, `unit api: healthy (pid ${pid})\n`);
      } finally {
        await kill(child);
      }
      assertCommands(args, 1, `unit api: pid ${pid} is not running\n`);
      assert.equal(probe({ unit: "api", rundir }).status, "not-running");
    });
  },
);

test("probe: a new pid 1 facing the state of the old one is not healthy", {
  timeout: 60_000,
  skip: canUnshare
    ? false
    : "unshare --pid --fork --mount-proc failed: a new pid namespace needs root",
}, async () => {
  await withTempDir((rundir) => {
    // A program that was pid 1 of its container writes its state and dies.
    const [command, runArgs] = runtimeCommand(fixture("write_state"));
    const writer = run([...UNSHARE, command, ...runArgs], [rundir, "api", "0"]);
    assert.equal(writer.status, 0, writer.stderr);
    const state = readState(`${rundir}/api`);
    assert.equal(state.pid, "1\n");
    assert.match(state.starttime, /^\d+\n$/);

    // The container restarts: the probe itself is the new pid 1.
    const args = ["--unit", "api", "--rundir", rundir];
    const line = "unit api: state is from an earlier process with pid 1\n";
    assertCommands(args, 1, line, { via: UNSHARE });

    // The seed wrote no start time: there the new pid 1 passes for the old.
    rmSync(`${rundir}/api/starttime`);
    assertCommands(args, 0, "unit api: healthy (pid 1)\n", { via: UNSHARE });
  });
});

test("probe: a state file or directory the probe may not read", {
  timeout: 60_000,
  skip: canDropRoot ? false : "needs root and setpriv(1) to run the probes as another user",
}, async () => {
  await withTempDir((rundir) => {
    const { assertProbes } = asNobody(rundir);
    const dir = `${rundir}/api`;
    writeHealthy(rundir);
    for (const name of ["error", "pid"]) {
      chmodSync(`${dir}/${name}`, 0);
      assertProbes(rundir, `unit api: ${name} file is not readable\n`);
    }
    // A directory on the way that may not be searched: the file may be there.
    chmodSync(`${dir}/pid`, 0o644);
    chmodSync(dir, 0);
    assertProbes(rundir, "unit api: pid file is not readable\n");
    chmodSync(dir, 0o755);
    const locked = `${rundir}/locked`;
    mkdirSync(`${locked}/api`, { recursive: true });
    chmodSync(locked, 0o700);
    assertProbes(locked, "unit api: pid file is not readable\n");
    // Missing is still missing, however deep.
    assertProbes(
      `${rundir}/missing/deeper`,
      `unit api: no pid file at ${rundir}/missing/deeper/api/pid ` +
        `(no directory ${rundir}/missing/deeper)\n`,
    );

    // What lstat says needs no read permission: a directory or a FIFO is no regular file.
    rmSync(`${dir}/error`);
    mkdirSync(`${dir}/error`, { mode: 0 });
    chmodSync(`${dir}/error`, 0);
    assertProbes(rundir, "unit api: error file is not a regular file\n");
    rmSync(`${dir}/error`, { recursive: true });
    assert.equal(spawnSync("mkfifo", ["-m", "000", `${dir}/error`]).status, 0);
    assertProbes(rundir, "unit api: error file is not a regular file\n");
    // A link, even into a directory the probe may not search, is not ours.
    rmSync(`${dir}/error`);
    writeFileSync(`${dir}/error`, "0\n");
    rmSync(`${dir}/starttime`);
    symlinkSync(`${locked}/api/starttime`, `${dir}/starttime`);
    assertProbes(rundir, "unit api: starttime file is a symbolic link\n");
  });
});

test("probe: a unit directory or rundir behind a link the probe may not follow is not readable", {
  timeout: 60_000,
  skip: canDropRoot ? false : "needs root and setpriv(1) to run the probes as another user",
}, async () => {
  await withTempDir((rundir) => {
    const { assertProbes } = asNobody(rundir);
    // The unit's directory is a link into a directory that nobody may search.
    const locked = `${rundir}/locked`;
    writeHealthy(locked);
    chmodSync(locked, 0o700);
    symlinkSync(`${locked}/api`, `${rundir}/api`);
    assertProbes(rundir, "unit api: pid file is not readable\n");
    // A link that leads nowhere is still missing.
    const dangling = `${rundir}/dangling`;
    mkdirSync(dangling);
    symlinkSync(`${rundir}/nowhere`, `${dangling}/api`);
    assertProbes(
      dangling,
      `unit api: no pid file at ${dangling}/api/pid (no directory ${dangling}/api)\n`,
    );
    // /proc/1/root is a link that only pid 1's user (or a tracer) may follow.
    const denied = spawnSync(NOBODY[0], [
      ...NOBODY.slice(1),
      "bash",
      "-c",
      "[[ -L /proc/1/root && ! -e /proc/1/root/ ]]",
    ]);
    if (denied.status === 0) {
      assertProbes(`/proc/1/root${rundir}`, "unit api: pid file is not readable\n");
    } else {
      console.log("skipped /proc/1/root: this user may follow it here");
    }
  });
});

test("probe: /proc mounted with hidepid=2 makes the probes say they cannot tell", {
  skip: canDropRoot ? hidepidRefusal() ?? false : "needs root and setpriv(1)",
  timeout: 60_000,
}, async () => {
  await withTempDir((rundir) => {
    const { home, commands } = asNobody(rundir);
    for (const [name, command] of commands) {
      // In a new pid namespace whose /proc hides root's processes from nobody.
      const script = `mount -o remount,hidepid=2 /proc || exit 1
        mkdir -p "$1/api" || exit 98
        sleep 60 &
        echo $! >"$1/api/pid"; echo 0 >"$1/api/error"
        shift; ${NOBODY.join(" ")} env HOME=${home} "$@"; code=$?; kill %1; exit $code`;
      const result = run(
        [...UNSHARE, "bash", "-c", script, "bash", rundir, ...command],
        ["--unit", "api", "--rundir", rundir],
      );
      assert.match(
        result.stdout,
        /^unit api: probe failed: \/proc shows no pid 1 \(hidepid\?\), so pid \d+ may be running\n$/,
        name,
      );
      assert.equal(result.status, 1, name);
    }
  });
});

/**
 * Both probes run as nobody, on state in `rundir` (opened to all): the
 * commands, from copies nobody can reach (the clone, and the runtime in its
 * node_modules, may live where another user cannot); a home nobody may
 * write (the runtimes' caches go there: nobody cannot write root's); and a
 * check that both fail for the unit api in a rundir, saying `output`.
 */
function asNobody(rundir: string) {
  chmodSync(rundir, 0o755);
  const home = `${rundir}/home`;
  mkdirSync(home);
  chmodSync(home, 0o777);
  const root = reachableCopy(ROOT, ["src", "package.json", "probe.sh"]);
  const [runtime, args] = runtimeCommand(`${root}/${relative(ROOT, PROBE_CLI)}`);
  const commands: [string, string[]][] = [
    ["probe.sh", [`${root}/probe.sh`]],
    ["liveness-probe", [reachableCopy(realpathSync(runtime)), ...args]],
  ];
  const assertProbes = (probeRundir: string, output: string) =>
    assertCommands(["--unit", "api", "--rundir", probeRundir], 1, output, {
      env: { HOME: home },
      via: NOBODY,
      commands,
    });
  return { home, commands, assertProbes };
}

/**
 * Runs `command` with its arguments and the location variables passed through
 * `printf %b` (`\\xe9` becomes that byte): spawn() passes strings as UTF-8.
 */
const WITH_BYTES = [
  "bash",
  "-c",
  `for name in ${LOCATION_VARIABLES.join(" ")}; do
     [[ -v $name ]] && printf -v "$name" %b "\${!name}"
   done
   for arg; do printf -v arg %b "$arg"; set -- "$@" "$arg"; shift; done
   exec "$@"`,
  "bash",
];

test(
  "probe: a unit or rundir that is not valid UTF-8 is refused by both",
  { timeout: 60_000 },
  async () => {
    await withTempDir((rundir) => {
      // Valid state where the bytes lead, which a runtime cannot name: it
      // decodes each bad byte to U+FFFD (Deno refuses such a variable).
      const setup = run([
        ...WITH_BYTES,
        "bash",
        "-c",
        'mkdir -p "$1/$2" && cd "$1/$2" && echo "$3" >pid && echo "$4" >starttime && echo 0 >error',
        "bash",
      ], [rundir, "caf\\xe9", String(process.pid), startTime(process.pid)]);
      assert.equal(setup.status, 0, setup.stderr);
      const notUtf8 = "is not valid UTF-8";
      const cases: [string[], Record<string, string>, string][] = [
        [["--unit", "caf\\xe9", "--rundir", rundir], {}, `unit name from --unit: ${notUtf8}`],
        [
          ["--rundir", rundir],
          { LIVENESS_UNIT_NAME: "caf\\xe9" },
          `unit name from $LIVENESS_UNIT_NAME: ${notUtf8}`,
        ],
        [["--unit", "api", "--rundir", `${rundir}/\\xff`], {}, `rundir from --rundir: ${notUtf8}`],
        [
          ["--unit", "api"],
          { LIVENESS_RUNDIR: "/\\xed\\xa0\\x80" },
          `rundir from $LIVENESS_RUNDIR: ${notUtf8}`,
        ],
      ];
      for (const [args, env, problem] of cases) {
        assertCommands(args, 1, `invalid ${problem}\n`, { env, via: WITH_BYTES });
      }
      // From a program, a lone surrogate is what cannot be written as UTF-8.
      assert.equal(
        probe({ unit: "caf\ud800", rundir }).reason,
        `invalid unit name from options.unit: ${notUtf8}`,
      );
      assert.equal(
        probe({ unit: "api", rundir: `${rundir}/\udc00` }).reason,
        `invalid rundir from options.rundir: ${notUtf8}`,
      );
      assert.equal(probe({ unit: "caf\u00e9\u{1f600}", rundir }).status, "no-pid");
    });
  },
);

test("probe: main() writes the line and returns the exit code", async () => {
  await withTempDir(async (rundir) => {
    let output = "";
    const write = (text: string) => {
      output += text;
    };
    assert.equal(main(["--unit", "api", "--rundir", rundir], write), 1);
    assert.equal(
      output,
      `unit api: no pid file at ${rundir}/api/pid (no directory ${rundir}/api)\n`,
    );

    const liveness = createLiveness({ unit: "api", rundir });
    await liveness.load([]);
    liveness.set(0);
    output = "";
    assert.equal(main([`--unit=api`, `--rundir=${rundir}`], write), 0);
    assert.equal(output, `unit api: healthy (pid ${process.pid})\n`);
    liveness.reset();

    output = "";
    assert.equal(main(["--help"], write), 0);
    assert.match(output, /^Usage: liveness-probe /);
  });
});

test("probe: without --allow-all, Deno's probe command says what is missing", {
  timeout: 60_000,
  skip: isDeno ? false : "only Deno has permissions",
}, async () => {
  await withTempDir((rundir) => {
    mkdirSync(`${rundir}/api`);
    writeFileSync(`${rundir}/api/pid`, `${process.pid}\n`);
    const result = run(
      [process.execPath, "run", "--no-prompt", "--allow-read", "--allow-env", PROBE_CLI],
      ["--unit", "api", "--rundir", rundir],
    );
    assert.equal(result.status, 1);
    assert.match(result.stdout, /^unit api: probe failed: .*--allow-all.*\n$/);

    // probe() in such a program returns the same, and throws nothing.
    const script = `${rundir}/probe.ts`;
    const mod = new URL("../mod.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { probe } from ${JSON.stringify(mod)};\n` +
        `console.log(JSON.stringify(probe({ unit: "api", rundir: ${JSON.stringify(rundir)} })));\n`,
    );
    const program = run([process.execPath, "run", "--no-prompt", "--allow-read", script], []);
    assert.equal(program.status, 0, program.stderr);
    const verdict = JSON.parse(program.stdout);
    assert.equal(verdict.status, "failed");
    assert.match(verdict.reason, /^unit api: probe failed: .*--allow-all/);
  });
});

test("probe: probe.sh judges arguments of 60 kB", { timeout: 60_000 }, () => {
  // Bash's patterns can take quadratic time; probe.sh avoids them (the time
  // is not asserted here: machines are noisy).
  const long = 60_000;
  const none = (dir: string, missing = dir) =>
    `unit api: no pid file at ${dir}/api/pid (no directory ${missing})`;
  const cases: [string[], string][] = [
    [["--rundir", "/".repeat(long)], none("", "/api")],
    [["--rundir", "/a".repeat(long / 2)], none("/a".repeat(long / 2))],
    [["--rundir", `/${".".repeat(long)}`], none(`/${".".repeat(long)}`)],
    [["--rundir", `/${"\u{1f600}".repeat(long / 4)}`], none(`/${"????".repeat(long / 4)}`)],
    [
      ["--rundir", `/${"\u{1f600}".repeat(long / 4)}\ufffd`],
      "invalid rundir from --rundir: is not valid UTF-8",
    ],
    [
      ["--unit", "\u00e9".repeat(long / 2)],
      "invalid unit name from --unit: is longer than 255 bytes",
    ],
  ];
  for (const [args, output] of cases) {
    const result = run([PROBE_SH], ["--unit", "api", ...args]);
    const what = `probe.sh ${args[0]} ${JSON.stringify(args[1].slice(0, 8))}...`;
    assert.equal(result.stdout, `${output}\n`, what);
  }
});

test(
  "probe: probe.sh starts no process and reads each /proc file in one go, on every path of the cases (strace)",
  {
    skip: canStrace ? false : "strace is missing or may not trace here (apt-get install strace)",
    timeout: 120_000,
  },
  async () => {
    for (const testCase of CASES) {
      await withCase(testCase, ({ rundir, args, env, output, matcher }) => {
        const trace = `${rundir}/strace.log`;
        const strace = [
          "strace",
          "-f",
          "-qq",
          "-o",
          trace,
          "-e",
          `trace=${TRACED},openat,lseek`,
          PROBE_SH,
        ];
        const result = run(strace, args, env);
        const what = `${testCase.name}: probe.sh ${JSON.stringify(args)}`;
        assert.equal(result.status, testCase.code, what);
        if (matcher) assert.match(result.stdout, matcher, what);
        else if (output !== undefined) assert.equal(result.stdout, output, what);
        const calls = readFileSync(trace, "utf8").split("\n").filter((line) => line !== "");
        // is_denied's exec of a path that no exec runs fails, and the shell goes on.
        const started = calls.filter((line) =>
          !/ (openat|lseek)\(/.test(line) && !/ execve\("[^"]*\/\.", .* = -1 E/.test(line)
        );
        // The one exec is the kernel starting probe.sh itself.
        assert.equal(started.length, 1, `${what} started processes:\n${started.join("\n")}`);
        assert.match(started[0], /^\d+ +execve\("[^"]*\/probe\.sh", /, what);
        assertReadsInOneGo(calls, what);
      });
    }
  },
);

/**
 * Each `/proc` file is opened once and read without a seek (bash only asks
 * where it is: `lseek(fd, 0, SEEK_CUR)`): the kernel makes a `/proc` file
 * anew after a seek, so two parts of one read could disagree.
 */
function assertReadsInOneGo(calls: string[], what: string): void {
  let current = "";
  const opens: string[] = [];
  for (const line of calls) {
    const open = /openat\([^"]*"([^"]*)"/.exec(line);
    if (open) {
      current = open[1];
      if (current.startsWith("/proc/")) opens.push(current);
    } else if (/ lseek\(/.test(line) && current.startsWith("/proc/")) {
      assert.match(line, / lseek\(\d+, 0, SEEK_CUR\)/, `${what}: ${current}: ${line}`);
    }
  }
  assert.equal(new Set(opens).size, opens.length, `${what} opened a /proc file twice: ${opens}`);
}

/** What `child` prints up to its first newline, or all it printed if it ends first. */
function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    child.stdout!.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")));
    });
    child.once("exit", () => resolve(text));
  });
}

/** A healthy state of this process in `<rundir>/api`. */
function writeHealthy(rundir: string): void {
  mkdirSync(`${rundir}/api`, { recursive: true });
  writeFileSync(`${rundir}/api/pid`, `${process.pid}\n`);
  writeFileSync(`${rundir}/api/starttime`, `${startTime(process.pid)}\n`);
  writeFileSync(`${rundir}/api/error`, "0\n");
}

/**
 * Runs `command` with its stdout on a pipe whose read end is already closed,
 * or on `/dev/full`; returns its exit code, or the signal that ended it.
 * (Python: its child gets SIGPIPE back at its default, as from a shell.)
 */
function exitOf(command: readonly string[], stdout: "closed-pipe" | "/dev/full"): number | string {
  const script = `import os, subprocess, sys
if sys.argv[1] == "closed-pipe":
    r, out = os.pipe()
    os.close(r)
else:
    out = os.open("/dev/full", os.O_WRONLY)
code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode
print(code if code >= 0 else "signal %d" % -code)`;
  const result = spawnSync("python3", ["-c", script, stdout, ...command], {
    env: childEnv(),
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const code = result.stdout.trim();
  return /^\d+$/.test(code) ? Number(code) : code;
}

test("probe: a line that cannot be written (closed pipe, full disk) exits 1, never 141 or 0", {
  timeout: 120_000,
}, async () => {
  await withTempDir((rundir) => {
    writeHealthy(rundir);
    const args = ["--unit", "api", "--rundir", rundir];
    for (const [name, command] of COMMANDS) {
      for (const extra of [[], ["--help"]]) {
        const what = `${name} ${extra.join(" ")}`;
        assert.equal(exitOf([...command, ...args, ...extra], "closed-pipe"), 1, what);
        assert.equal(exitOf([...command, ...args, ...extra], "/dev/full"), 1, what);
      }
    }
    assert.equal(
      main(args, () => {
        throw new Error("EPIPE");
      }),
      1,
    );
  });
});

test("probe: with no file descriptor left, the probes say so", { timeout: 60_000 }, async () => {
  await withTempDir((rundir) => {
    writeHealthy(rundir);
    // bash saves a redirected descriptor at 10 or above: with 5 it can open nothing.
    const result = run(["bash", "-c", 'ulimit -n 5 && exec "$@"', "bash", PROBE_SH], [
      "--unit",
      "api",
      "--rundir",
      rundir,
    ]);
    assert.equal(result.stdout, "unit api: probe failed: too many open files\n");
    assert.equal(result.status, 1);

    const emfile: Runtime = {
      ...runtime,
      readHead: () => {
        throw Object.assign(new Error("EMFILE: too many open files, open"), { code: "EMFILE" });
      },
    };
    const verdict = probeUnit(emfile, { unit: "api", rundir });
    assert.equal(verdict.status, "failed");
    assert.equal(verdict.reason, "unit api: probe failed: too many open files");
    assert.equal(verdict.healthy, false);
  });
});

test("probe: arguments that are not UTF-8 show one '?' per byte in every probe", {
  timeout: 60_000,
}, () => {
  const cases: [string[], string][] = [
    [["caf\\xe9"], "unexpected argument 'caf?'"],
    [["\\xe2\\x82"], "unexpected argument '??'"],
    [["--\\xff\\xfe=1"], "unknown option '--??'"],
    [["--unit", "api", "--", "\\xed\\xa0\\x80x"], "unexpected argument '???x'"],
  ];
  for (const [args, problem] of cases) {
    assertCommands(args, 1, `bad usage: ${problem} (try --help)\n`, { via: WITH_BYTES });
  }
});

test("probe: in a command line over 64 KiB, arguments that are not UTF-8 show one '?' per byte", {
  timeout: 60_000,
}, () => {
  const args = ["--rundir", `/${"/".repeat(70_000)}`, "caf\\xe9"];
  const line = "bad usage: unexpected argument 'caf?' (try --help)\n";
  assertCommands(args, 1, line, { via: WITH_BYTES });
});

test("probe: a host name with a newline is one unit name, whole, in every probe", {
  timeout: 60_000,
  skip: canUnshareUts ? false : "unshare --uts needs root",
}, async () => {
  await withTempDir((rundir) => {
    const sethostname = [
      "unshare",
      "--uts",
      "python3",
      "-c",
      "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execvp(sys.argv[2], sys.argv[2:])",
      "a\nb",
    ];
    const line = `unit a?b: no pid file at ${rundir}/a?b/pid (no directory ${rundir}/a?b)\n`;
    assertCommands(["--rundir", rundir], 1, line, { via: sethostname });
  });
});

test("probe: a stale heartbeat's age shows above its max, with the max's decimals, rounded up", () => {
  const beat = (maxAge: number) => ({ at: 0, maxAge, pid: 1, starttime: undefined });
  // [max age in ms, age in hundredths of a second, the line]
  const cases: [number, number, string][] = [
    [2000, 201, "no heartbeat for 3s (max 2s)"],
    [2000, 300, "no heartbeat for 3s (max 2s)"],
    [10000, 1137, "no heartbeat for 12s (max 10s)"],
    [300, 31, "no heartbeat for 0.4s (max 0.3s)"],
    [2500, 251, "no heartbeat for 2.6s (max 2.5s)"],
    [250, 26, "no heartbeat for 0.26s (max 0.25s)"],
    [125, 13, "no heartbeat for 0.13s (max 0.125s)"],
    [1, 1, "no heartbeat for 0.01s (max 0.001s)"],
  ];
  for (const [maxAge, age, line] of cases) {
    assert.deepEqual(judgeHeartbeat(beat(maxAge), age), { status: "stale", reason: line });
  }
  assert.equal(judgeHeartbeat(beat(2000), 200), undefined);
});

test("probe: rundir / gives the directory /api", () => {
  const result = probe({ unit: "api", rundir: "/" });
  assert.equal(result.dir, "/api");
  assert.equal(probe({ unit: "api", rundir: "///" }).dir, "/api");
});

test("probe: probe({ maxAge }) takes milliseconds, and only a positive whole number", {
  timeout: 60_000,
}, async () => {
  await withTempDir((rundir) => {
    writeHealthy(rundir);
    const [seconds, hundredths] = String(uptime() - 550).padStart(3, "0")
      .match(/^(\d+)(\d\d)$/)!.slice(1);
    writeFileSync(
      `${rundir}/api/heartbeat`,
      `${Number(seconds)}.${hundredths} 10000 ${process.pid} ${startTime(process.pid)}\n`,
    );
    assert.equal(probe({ unit: "api", rundir }).status, "healthy");
    assert.match(
      probe({ unit: "api", rundir, maxAge: 2500 }).reason,
      /^unit api: no heartbeat for \d+(\.\d)?s \(max 2\.5s\)$/,
    );
    for (const maxAge of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => probe({ unit: "api", rundir, maxAge }), TypeError, String(maxAge));
    }
  });
});

test("probe: a FIFO swapped in for a state file hangs no command, nor probe() on Node and Bun", {
  timeout: 180_000,
}, async () => {
  await withTempDir(async (rundir) => {
    writeHealthy(rundir);
    // Puts a regular file, then a FIFO, in place of the error file, over and over.
    const swapper = spawn("python3", [
      "-c",
      `import os, sys
d = sys.argv[1]
while True:
    with open(d + "/.r", "w") as f: f.write("0\\n")
    os.rename(d + "/.r", d + "/error")
    os.mkfifo(d + "/.f")
    os.rename(d + "/.f", d + "/error")`,
      `${rundir}/api`,
    ], { stdio: "ignore" });
    try {
      const args = ["--unit", "api", "--rundir", rundir];
      // probe.sh may stall on such a swap until the probe's timeout (documented).
      for (const [name, command] of COMMANDS.slice(1)) {
        for (let round = 0; round < 8; round++) {
          const result = spawnSync(command[0], [...command.slice(1), ...args], {
            env: childEnv(),
            encoding: "utf8",
            timeout: 20_000,
          });
          assert.equal(result.error, undefined, `${name} hung`);
          assert.match(result.stdout, /^unit api: /, name);
        }
      }
      if (!isDeno) {
        // A hang here is this test's timeout.
        for (const end = Date.now() + 2000; Date.now() < end;) probe({ unit: "api", rundir });
      }
    } finally {
      await kill(swapper);
    }
  });
});

test("probe: the command on Deno loads no node: module, no writer and no server code", {
  timeout: 60_000,
}, () => {
  const [deno] = commandFor("deno", PROBE_CLI);
  const info = spawnSync(deno, ["info", "--json", PROBE_CLI], { encoding: "utf8" });
  assert.equal(info.status, 0, info.stderr);
  const modules: { specifier: string; dependencies?: { specifier: string; code?: unknown }[] }[] =
    JSON.parse(info.stdout).modules;
  // What the command loads: code dependencies from the command, not type-only ones.
  const bySpecifier = new Map(modules.map((module) => [module.specifier, module]));
  const loaded = new Set<string>();
  const visit = (specifier: string) => {
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code) visit(new URL(dependency.specifier, specifier).href);
    }
  };
  visit(pathToFileURL(PROBE_CLI).href);
  const names = [...loaded].map((specifier) =>
    specifier.replace(/^.*\/src\//, "").replace(/\.[jt]s$/, "")
  )
    .sort();
  // The npm build's command is one module (scripts/build_npm.ts bundles it).
  const expected = extension === ".js" ? ["probe_cli"] : [
    "_flags",
    "_location",
    "_members", // the members' checks, read by the same steps
    "_probe",
    "_probe_steps",
    "_proc",
    "_verdict",
    "errors", // LocationError, whose parts make the bad-location line
    "probe_cli",
    "runtime/_bun",
    "runtime/_current",
    "runtime/_deno",
    "runtime/_node",
    "runtime/_read",
    "runtime/_runtime",
  ];
  assert.deepEqual(names, expected);
  assert.ok(![...loaded].some((specifier) => specifier.startsWith("node:")));
});

test("probe: the command on Bun reads and writes through libc, without loading node:fs", {
  timeout: 60_000,
}, async () => {
  await withTempDir(async (dir) => {
    const liveness = createLiveness({ unit: "api", rundir: dir, heartbeat: false });
    await liveness.load([]);
    liveness.set(0);
    // Records the built-in modules the command asks for, then runs it as its bin does.
    const script = `${dir}/run.mjs`;
    writeFileSync(
      script,
      `const asked = [];
const getBuiltinModule = process.getBuiltinModule.bind(process);
process.getBuiltinModule = (id) => (asked.push(id), getBuiltinModule(id));
const { main } = await import(${JSON.stringify(pathToFileURL(PROBE_CLI).href)});
const code = main(["--unit", "api", "--rundir", ${JSON.stringify(dir)}]);
process.stderr.write(JSON.stringify({ code, asked }));`,
    );
    const [bun, args] = commandFor("bun", script);
    const run = spawnSync(bun, args, { encoding: "utf8" });
    const { code, asked } = JSON.parse(run.stderr);
    assert.equal(run.stdout, `unit api: healthy (pid ${process.pid})\n`);
    assert.equal(code, 0);
    assert.deepEqual(asked, ["bun:ffi"]);
    await liveness.close();
  });
});

test("probe: a lease on a state file: every probe that does not wait says one line", {
  skip: leaseRefusal("file") ?? false,
  timeout: 60_000,
}, async () => {
  await withTempDir(async (rundir) => {
    writeHealthy(rundir);
    const leased = `${rundir}/api/error`;
    const holder = spawn("python3", ["-c", LEASE_HOLDER, leased], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      assert.equal(await firstLine(holder), "leased", `no lease on ${leased}`);
      const line = `unit api: probe failed: ${openBlocked(leased).message}`;
      const [name, command] = COMMANDS[1];
      const result = run(command, ["--unit", "api", "--rundir", rundir]);
      assert.equal(result.stdout, `${line}\n`, name);
      assert.equal(result.status, 1, name);
      // Deno's probe() has no open that does not block: it waits (documented).
      if (!isDeno) assert.equal(probe({ unit: "api", rundir }).reason, line);
    } finally {
      await kill(holder);
    }
  });
});

// A lease on the unit's error file, and on the /proc file of the process it
// names (which the probe reads for its start time): a kernel may refuse the
// second (Linux 6.18 does), and that part then skips, saying why.
for (
  const [what, refusal, leasedFile] of [
    ["a state file", leaseRefusal("file"), (rundir: string) => `${rundir}/api/error`],
    ["a /proc file", leaseRefusal("proc"), (_: string, pid: number) => `/proc/${pid}/status`],
  ] as const
) {
  test(
    `probe: an open that blocks (a lease held on ${what}) hangs no command, which exits`,
    { skip: refusal ?? false, timeout: 120_000 },
    async () => {
      await withTempDir(async (rundir) => {
        // The unit names another process: a lease on this one's /proc files
        // could stall this test runner's own reads of them.
        const subject = sleeper();
        mkdirSync(`${rundir}/api`);
        writeFileSync(`${rundir}/api/pid`, `${subject.pid}\n`);
        writeFileSync(`${rundir}/api/starttime`, `${subject.starttime}\n`);
        writeFileSync(`${rundir}/api/error`, "0\n");
        const leased = leasedFile(rundir, subject.pid);
        const holder = spawn("python3", ["-c", LEASE_HOLDER, leased], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        try {
          assert.equal(await firstLine(holder), "leased", `no lease on ${leased}`);
          // probe.sh waits as cat does, until the probe's timeout (documented).
          for (const [name, command] of COMMANDS.slice(1)) {
            const started = performance.now();
            const result = spawnSync(command[0], [
              ...command.slice(1),
              ...["--unit", "api", "--rundir", rundir],
            ], { env: childEnv(), encoding: "utf8", timeout: 20_000 });
            const seconds = (performance.now() - started) / 1000;
            const what = `${name}, ${leased} leased`;
            assert.equal(result.error, undefined, `${what}: hung`);
            assert.equal(result.status, 1, what);
            assert.equal(result.stdout.split(": probe failed: ")[0], "unit api", what);
            assert.ok(result.stdout.includes(leased), `${what}: ${result.stdout}`);
            // Deno's open waits out its 1 s deadline, then the process ends: an
            // open left blocked must not hold it until the lease breaks.
            assert.ok(seconds < 10, `${what}: took ${seconds.toFixed(1)} s`);
          }
          // Node and Bun open without blocking; Deno's probe() would wait (documented).
          if (!isDeno) assert.equal(probe({ unit: "api", rundir }).status, "failed", leased);
        } finally {
          await kill(holder);
          await subject.stop();
        }
      });
    },
  );
}

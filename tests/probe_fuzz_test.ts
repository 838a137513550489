/**
 * Differential fuzzing of the four probes: random states of a unit, biased
 * toward the edges, each probed by `probe.sh`, `probe()` and the command's
 * `main()` (in this process, or in a child as another user), and a sample
 * of them by the `liveness-probe` command on Deno, Bun and Node. Every probe
 * must exit alike and print the same line; only a heartbeat's age, measured
 * at the moment of probing, is masked.
 *
 * The states come from fast-check with a fixed seed, so a run is the same
 * on every machine that has the same processes. Variables:
 *
 * - `LIVENESS_FUZZ_SEED`: another seed (a failure prints its seed).
 * - `LIVENESS_FUZZ_RUNS`: how many states (default 500).
 * - `LIVENESS_FUZZ_ONLY`: the index of the one state to run again, all
 *   probes and commands on it (a failure prints the index).
 *
 * @module
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import process from "node:process";
import { test } from "node:test";
import { parseMaxAge } from "../src/_flags.ts";
import { RUNDIR_VARIABLES, UNIT_VARIABLES } from "../src/_location.ts";
import { answer, type ProbeAnswer, type ProbeRequest } from "./fixtures/probe_answers.ts";
import { canDropRoot, extension, hasPython, NOBODY, NOBODY_IDS, PID_MAX, uptime } from "./_env.ts";
import { PROBE_CLI, PROBE_SH, reachableCopy, ROOT, runtimeCommand } from "./_helpers.ts";
import { commandFor, type RuntimeName } from "./_runtimes.ts";
import { isStill, startSubject, type Subject, type SubjectKind } from "./_subjects.ts";

/** Bytes as a string of one character (U+0000 to U+00FF) per byte. */
type Bytes = string;

/** The state files the probes read: the owner's, and two members' (docs/members.md). */
type FileName =
  | "pid"
  | "starttime"
  | "error"
  | "heartbeat"
  | "ready"
  | "members"
  | "member.1"
  | "member.2";

/** What stands at a state file's place. */
type Entry =
  | { type: "file"; content: Bytes; mode: number; owner: "root" | "nobody" }
  | { type: "directory" | "fifo"; mode: number }
  | { type: "socket" }
  | { type: "link"; target: LinkTarget };

/** Where a symbolic link points: see {@linkcode linkTarget}. */
type LinkTarget = "file" | "dangling" | "loop" | "directory" | "unsearchable" | "device";

/** Where the unit's name or the rundir comes from. */
type Via = "flag" | "flag=" | "flag+variable" | "first" | "second" | "both" | "empty-first";

/** How the rundir is written, around the directory that holds the state. */
type RundirShape =
  | "plain"
  | "slash"
  | "slashes"
  | "double"
  | "dot"
  | "dotdot"
  | "dots"
  | "relative"
  | "empty"
  | "latin1"
  | "replacement"
  | "surrogate"
  | "missing"
  | "through-file"
  | "through-link"
  | "proc-root"
  | "long"
  | "root";

/** One generated state: everything a probe sees, as data that prints and replays. */
interface State {
  subject: SubjectKind;
  /** Who runs the probes. */
  user: "root" | "nobody";
  /** The unit's name; `undefined`: the host name. */
  unit: Bytes | undefined;
  unitVia: Via;
  rundir: RundirShape;
  rundirVia: Via | "default";
  rundirMode: number;
  /**
   * What `<rundir>/<unit>` is: a directory, nothing, a file, or a link to a
   * directory, to nothing, or into a directory only root may search.
   */
  unitDir: "directory" | "missing" | "link" | "dangling" | "unsearchable" | "file";
  unitDirMode: number;
  files: Partial<Record<FileName, Entry>>;
  /** When the heartbeat's `{at}` is, against the maximum age that counts. */
  beat: "fresh" | "stale" | "future";
  /** Seconds beyond the margin for `beat`. */
  beatExtra: number;
  ready: boolean;
  maxAge: Bytes | undefined;
  /** Arguments added to the well-formed ones: usage errors and repeats. */
  junk: Bytes[];
  /** The order of the argument groups (unit, rundir, ready, max age, junk...). */
  order: number[];
  /** Whether the three commands run on this state too. */
  commands: boolean;
}

/** What a probe said: its exit code, its output and its standard error. */
interface Said {
  code: number;
  out: Bytes;
  err: Bytes;
}

const DEFAULT_SEED = 20261125;
const SEED = envInteger("LIVENESS_FUZZ_SEED", DEFAULT_SEED);
const RUNS = envInteger("LIVENESS_FUZZ_RUNS", 500);
const ONLY = process.env.LIVENESS_FUZZ_ONLY === undefined
  ? undefined
  : envInteger("LIVENESS_FUZZ_ONLY", 0);
/** How far (in hundredths of a second) a heartbeat's age stays from its limit: probes run apart. */
const MARGIN = 120_00;
const RUNTIMES: RuntimeName[] = ["deno", "bun", "node"];
const LOCATION_VARIABLES = { unit: UNIT_VARIABLES, rundir: RUNDIR_VARIABLES };
/** How many drivers run probes at once. */
const SHARDS = 2;

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  assert.ok(Number.isSafeInteger(value), `${name} must be an integer, got ${text}`);
  return value;
}

// --- the generator ---------------------------------------------------------

/** One byte, any. */
const anyByte = fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code));
/** Bytes that parsers trip on: NUL, whitespace, signs, DEL, a BOM, U+FFFD, a lone surrogate, not UTF-8. */
const EDGE_BYTES = [
  "\0",
  "\t",
  "\n",
  "\r",
  " ",
  "\x0b",
  "\x1b",
  "\x7f",
  "+",
  "-",
  "0",
  ".",
  "=",
  "\x80",
  "\xff",
  "\xc3\xa9",
  "\xef\xbb\xbf",
  "\xef\xbf\xbd",
  "\xed\xa0\x80",
  "\xf0\x9f\x98\x80",
];
const edgeByte = fc.constantFrom(...EDGE_BYTES);
/** A few bytes, edgy or not. */
const noise = (maxLength: number) =>
  fc.array(fc.oneof(edgeByte, anyByte), { minLength: 1, maxLength }).map((parts) => parts.join(""));

/** Numbers around the limits: pid_max, 2^31, 2^32, 2^53, 2^64, and forms no probe takes. */
const EDGE_NUMBERS = [
  "0",
  "1",
  "-1",
  "-0",
  "00",
  "01",
  "+1",
  "{pid_max-1}",
  "{pid_max}",
  "{pid_max+1}",
  "2147483647",
  "2147483648",
  "-2147483648",
  "4294967295",
  "4294967296",
  "4294967297",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "18446744073709551615",
  "18446744073709551616",
  "-18446744073709551616",
  "{pid+4294967296}",
  "{pid+18446744073709551616}",
  "99999999999999999999999999999999",
  "999999999999999999999999999999999",
  "1e3",
  "0x10",
  "1.0",
  "\xd9\xa1",
];

/** A number as a state file holds it, now and then with something before or after it. */
function numberText(core: fc.Arbitrary<string>): fc.Arbitrary<Bytes> {
  const before = fc.oneof({ weight: 12, arbitrary: fc.constant("") }, {
    weight: 1,
    arbitrary: noise(2),
  });
  const after = fc.oneof(
    { weight: 10, arbitrary: fc.constant("\n") },
    { weight: 2, arbitrary: fc.constant("") },
    { weight: 2, arbitrary: fc.constantFrom("\r\n", "\n\n", " \n", "\n0", "\0", "\t") },
    { weight: 1, arbitrary: noise(3) },
  );
  return fc.tuple(before, core, after).map((parts) => parts.join(""));
}

/** The content of a state file whose good value is `good` (a placeholder). */
function numberContent(good: string, weight: number, ...others: string[]): fc.Arbitrary<Bytes> {
  return fc.oneof(
    { weight, arbitrary: numberText(fc.constant(good)) },
    { weight: 2, arbitrary: numberText(fc.constantFrom(...others, ...EDGE_NUMBERS)) },
    { weight: 1, arbitrary: numberText(fc.bigInt({ min: 0n, max: 1n << 70n }).map(String)) },
    { weight: 1, arbitrary: fc.string({ unit: anyByte, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "\n", " ", "\0", "1".repeat(70_000)) },
  );
}

/** A heartbeat line around `{at}`, which the state's `beat` places in time. */
const heartbeatContent: fc.Arbitrary<Bytes> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constant("{at}") },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            "0.00",
            "{at}0",
            "0{at}",
            "-{at}",
            "99999999999999.00",
            "9999999999999.99",
            "1.5",
            "1",
          ),
        },
      ),
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom("1", "250", "1500", "10000", "60000", "3600000", "86400000"),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom("0", "01", "-1", "9999999999999", "10000000000000", "1e3"),
        },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }).map(String) },
      ),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant("{pid}") },
        { weight: 1, arbitrary: fc.constantFrom("{pid+1}", "0", "1", "{pid}0", "0{pid}") },
      ),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant("{starttime}") },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            "-",
            "{starttime+1}",
            "0",
            "00",
            "99999999999999999999",
            "100000000000000000000",
            "--",
          ),
        },
      ),
      fc.constantFrom("\n", "\n", "\n", "", "\n\n", " \n", "\r\n", "\0"),
      fc.constantFrom(" ", " ", " ", " ", " ", "  ", "\t"),
    ).map(([at, max, pid, starttime, end, space]) => [at, max, pid, starttime].join(space) + end),
  },
  { weight: 1, arbitrary: fc.string({ unit: anyByte, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\n", "{at} 10000 {pid} {starttime} x\n") },
);

/** A reason of `not-ready`: printable, control bytes, UTF-8 or not, long. */
const readyReason = fc.oneof(
  fc.string({ maxLength: 20 }).map(latin1),
  fc.string({ unit: anyByte, maxLength: 30 }),
  fc.integer({ min: 240, max: 260 }).map((length) => "r".repeat(length)),
);

const readyContent: fc.Arbitrary<Bytes> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constantFrom(
        "ready",
        "not-ready",
        "draining",
        "not-ready ",
        "Ready",
        "ready ",
        "not ready",
      ),
      fc.constantFrom("\n", "\n", "", "\n\n", "\r\n", "\0"),
    ).map(([line, end]) => line + end),
  },
  { weight: 3, arbitrary: readyReason.map((reason) => `not-ready ${reason}\n`) },
  { weight: 1, arbitrary: fc.string({ unit: anyByte, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\n", "ready\nready\n", "x".repeat(300)) },
);

/** The members file: the ids, mostly `1 2`, else an edge of its rules. */
const membersContent: fc.Arbitrary<Bytes> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("1 2\n", "1\n", "2 1\n", "1 2", "2\n") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "1  2\n",
      " 1\n",
      "1 \n",
      "1\t2\n",
      "1\n2\n",
      "1 2 3\n",
      "../1\n",
      "1/2\n",
      ".1\n",
      `${"a".repeat(32)} 1\n`,
      `${"a".repeat(33)}\n`,
      `1${" 1".repeat(63)}\n`,
      `1${" 1".repeat(64)}\n`,
      "1 2\0",
      "\n\n",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: anyByte, maxLength: 40 }) },
);

/** A member's line: each field mostly as a member writes it, else an edge. */
const memberContent: fc.Arbitrary<Bytes> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.tuple(
      fc.oneof({ weight: 8, arbitrary: fc.constant("{pid}") }, {
        weight: 1,
        arbitrary: fc.constantFrom("{tgid}", "{pid+1}", "0", "01", "{pid_max}", "99999999999999"),
      }),
      fc.oneof({ weight: 6, arbitrary: fc.constant("{starttime}") }, {
        weight: 2,
        arbitrary: fc.constantFrom("-", "{starttime+1}", "0", "00", "1".repeat(21)),
      }),
      fc.oneof({ weight: 6, arbitrary: fc.constant("-") }, {
        weight: 2,
        arbitrary: fc.constantFrom(
          "{pid}.{starttime}",
          "{pid}.{starttime+1}",
          "{pid+1}.{starttime}",
          "0.1",
          "1.",
          ".1",
          "1.2.3",
          "12345678901.1",
        ),
      }),
      fc.oneof({ weight: 6, arbitrary: fc.constant("0") }, {
        weight: 2,
        arbitrary: fc.constantFrom("-", "3", "-3", "-0", "00", "--", "1".repeat(21)),
      }),
      fc.oneof({ weight: 6, arbitrary: fc.constant("{at} 10000") }, {
        weight: 2,
        arbitrary: fc.constantFrom(
          "{at} 1",
          "{at} 3600000",
          "- -",
          "{at} -",
          "- 10000",
          "{at} 0",
          "{at} 01",
          "0.0 10000",
          "1 10000",
        ),
      }),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant("ready") },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            "draining",
            "left",
            "not-ready",
            "not-ready ",
            "Ready",
            "gone",
          ),
        },
        { weight: 1, arbitrary: readyReason.map((reason) => `not-ready ${reason}`) },
      ),
      fc.constantFrom("\n", "\n", "\n", "", "\n\n", " \n", "\0"),
      fc.constantFrom(" ", " ", " ", " ", " ", "  ", "\t"),
    ).map(([pid, start, token, error, beat, ready, end, space]) =>
      [pid, start, token, error, ...beat.split(" "), ready].join(space) + end
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: anyByte, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\n", "x".repeat(600)) },
);

const FILE_CONTENT: Record<FileName, fc.Arbitrary<Bytes>> = {
  pid: numberContent("{pid}", 16, "{tgid}"),
  starttime: numberContent("{starttime}", 16, "{starttime+1}", "{starttime-1}", "{starttime}0"),
  error: numberContent("0", 10, "3", "-3", "{pid}"),
  heartbeat: heartbeatContent,
  ready: readyContent,
  members: membersContent,
  "member.1": memberContent,
  "member.2": memberContent,
};

/** How likely each file is missing, out of 20. */
const MISSING: Record<FileName, number> = {
  pid: 1,
  starttime: 3,
  error: 1,
  heartbeat: 8,
  ready: 8,
  members: 24,
  "member.1": 2,
  "member.2": 3,
};

const fileMode = fc.oneof(
  { weight: 10, arbitrary: fc.constant(0o644) },
  { weight: 1, arbitrary: fc.constantFrom(0o600, 0o000, 0o200, 0o004, 0o040, 0o640, 0o444) },
);

/** What stands at the place of the state file `name`, or nothing. */
function entry(name: FileName): fc.Arbitrary<Entry | undefined> {
  return fc.oneof(
    { weight: MISSING[name], arbitrary: fc.constant(undefined) },
    {
      weight: 16,
      arbitrary: fc.record({
        type: fc.constant("file" as const),
        content: FILE_CONTENT[name],
        mode: fileMode,
        owner: fc.oneof(
          { weight: 9, arbitrary: fc.constant("root" as const) },
          { weight: 1, arbitrary: fc.constant("nobody" as const) },
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.record({
          type: fc.constantFrom("directory" as const, "fifo" as const),
          mode: fc.constantFrom(0o755, 0o644, 0o000),
        }),
        fc.constant({ type: "socket" as const }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("link" as const),
        target: fc.constantFrom<LinkTarget>(
          "file",
          "dangling",
          "loop",
          "directory",
          "unsearchable",
          "device",
        ),
      }),
    },
  );
}

/** A unit's name: mostly `api`, else an edge of the rules (bytes). */
const unitName: fc.Arbitrary<Bytes> = fc.oneof(
  { weight: 12, arbitrary: fc.constant("api") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "a",
      "-x",
      "--unit",
      "=x",
      "a b",
      ".hidden",
      ".",
      "..",
      "a/b",
      "",
      "a\nb",
      "a\x7fb",
      "a\x01b",
      "caf\xc3\xa9",
      "caf\xe9",
      "\xef\xbf\xbd",
      "\xed\xa0\x80",
      "\xf0\x9f\x98\x80",
      "\xef\xbb\xbfapi",
      "x".repeat(255),
      "x".repeat(256),
      "\xc3\xa9".repeat(127),
      "\xc3\xa9".repeat(128),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.oneof(edgeByte, anyByte), minLength: 1, maxLength: 12 })
      .map((name) => name.replaceAll("\0", "")),
  },
);

const via = fc.constantFrom<Via>(
  "flag",
  "flag",
  "flag",
  "flag=",
  "flag+variable",
  "first",
  "second",
  "both",
  "empty-first",
);

/** Ages as `--max-age` takes them (seconds, bare or with `s`, or `ms`), and not. */
const maxAge: fc.Arbitrary<Bytes | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "10",
      "2.5",
      "0.001",
      "0.25",
      "1",
      "3600",
      "999999999.999",
      "10s",
      "0.25s",
      "250ms",
      "1ms",
      "3600000ms",
      "999999999999ms",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "0",
      "0.0",
      "-1",
      "1e3",
      "1.2345",
      " 1",
      "1 ",
      "",
      "01",
      "1.",
      ".5",
      "1000000000",
      "\xd9\xa1",
      "0s",
      "0ms",
      "1.5ms",
      "10S",
      "10 s",
      "1m",
      "ms",
      "s",
      "01ms",
      "1000000000000ms",
    ),
  },
);

/** Arguments a probe must refuse or that change nothing. */
const junk = fc.constantFrom(
  "--",
  "--bogus",
  "-x",
  "extra",
  "--ready=1",
  "-h=x",
  "--unit",
  "--max-age",
  "--=x",
  "-",
  "--help",
  "-h",
  "--ready",
  "caf\xe9",
  "--\xff=1",
  "\xef\xbf\xbd",
);

/** A calm or a wild value of each part of a state. */
interface Part<T> {
  calm: fc.Arbitrary<T>;
  wild: fc.Arbitrary<T>;
}

/** A state file as the library writes it, or missing (out of 20). */
function good(content: fc.Arbitrary<Bytes>, missing = 0): fc.Arbitrary<Entry | undefined> {
  const file = content.map((text): Entry => ({
    type: "file",
    content: text,
    mode: 0o644,
    owner: "root",
  }));
  return missing === 0 ? file : fc.oneof(
    { weight: missing, arbitrary: fc.constant(undefined) },
    { weight: 20 - missing, arbitrary: file },
  );
}

const LIVE: SubjectKind[] = ["self", "self", "busy", "comm", "init"];

/** What a state is made of: each part calm (as the library writes it) or wild (edges). */
const PARTS = {
  subject: {
    calm: fc.constantFrom(...LIVE),
    wild: fc.constantFrom<SubjectKind>(...LIVE, "dead", "dead", "zombie", "thread"),
  },
  location: {
    calm: fc.record({
      unit: fc.constant<Bytes | undefined>("api"),
      unitVia: via,
      rundir: fc.constant<RundirShape>("plain"),
      rundirVia: via as fc.Arbitrary<Via | "default">,
      rundirMode: fc.constant(0o755),
      unitDir: fc.constant<State["unitDir"]>("directory"),
      unitDirMode: fc.constant(0o755),
    }),
    wild: fc.record({
      unit: fc.oneof({ weight: 12, arbitrary: unitName }, {
        weight: 1,
        arbitrary: fc.constant(undefined),
      }),
      unitVia: via,
      rundir: fc.oneof(
        { weight: 6, arbitrary: fc.constant("plain" as const) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<RundirShape>(
            "slash",
            "slashes",
            "double",
            "dot",
            "dotdot",
            "dots",
            "relative",
            "empty",
            "latin1",
            "replacement",
            "surrogate",
            "missing",
            "through-file",
            "through-link",
            "proc-root",
            "long",
            "root",
          ),
        },
      ),
      rundirVia: fc.oneof({ weight: 12, arbitrary: via }, {
        weight: 1,
        arbitrary: fc.constant("default" as const),
      }),
      rundirMode: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0o755) },
        { weight: 1, arbitrary: fc.constantFrom(0o700, 0o711, 0o000, 0o644) },
      ),
      unitDir: fc.oneof(
        { weight: 6, arbitrary: fc.constant("directory" as const) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            "missing" as const,
            "link" as const,
            "dangling" as const,
            "unsearchable" as const,
            "file" as const,
          ),
        },
      ),
      unitDirMode: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0o755) },
        { weight: 1, arbitrary: fc.constantFrom(0o700, 0o711, 0o500, 0o300, 0o000, 0o644) },
      ),
    }),
  },
  pid: { calm: good(fc.constant("{pid}\n")), wild: entry("pid") },
  starttime: { calm: good(fc.constant("{starttime}\n"), 3), wild: entry("starttime") },
  error: { calm: good(fc.constant("0\n")), wild: entry("error") },
  heartbeat: {
    calm: good(
      fc.tuple(
        fc.constantFrom("1", "250", "1500", "10000", "60000", "3600000", "86400000"),
        fc.constantFrom("{starttime}", "{starttime}", "-", "{starttime+1}"),
        fc.constantFrom("{pid}", "{pid}", "{pid}", "{pid+1}"),
      ).map(([max, starttime, pid]) => `{at} ${max} ${pid} ${starttime}\n`),
      8,
    ),
    wild: entry("heartbeat"),
  },
  ready: {
    calm: good(
      fc.oneof(
        fc.constantFrom("ready\n", "not-ready\n", "draining\n"),
        readyReason.map((reason) => `not-ready ${reason}\n`),
      ),
      6,
    ),
    wild: entry("ready"),
  },
  members: { calm: good(fc.constantFrom("1 2\n", "1\n"), 12), wild: entry("members") },
  "member.1": {
    calm: good(fc.constant("{pid} {starttime} - 0 {at} 10000 ready\n")),
    wild: entry("member.1"),
  },
  "member.2": {
    calm: good(
      fc.constantFrom("{pid} {starttime} - 0 {at} 10000 ready\n", "{pid} - - - {at} 1 ready\n"),
    ),
    wild: entry("member.2"),
  },
  args: {
    calm: fc.record({
      ready: fc.boolean(),
      maxAge: fc.option(
        fc.constantFrom("10", "2.5", "0.001", "0.25", "1", "3600", "2.5s", "250ms"),
        {
          freq: 3,
          nil: undefined,
        },
      ),
      junk: fc.constant<Bytes[]>([]),
    }),
    wild: fc.record({
      ready: fc.boolean(),
      maxAge,
      junk: fc.oneof(
        { weight: 3, arbitrary: fc.constant<Bytes[]>([]) },
        { weight: 1, arbitrary: fc.array(junk, { minLength: 1, maxLength: 2 }) },
      ),
    }),
  },
} satisfies Record<string, Part<unknown>>;

type PartName = keyof typeof PARTS;
const PART_NAMES = Object.keys(PARTS) as PartName[];

/** Every part wild, or only one: so that states also reach the checks that come late. */
const focus: fc.Arbitrary<PartName[]> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(PART_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...PART_NAMES).map((name) => [name]) },
);

function part<N extends PartName>(name: N, wild: PartName[]) {
  const { calm, wild: edgy } = PARTS[name];
  return (wild.includes(name) ? edgy : calm) as (typeof PARTS)[N]["calm"];
}

const stateArbitrary: fc.Arbitrary<State> = focus.chain((wild) =>
  fc.record({
    subject: part("subject", wild),
    user: canDropRoot
      ? fc.oneof(
        { weight: 2, arbitrary: fc.constant("root" as const) },
        { weight: 1, arbitrary: fc.constant("nobody" as const) },
      )
      : fc.constant("root" as const),
    location: part("location", wild),
    files: fc.record({
      pid: part("pid", wild),
      starttime: part("starttime", wild),
      error: part("error", wild),
      heartbeat: part("heartbeat", wild),
      ready: part("ready", wild),
      members: part("members", wild),
      "member.1": part("member.1", wild),
      "member.2": part("member.2", wild),
    }),
    beat: fc.constantFrom("fresh" as const, "fresh" as const, "stale" as const, "future" as const),
    beatExtra: fc.integer({ min: 0, max: 3600 }),
    args: part("args", wild),
    order: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 8, maxLength: 8 }),
    commands: fc.noBias(fc.integer({ min: 0, max: 199 })).map((n) => n < 3),
  })
).map(({ location, args, files, ...rest }) => ({
  ...rest,
  ...location,
  ...args,
  // Entries the generator says are missing are left out, as on disk.
  files: Object.fromEntries(Object.entries(files).filter(([, entry]) => entry)),
}));

// --- the state on disk -------------------------------------------------------

/** The processes the states name, started once per run. */
type Subjects = Record<SubjectKind, Subject>;

/** What a state's placeholders stand for. */
interface Facts {
  subject: Subject;
  /** `/proc/uptime` in hundredths of a second, as the state was written. */
  now: number;
}

/** A state on disk, and how to probe it. */
interface Built {
  index: number;
  state: State;
  subject: Subject;
  /** The directory made for this state (the unit's rundir, or what it is reached from). */
  home: string;
  args: Bytes[];
  env: Record<string, Bytes>;
}

function latin1(text: string): Bytes {
  return Buffer.from(text, "utf8").toString("latin1");
}

function utf8(bytes: Bytes): string {
  return Buffer.from(bytes, "latin1").toString("utf8");
}

/** Fills `{pid}`, `{tgid}`, `{starttime}`, `{pid_max}` (each with an optional `+N` or `-N`). */
function fill(template: Bytes, { subject }: Facts): Bytes {
  return template.replace(
    /\{(pid|tgid|starttime|pid_max)([+-][0-9]+)?\}/g,
    (_, name: string, offset = "0") => {
      const base = name === "pid"
        ? subject.pid
        : name === "tgid"
        ? subject.tgid ?? subject.pid
        : name === "starttime"
        ? subject.starttime
        : PID_MAX;
      return String(BigInt(base) + BigInt(offset));
    },
  );
}

/**
 * Where `{at}` lies for the state's `beat`: `fresh` and `stale` stay
 * {@linkcode MARGIN} away from the maximum age that counts (`--max-age`,
 * else the file's), `future` that far ahead of now; where the machine's
 * uptime is too short for it, another of the three.
 */
function beatAt(state: State, content: Bytes, now: number): string {
  const field = /\{at\}\S*[ \t]+([0-9]+)/.exec(content)?.[1];
  const limit = (state.maxAge === undefined ? undefined : parseMaxAge(utf8(state.maxAge))) ??
    Number(field ?? "10000");
  const extra = state.beatExtra * 100;
  const future = now + MARGIN + extra;
  let at = future;
  if (state.beat === "fresh" && limit / 10 >= MARGIN + extra) {
    at = now - Math.floor(limit / 10) + MARGIN + extra;
  } else if (state.beat !== "future") {
    const stale = now - Math.ceil(limit / 10) - MARGIN - extra;
    if (stale >= 0) at = stale;
  }
  at = Math.max(0, at);
  return `${Math.floor(at / 100)}.${String(at % 100).padStart(2, "0")}`;
}

/** The good content of a state file, for what a link points at. */
function goodContent(name: FileName): Bytes {
  return {
    pid: "{pid}\n",
    starttime: "{starttime}\n",
    error: "0\n",
    heartbeat: "{at} 10000 {pid} {starttime}\n",
    ready: "ready\n",
    members: "1 2\n",
    "member.1": "{pid} {starttime} - 0 {at} 10000 ready\n",
    "member.2": "{pid} {starttime} - 0 {at} 10000 ready\n",
  }[name];
}

/** Special files to make in one python3 run: FIFOs and sockets. */
type Special = [dir: string, name: string, kind: "fifo" | "socket", mode: number];

/**
 * Writes `state` under `home` (a new directory) and returns its command
 * line and variables. FIFOs and sockets go to `specials`.
 */
function build(
  index: number,
  state: State,
  home: string,
  subjects: Subjects,
  now: number,
  specials: Special[],
): Built {
  const subject = subjects[state.subject];
  const facts: Facts = { subject, now };
  mkdirSync(home);
  const unit = state.unit ?? latin1(hostname());
  const rundirPath = rundirFor(state.rundir, home);
  if (state.rundir === "through-file") writeFileSync(`${home}/plain-file`, "");
  if (state.rundir === "through-link") symlinkSync(home, `${home}/link`);
  const name = utf8(unit);
  if (isDirName(unit)) {
    const dir = `${home}/${name}`;
    let target = dir;
    if (state.unitDir === "link" || state.unitDir === "dangling") {
      target = `${home}/.target`;
      symlinkSync(target, dir);
    } else if (state.unitDir === "unsearchable") {
      mkdirSync(`${home}/.locked`, { mode: 0o700 });
      target = `${home}/.locked/target`;
      symlinkSync(target, dir);
    } else if (state.unitDir === "file") {
      writeFileSync(dir, "");
    }
    if (state.unitDir !== "missing" && state.unitDir !== "dangling" && state.unitDir !== "file") {
      mkdirSync(target);
      for (const [file, entry] of Object.entries(state.files) as [FileName, Entry][]) {
        writeEntry(target, file, entry, state, facts, specials);
      }
      chmodSync(target, state.unitDirMode);
    }
  }
  chmodSync(home, state.rundirMode);
  const { args, env } = commandLine(state, unit, rundirPath);
  return { index, state, subject, home, args, env };
}

/** Whether the unit's bytes name a directory this test can make (else no probe looks in it). */
function isDirName(unit: Bytes): boolean {
  const name = utf8(unit);
  return latin1(name) === unit && !name.includes("\ufffd") && !name.includes("/") &&
    name !== "" && name !== "." && name !== ".." && unit.length <= 255;
}

/** The rundir of `shape`, as bytes, around `home`. */
function rundirFor(shape: RundirShape, home: string): Bytes {
  const base = home.slice(0, home.lastIndexOf("/"));
  const last = home.slice(base.length + 1);
  return latin1(
    {
      plain: home,
      slash: `${home}/`,
      slashes: `${home}///`,
      double: `${base}//${last}`,
      dot: `${base}/./${last}`,
      dotdot: `${home}/x/..`,
      dots: `${home}/...`,
      relative: `fuzz/${last}`,
      empty: "",
      latin1: home,
      replacement: `${home}/\ufffd`,
      surrogate: home,
      missing: `${home}/missing/deeper`,
      "through-file": `${home}/plain-file`,
      "through-link": `${home}/link`,
      // A link that only pid 1's user (or a tracer) may follow.
      "proc-root": `/proc/1/root${home}`,
      // Trailing slashes that make the command line longer than 64 KiB.
      long: `${home}${"/".repeat(70_000)}`,
      root: "/",
    }[shape],
  ) + (shape === "latin1" ? "/\xff" : shape === "surrogate" ? "/\xed\xa0\x80" : "");
}

/** Writes the entry `name` in `dir`. */
function writeEntry(
  dir: string,
  name: FileName,
  entry: Entry,
  state: State,
  facts: Facts,
  specials: Special[],
): void {
  const path = `${dir}/${name}`;
  switch (entry.type) {
    case "file": {
      writeFileSync(path, Buffer.from(content(entry.content, state, facts), "latin1"));
      if (entry.owner === "nobody") chownSync(path, NOBODY_IDS.uid, NOBODY_IDS.gid);
      chmodSync(path, entry.mode);
      return;
    }
    case "directory":
      mkdirSync(path);
      chmodSync(path, entry.mode);
      return;
    case "fifo":
      specials.push([dir, name, "fifo", entry.mode]);
      return;
    case "socket":
      specials.push([dir, name, "socket", 0o755]);
      return;
    case "link":
      symlinkSync(linkTarget(dir, name, entry.target, state, facts), path);
  }
}

/** The content of a file: placeholders filled, `{at}` placed in time. */
function content(template: Bytes, state: State, facts: Facts): Bytes {
  const filled = fill(template, facts);
  return filled.includes("{at}")
    ? filled.replaceAll("{at}", beatAt(state, filled, facts.now))
    : filled;
}

/**
 * Makes what a link at `<dir>/<name>` points at and returns its target: a
 * good file elsewhere, nothing, itself, a directory, a good file in a
 * directory nobody may search, or `/dev/null`.
 */
function linkTarget(
  dir: string,
  name: FileName,
  target: LinkTarget,
  state: State,
  facts: Facts,
): string {
  switch (target) {
    case "file":
    case "unsearchable": {
      const elsewhere = `${dir}/.${target}`;
      mkdirSync(elsewhere, { recursive: true });
      writeFileSync(`${elsewhere}/${name}`, content(goodContent(name), state, facts), "latin1");
      if (target === "unsearchable") chmodSync(elsewhere, 0o700);
      return `${elsewhere}/${name}`;
    }
    case "dangling":
      return `${dir}/.nowhere/${name}`;
    case "loop":
      return `${dir}/${name}`;
    case "directory":
      return dir;
    case "device":
      return "/dev/null";
  }
}

/** Makes the FIFOs and sockets, all in one python3 run. */
function makeSpecials(specials: Special[]): void {
  if (specials.length === 0) return;
  const script = `import json, os, socket, sys
for directory, name, kind, mode in json.load(sys.stdin):
    os.chdir(directory)  # a socket's path is short: relative
    if kind == "fifo":
        os.mkfifo(name)
        os.chmod(name, mode)
    else:
        socket.socket(socket.AF_UNIX).bind(name)`;
  const result = spawnSync("python3", ["-c", script], {
    input: JSON.stringify(specials),
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `python3 could not make FIFOs and sockets: ${result.stderr}`);
}

/** The arguments and location variables of `state`, as bytes. */
function commandLine(state: State, unit: Bytes, rundir: Bytes) {
  const env: Record<string, Bytes> = {};
  const groups: Bytes[][] = [];
  const place = (what: "unit" | "rundir", value: Bytes, how: Via | "default") => {
    const [first, second] = LOCATION_VARIABLES[what];
    const flag = `--${what}`;
    switch (how) {
      case "flag":
        groups.push([flag, value]);
        break;
      case "flag=":
        groups.push([`${flag}=${value}`]);
        break;
      case "flag+variable":
        groups.push([flag, value]);
        env[first] = "decoy";
        break;
      case "first":
        env[first] = value;
        break;
      case "second":
        env[second] = value;
        break;
      case "both":
        env[first] = value;
        env[second] = "decoy";
        break;
      case "empty-first":
        env[first] = "";
        env[second] = value;
        break;
    }
  };
  if (state.unit !== undefined) place("unit", unit, state.unitVia);
  place("rundir", rundir, state.rundirVia);
  if (state.ready) groups.push(["--ready"]);
  if (state.maxAge !== undefined) groups.push(["--max-age", state.maxAge]);
  for (const arg of state.junk) groups.push([arg]);
  const ordered = groups.map((group, at) => ({ group, key: state.order[at % state.order.length] }))
    .sort((a, b) => a.key - b.key);
  // Variables cannot hold a NUL byte; arguments neither.
  for (const name of Object.keys(env)) env[name] = env[name].replaceAll("\0", "");
  return {
    args: ordered.flatMap(({ group }) => group).map((arg) => arg.replaceAll("\0", "")),
    env,
  };
}

// --- the probes ----------------------------------------------------------------

/**
 * Runs each record read from stdin (NUL-separated: an id, a count and that
 * many `NAME=value` variables, a count and that many words of a command)
 * with the location variables unset but for its own, and leaves its output
 * in `<dir>/<id>.out`, `.err` and `.code`. Bash, so that bytes that are not
 * UTF-8 reach the probes as they are, and one process runs many probes.
 */
const DRIVER = `unset ${[...UNIT_VARIABLES, ...RUNDIR_VARIABLES].join(" ")}
out=$1
# Bytes, not characters, for read: in a UTF-8 locale a byte such as 0xe9
# before a NUL swallows it. The probes get the locale as it was.
locale_set=\${LC_ALL+set} locale=\${LC_ALL-}
LC_ALL=C
while IFS= read -r -d '' id && IFS= read -r -d '' count; do
  env=()
  for ((i = 0; i < count; i++)); do IFS= read -r -d '' item; env+=("$item"); done
  IFS= read -r -d '' count
  words=()
  for ((i = 0; i < count; i++)); do IFS= read -r -d '' item; words+=("$item"); done
  (
    if [[ $locale_set ]]; then LC_ALL=$locale; else unset LC_ALL; fi
    for item in "\${env[@]}"; do export "$item"; done
    exec "\${words[@]}"
  ) >"$out/$id.out" 2>"$out/$id.err" </dev/null
  echo $? >"$out/$id.code"
done`;

/** One run of a command on a state. */
interface Run {
  id: string;
  index: number;
  who: string;
  env: Record<string, Bytes>;
  words: Bytes[];
}

/** The commands that run as nobody, from copies nobody can reach. */
interface Commands {
  probeSh: string;
  cli: string;
  /** The runtime's program for each runtime, and this one's. */
  programs: Record<RuntimeName, string>;
  answers: [string, string[]];
  /** HOME for the runtimes run as nobody: their caches go there. */
  home: string;
}

/** The runs of `built`: probe.sh always, the three commands on a sample. */
function runsOf(built: Built, commands: Commands | undefined): Run[] {
  const asNobody = built.state.user === "nobody";
  const prefix = asNobody ? NOBODY : [];
  const runs: Run[] = [{
    id: `${built.index}-sh`,
    index: built.index,
    who: "probe.sh",
    env: built.env,
    words: [...prefix, asNobody ? commands!.probeSh : PROBE_SH, ...built.args],
  }];
  if (!built.state.commands && ONLY === undefined) return runs;
  for (const runtime of RUNTIMES) {
    const [program, base] = commandFor(runtime, asNobody ? commands!.cli : PROBE_CLI);
    const env = asNobody ? { ...built.env, HOME: commands!.home } : built.env;
    runs.push({
      id: `${built.index}-${runtime}`,
      index: built.index,
      who: `command on ${runtime}`,
      env,
      words: [...prefix, asNobody ? commands!.programs[runtime] : program, ...base, ...built.args],
    });
  }
  return runs;
}

/** Runs `runs` in {@linkcode SHARDS} drivers at once; resolves when all are done. */
async function drive(runs: Run[], dir: string): Promise<void> {
  const shards = Array.from({ length: SHARDS }, () => [] as Buffer[]);
  // The costly runs (the commands) first, dealt out in turn.
  const sorted = [...runs].sort((a, b) =>
    Number(a.who === "probe.sh") - Number(b.who === "probe.sh")
  );
  sorted.forEach((run, at) => shards[at % SHARDS].push(record(run)));
  const children: ChildProcess[] = [];
  const done = shards.map((records, at) => {
    const input = `${dir}/shard-${at}`;
    writeFileSync(input, Buffer.concat(records));
    const fd = openSync(input, "r");
    const child = spawn("bash", ["-c", DRIVER, "driver", dir], {
      stdio: [fd, "ignore", "inherit"],
    });
    closeSync(fd);
    children.push(child);
    return new Promise<void>((resolve) => child.on("exit", () => resolve()));
  });
  // No probe may hang: a driver still running after this is a failure (the runs without a code).
  const watchdog = setTimeout(() => children.forEach((child) => child.kill("SIGKILL")), 200_000);
  await Promise.all(done);
  clearTimeout(watchdog);
}

function record({ id, env, words }: Run): Buffer {
  const variables = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const fields = [id, String(variables.length), ...variables, String(words.length), ...words];
  return Buffer.from(fields.map((field) => `${field}\0`).join(""), "latin1");
}

function readRun(dir: string, run: Run): Said {
  const read = (suffix: string) => {
    try {
      return readFileSync(`${dir}/${run.id}.${suffix}`, "latin1");
    } catch {
      return undefined;
    }
  };
  const code = read("code");
  return {
    code: code === undefined ? -1 : Number(code),
    out: code === undefined ? "(no answer: hung or killed)" : read("out") ?? "",
    err: read("err") ?? "",
  };
}

/** The answers of `probe()` and `main()` to `requests`, as nobody, from a reachable copy. */
function answersAsNobody(
  requests: ProbeRequest[],
  file: string,
  commands: Commands,
): Promise<ProbeAnswer[]> {
  if (requests.length === 0) return Promise.resolve([]);
  writeFileSync(file, JSON.stringify(requests));
  chmodSync(file, 0o644);
  const [program, args] = commands.answers;
  const child = spawn(NOBODY[0], [...NOBODY.slice(1), program, ...args, file], {
    env: { ...process.env, HOME: commands.home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  child.stderr!.on("data", (chunk) => stderr += chunk);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`probe_answers as nobody exited ${code}: ${stderr}`));
    });
  });
}

function requestOf(built: Built): ProbeRequest {
  const args = built.args.map(utf8);
  const env = Object.fromEntries(
    Object.entries(built.env).map(([name, value]) => [name, utf8(value)]),
  );
  return { args, env, main: !args.some((arg) => arg.includes("\ufffd")) };
}

/** What `probe()` and `main()` said, as the commands would print it. */
function saidOf(answer: ProbeAnswer): [string, Said][] {
  const said: [string, Said][] = [];
  if (answer.probe) {
    said.push([
      "probe()",
      "threw" in answer.probe ? threw(answer.probe.threw) : {
        code: answer.probe.healthy && answer.probe.status === "healthy" ? 0 : 1,
        // probe() names its options where the commands name their flags.
        out: latin1(
          `${answer.probe.reason.replace(/ from options\.(unit|rundir):/, " from --$1:")}\n`,
        ),
        err: "",
      },
    ]);
  }
  if (answer.main) {
    said.push([
      "main()",
      "threw" in answer.main
        ? threw(answer.main.threw)
        : { code: answer.main.code, out: latin1(answer.main.output), err: "" },
    ]);
  }
  return said;
}

function threw(message: string): Said {
  return { code: -1, out: `threw: ${latin1(message)}`, err: "" };
}

/** What may differ between probes of one state: a heartbeat's age, and the help's own name. */
function masked({ code, out, err }: Said): string {
  const line = out.replace(/no heartbeat for [0-9.]+s/, "no heartbeat for {age}s")
    .replace(/^Usage: probe\.sh /, "Usage: liveness-probe ");
  return JSON.stringify([code, line, err]);
}

// --- the report ------------------------------------------------------------------

/** Bytes as one line: printable ASCII as it is, anything else as `\xNN`. */
function escape(bytes: Bytes): string {
  return bytes.replace(
    /[^\x20-\x5b\x5d-\x7e]/g,
    (byte) => byte === "\n" ? "\\n" : `\\x${byte.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** What is under `path`: type, mode, owner, and content or target. */
function listing(path: string, depth = 0): string[] {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return [];
  }
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, "0");
  const owner = stat.uid === 0 ? "root" : String(stat.uid);
  const head = `${"  ".repeat(depth + 2)}${path.slice(path.lastIndexOf("/") + 1)} ${mode} ${owner}`;
  if (stat.isSymbolicLink()) return [`${head} link -> ${readlinkSync(path)}`];
  if (stat.isDirectory()) {
    return [
      `${head} directory`,
      ...readdirSync(path).sort().flatMap((name) => listing(`${path}/${name}`, depth + 1)),
    ];
  }
  if (stat.isFIFO()) return [`${head} fifo`];
  if (stat.isSocket()) return [`${head} socket`];
  const text = readFileSync(path, "latin1");
  const shown = text.length > 200
    ? `${escape(text.slice(0, 200))}... (${text.length} bytes)`
    : escape(text);
  return [`${head} file "${shown}"`];
}

function report(built: Built, answers: [string, Said][]): string {
  const { index, state, subject, home, args, env } = built;
  const runner = "Deno" in globalThis
    ? "deno test --allow-all"
    : "Bun" in globalThis
    ? "bun test"
    : "node --test";
  return [
    `state ${index} of seed ${SEED} (again: LIVENESS_FUZZ_SEED=${SEED} LIVENESS_FUZZ_RUNS=${RUNS} ` +
    `LIVENESS_FUZZ_ONLY=${index} ${runner} tests/probe_fuzz_test${extension})`,
    `  subject: ${state.subject}, pid ${subject.pid}${
      subject.tgid ? ` of process ${subject.tgid}` : ""
    }, ` +
    `start time ${subject.starttime}; probed as ${state.user}`,
    `  arguments: ${args.map((arg) => `"${escape(arg)}"`).join(" ")}`,
    `  variables: ${
      Object.entries(env).map(([name, value]) => `${name}="${escape(value)}"`).join(" ") || "none"
    }`,
    `  files:`,
    ...listing(home),
    `  generated: ${JSON.stringify(state)}`,
    `  answers:`,
    ...answers.map(([who, said]) =>
      `    ${who.padEnd(16)} exit ${said.code} "${escape(said.out)}"${
        said.err ? ` stderr "${escape(said.err)}"` : ""
      }`
    ),
  ].join("\n");
}

// --- the test ----------------------------------------------------------------------

/** How many states got each status from `probe()`, most first: where the states reach. */
function tally(answers: Map<number, ProbeAnswer>): string {
  const counts = new Map<string, number>();
  for (const { probe } of answers.values()) {
    const status = probe === undefined ? "(usage)" : "threw" in probe ? "(threw)" : probe.status;
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([status, count]) => `${status} ${count}`)
    .join(", ");
}

/** The reachable copies and their runtimes, for the probes run as nobody. */
function nobodyCommands(base: string): Commands {
  const home = `${base}/home`;
  mkdirSync(home);
  chmodSync(home, 0o777);
  const root = reachableCopy(ROOT, [
    "src",
    `mod${extension}`,
    "package.json",
    `tests/fixtures/probe_answers${extension}`,
    `tests/_helpers${extension}`,
    `tests/_env${extension}`,
  ]);
  const programs = Object.fromEntries(
    RUNTIMES.map((runtime) => [runtime, reachable(commandFor(runtime, PROBE_CLI)[0])]),
  ) as Record<RuntimeName, string>;
  const [program, args] = runtimeCommand(`${root}/tests/fixtures/probe_answers${extension}`);
  return {
    probeSh: reachableCopy(PROBE_SH),
    cli: `${root}/src/probe_cli${extension}`,
    programs,
    answers: [reachable(program), args],
    home,
  };
}

/** `program`, or a copy of it where nobody cannot run it in place. */
function reachable(program: string): string {
  const real = realpathSync(program);
  return spawnSync(NOBODY[0], [...NOBODY.slice(1), "test", "-x", real]).status === 0
    ? real
    : reachableCopy(real);
}

test("probe fuzz: probe.sh, probe(), main() and the commands on Deno, Bun and Node agree", {
  timeout: 300_000,
  skip: existsSync("/proc/self/stat") && hasPython ? false : "needs /proc and python3",
}, async () => {
  const started = Date.now();
  const states = fc.sample(stateArbitrary, { seed: SEED, numRuns: RUNS });
  const chosen = ONLY === undefined ? states.map((state, index) => ({ state, index })) : [{
    state: states[ONLY],
    index: ONLY,
  }];
  assert.ok(chosen.every(({ state }) => state), `no state ${ONLY} in ${RUNS}`);
  const kinds = [...new Set(chosen.map(({ state }) => state.subject))];
  const started_subjects = await Promise.all(kinds.map((kind) => startSubject(kind)));
  const subjects = Object.fromEntries(
    kinds.map((kind, at) => [kind, started_subjects[at]]),
  ) as Subjects;
  const base = mkdtempSync(`${tmpdir()}/liveness-fuzz-`);
  try {
    chmodSync(base, 0o755);
    const out = `${base}/out`;
    mkdirSync(out);
    const commands = canDropRoot ? nobodyCommands(base) : undefined;
    const now = uptime();
    const specials: Special[] = [];
    const built = chosen.map(({ state, index }) =>
      build(index, state, `${base}/${index}`, subjects, now, specials)
    );
    makeSpecials(specials);

    const runs = built.flatMap((one) => runsOf(one, commands));
    const driven = drive(runs, out);
    const nobody = built.filter((one) => one.state.user === "nobody");
    const fromNobody = answersAsNobody(nobody.map(requestOf), `${base}/requests.json`, commands!);
    const answers = new Map<number, ProbeAnswer>();
    for (const one of built) {
      if (one.state.user === "root") answers.set(one.index, answer(requestOf(one)));
    }
    (await fromNobody).forEach((found, at) => answers.set(nobody[at].index, found));
    await driven;

    const failures: string[] = [];
    const failed: number[] = [];
    for (const one of built) {
      const said: [string, Said][] = [
        ...runs.filter((run) => run.index === one.index).map((run): [string, Said] => [
          run.who,
          readRun(out, run),
        ]),
        ...saidOf(answers.get(one.index)!),
      ];
      const first = masked(said[0][1]);
      if (said.some(([, each]) => masked(each) !== first) || said[0][1].err !== "") {
        failures.push(report(one, said));
        failed.push(one.index);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const commandRuns = runs.length - built.length;
    console.log(
      `probe fuzz: ${built.length} states, seed ${SEED}, ${commandRuns} command runs, ` +
        `${failures.length} disagreements, ${seconds} s; probe() said ${tally(answers)}`,
    );
    for (const kind of kinds) {
      assert.ok(isStill(kind, subjects[kind]), `the ${kind} subject changed during the run`);
    }
    assert.equal(
      failures.length,
      0,
      `the probes disagree on ${failures.length} of ${built.length} states (seed ${SEED}):\n\n` +
        `${failures.slice(0, 5).join("\n\n")}\n\nstates that disagree: ${failed.join(", ")}`,
    );
  } finally {
    await Promise.all(started_subjects.map((subject) => subject.stop()));
    rmSync(base, { recursive: true, force: true });
  }
});

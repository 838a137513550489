import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { canDropRoot, NOBODY } from "./_env.ts";
import { reachableCopy, withTempDir } from "./_helpers.ts";
import { expandCases } from "./_probe_cases.ts";

test("reachableCopy copies a file or a tree out of a private directory, open to all", async () => {
  await withTempDir((tmp) => {
    chmodSync(tmp, 0o700); // like a clone under /root or mktemp -d
    mkdirSync(`${tmp}/tree/inner`, { recursive: true, mode: 0o700 });
    writeFileSync(`${tmp}/tree/inner/data`, "data\n", { mode: 0o600 });
    writeFileSync(`${tmp}/run.sh`, "#!/bin/bash\necho ran\n", { mode: 0o700 });

    const script = reachableCopy(`${tmp}/run.sh`);
    assert.equal(reachableCopy(`${tmp}/run.sh`), script, "one copy per path");
    assert.match(script, /\/run\.sh$/);
    assert.equal(statSync(script).mode & 0o777, 0o755);
    assert.equal(statSync(script.replace(/\/run\.sh$/, "")).mode & 0o777, 0o755);
    const tree = reachableCopy(`${tmp}/tree/`);
    assert.equal(statSync(`${tree}/inner`).mode & 0o777, 0o755);
    assert.equal(statSync(`${tree}/inner/data`).mode & 0o777, 0o644);
    assert.equal(readFileSync(`${tree}/inner/data`, "utf8"), "data\n");
    const some = reachableCopy(tmp, ["tree/inner", "run.sh"]);
    assert.deepEqual(readdirSync(some).sort(), ["run.sh", "tree"]);
    assert.deepEqual(readdirSync(`${some}/tree/inner`), ["data"]);
    assert.equal(statSync(`${some}/tree`).mode & 0o777, 0o755);

    if (canDropRoot) {
      const run = (...args: string[]) =>
        spawnSync(NOBODY[0], [...NOBODY.slice(1), ...args], { encoding: "utf8" });
      assert.notEqual(run(`${tmp}/run.sh`).status, 0, "the original is out of reach");
      assert.equal(run(script).stdout, "ran\n");
      assert.equal(run("cat", `${tree}/inner/data`).stdout, "data\n");
    }
  });
});

test("the case table: a case's files go over the base, null leaves one out, a repeat is refused", () => {
  const base = { pid: "{pid}\n", error: "0\n" };
  const fifo = { kind: "fifo" } as const;
  const code = 1;
  assert.deepEqual(
    expandCases({
      base,
      cases: [
        { name: "as the base", files: {}, code },
        { name: "other", files: { error: "3\n", ready: fifo, pid: null }, code },
        { name: "no directory", code },
      ],
    }),
    [
      { name: "as the base", files: base, code },
      { name: "other", files: { error: "3\n", ready: fifo }, code },
      { name: "no directory", code },
    ],
  );
  const repeats: Record<string, string | null>[] = [{ error: "0\n" }, { ready: null }];
  for (const files of repeats) {
    assert.throws(() => expandCases({ base, cases: [{ name: "x", files, code }] }), {
      message: /^Cannot read the case "x": its (error|ready) file is .*: say only what differs$/,
    });
  }
});

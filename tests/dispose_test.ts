/**
 * The README's `await using liveness = createLiveness(...)`, as written: it
 * type-checks against the public `Liveness` type (`deno check`, and `tsc`
 * in the npm build, which lowers it to code that Node 20 runs: Node 20 has
 * `Symbol.asyncDispose`, not the syntax), and it closes the owner at the end
 * of its block.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLiveness, type Liveness, probe } from "../mod.ts";
import { readState, withTempDir } from "./_helpers.ts";

test("`await using` closes the owner at the end of its block", async () => {
  await withTempDir(async (rundir) => {
    const unit = { unit: "api", rundir };
    let owner: Liveness | undefined;
    {
      await using liveness = createLiveness(unit);
      owner = liveness;
      await liveness.load([]);
      liveness.set(0);
      assert.equal(probe(unit).status, "healthy");
    }
    assert.deepEqual(readState(`${rundir}/api`), {}, "closed: the state is gone");
    const next = createLiveness(unit);
    assert.notEqual(next, owner, "closed: the next createLiveness() makes a new owner");
    await next.close();
  });
});

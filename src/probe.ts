/**
 * The probe: whether the unit whose state is in `<rundir>/<unit>/` is alive
 * and healthy, with one line saying why. The `liveness-probe` command and
 * `probe.sh` give the same verdicts with the same lines.
 *
 * @module
 */
import { assertKnownKeys, describeOption } from "./_options.ts";
import { probeUnit } from "./_probe.ts";
import { runtime } from "./runtime/_current.ts";
import type { ProbeOptions, ProbeResult } from "./types.ts";

/**
 * Reads the unit's state and tells whether it is healthy: only when every
 * check holds, the checks that the repository's `docs/probes.md` lists in
 * their order ("The verdict"). The first that fails gives the verdict, its
 * status one of
 * {@linkcode ProbeStatus}.
 *
 * Options work as for `load()`: `unit` defaults to `$LIVENESS_UNIT_NAME`,
 * `$CIC_UNIT`, then the host name; `rundir` to `$LIVENESS_RUNDIR`,
 * `$CIC_RUNDIR`, then `/run` (empty variables count as unset). `maxAge` is
 * in milliseconds. Synchronous, and it writes nothing.
 *
 * It never throws for the environment: when it cannot judge (`EIO`, no file
 * descriptor left, Deno without `--allow-all`, `/proc` hiding processes) the
 * status is `"failed"`, with a one-line reason. Each file is `lstat`-ed
 * first: a symbolic link, a FIFO or a device is judged by its type, never
 * opened. On Node and Bun the open cannot block; on Deno, whose synchronous
 * open has no `O_NONBLOCK`, a FIFO swapped in between the `lstat` and the
 * open (only a writer of the unit directory can do that) blocks this call
 * (the `liveness-probe` command puts a deadline on its opens).
 *
 * @throws {TypeError} for an unknown option (a misspelt `redy` would
 * otherwise probe without it), a `ready` that is not a boolean, or a
 * `maxAge` that is not a positive whole number.
 *
 * @example The verdicts over a unit's life cycle
 * ```ts
 * import { createLiveness, probe } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * assert.deepEqual(probe({ unit: "api", rundir }), {
 *   healthy: false,
 *   status: "no-pid",
 *   reason: `unit api: no pid file at ${rundir}/api/pid (no directory ${rundir}/api)`,
 *   unit: "api",
 *   dir: `${rundir}/api`,
 * });
 *
 * const liveness = createLiveness({ unit: "api", rundir });
 * await liveness.load([]);
 * assert.equal(probe({ unit: "api", rundir }).reason, "unit api: not started: set(0) not called yet");
 *
 * liveness.set(0);
 * const result = probe({ unit: "api", rundir });
 * assert.equal(result.healthy, true);
 * assert.equal(result.reason, `unit api: healthy (pid ${Deno.pid})`);
 *
 * liveness.set(3);
 * assert.equal(probe({ unit: "api", rundir }).status, "unhealthy");
 * assert.equal(probe({ unit: "api", rundir }).error, 3);
 * liveness.reset();
 * assert.equal(
 *   probe({ unit: "api", rundir }).reason,
 *   `unit api: no pid file at ${rundir}/api/pid (the directory exists: not loaded)`,
 * );
 * ```
 *
 * @example An invalid location is a verdict, not an exception
 * ```ts
 * import { probe } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const result = probe({ unit: "a/b", rundir: "/run" });
 * assert.equal(result.status, "bad-location");
 * assert.equal(result.reason, "invalid unit name from options.unit: contains '/'");
 * ```
 */
export function probe(options?: ProbeOptions): ProbeResult {
  assertKnownKeys(options, OPTION_KEYS, "probe()");
  const { ready, maxAge } = options ?? {};
  if (ready !== undefined && typeof ready !== "boolean") {
    throw new TypeError(
      `Cannot call probe(): options.ready must be true or false, got ${describeOption(ready)}`,
    );
  }
  if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && maxAge > 0)) {
    throw new TypeError(
      "Cannot call probe(): options.maxAge must be a positive whole number of milliseconds, " +
        `got ${describeOption(maxAge)}`,
    );
  }
  return probeUnit(runtime, options);
}

/** Every option `probe()` takes. */
const OPTION_KEYS = ["unit", "rundir", "ready", "maxAge"];

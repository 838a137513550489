/**
 * The probe: whether the unit whose state is in `<rundir>/<unit>/` is alive
 * and healthy, with one line saying why. The `liveness-probe` command and
 * `probe.sh` give the same verdicts with the same lines.
 *
 * @module
 */
import { type ProbeOptions, type ProbeResult, probeUnit } from "./_probe.ts";
import { runtime } from "./_runtime_current.ts";

export type { ProbeOptions, ProbeResult, ProbeStatus } from "./_probe.ts";

/**
 * Reads the unit's state and tells whether it is healthy. Healthy only when
 * all of these hold, checked in this order (the first that fails gives the
 * verdict):
 *
 * 1. `<rundir>/<unit>/pid` is a regular file holding one pid: canonical
 *    decimal (no sign, no leading zero), at most a trailing newline, from 1
 *    to below `/proc/sys/kernel/pid_max`. Only the first bytes are read.
 * 2. That pid is a live process: not a thread id, not a zombie.
 * 3. Where `starttime` exists (the seed's state has none), it holds that
 *    process's start time (field 22 of `/proc/<pid>/stat`): a later process
 *    with the same pid, such as a new pid 1 after a container restart, is
 *    not the one that wrote the state.
 * 4. `error` is a regular file holding a decimal integer, and it is `0`.
 *
 * Options work as for `load()`: `unit` defaults to `$LIVENESS_UNIT_NAME`,
 * `$CIC_UNIT`, then the host name; `rundir` to `$LIVENESS_RUNDIR`,
 * `$CIC_RUNDIR`, then `/run` (empty variables count as unset). An invalid
 * unit or rundir gives status `"bad-location"` rather than an exception.
 * FIFOs and huge files are judged, never waited for nor read whole.
 * Synchronous, and it writes nothing.
 *
 * @throws {Error} when `/proc` or a state file cannot be read for a reason
 * that is no verdict: the file system's refusal (`EACCES`, `EPERM`) makes a
 * state file "not readable" and a missing path (`ENOENT`, `ENOTDIR`, ...)
 * makes it absent, but anything else is thrown as the runtime reports it,
 * for example Deno's `NotCapable` without `--allow-all` (Deno reads `/proc`
 * only with it), `EIO` from a failing disk or `EMFILE` when no file
 * descriptor is left.
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
 *   reason: "unit api: no pid file",
 *   unit: "api",
 *   dir: `${rundir}/api`,
 * });
 *
 * const liveness = createLiveness({ unit: "api", rundir });
 * await liveness.load([]);
 * assert.equal(probe({ unit: "api", rundir }).reason, "unit api: no error file");
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
  return probeUnit(runtime, options);
}

/**
 * `joinUnit()`: a member of a unit, in its own process (a cluster worker, a
 * child process) or thread (a worker thread, a Web Worker). The unit is
 * healthy only while its owner and every member are: see
 * [docs/members.md](../docs/members.md).
 *
 * @module
 */
import { UnitMember } from "./_member.ts";
import { runtime } from "./runtime/_current.ts";
import type { Member, MemberOptions } from "./types.ts";

/**
 * Joins the unit `options` name as the member `options.member`, one of the
 * `members` its owner declared: writes this member's state (not started
 * until `set(0)`) and beats every second. Where the unit directory is not
 * there yet, each beat tries again (reported once). When the owner shuts
 * down, the member runs its `onShutdown` handlers, leaves and, in a
 * process of its own, exits.
 *
 * @throws {TypeError} for a bad member id, unit, rundir or option.
 *
 * @example A worker of a unit with two members
 * ```ts
 * import { createLiveness, joinUnit, probe } from "@cic/liveness";
 * import assert from "node:assert/strict";
 *
 * const rundir = await Deno.makeTempDir();
 * const liveness = createLiveness({ unit: "api", rundir, members: 2 });
 * await liveness.load([]);
 * liveness.set(0);
 * const one = joinUnit({ unit: "api", rundir, member: 1 });
 * const two = joinUnit({ unit: "api", rundir, member: 2 });
 * one.set(0);
 * // Not started: not ready at once, and not live only past its max age.
 * assert.equal(
 *   probe({ unit: "api", rundir, ready: true }).reason,
 *   "unit api: worker 2: not started: set(0) not called yet",
 * );
 * assert.equal(probe({ unit: "api", rundir }).healthy, true);
 * two.set(3);
 * assert.equal(probe({ unit: "api", rundir }).reason, "unit api: worker 2: error 3");
 * two.set(0);
 * assert.equal(probe({ unit: "api", rundir, ready: true }).status, "healthy");
 * await one.leave();
 * await two.leave();
 * await liveness.close();
 * ```
 */
export function joinUnit(options: MemberOptions): Member {
  return new UnitMember(runtime, options);
}

/**
 * The owner's side of a unit's members: their parts in its answers, and
 * the wait for them at the end of the shutdown.
 *
 * @module
 */
import type { HealthPart } from "./_health.ts";
import { membersDoneOn, membersOn } from "./_probe.ts";
import type { Runtime } from "./runtime/_runtime.ts";

/** Each member's part of the `kind` answer of the unit at `dir`, read from its file. */
export function memberParts(runtime: Runtime, dir: string, kind: "live" | "ready"): HealthPart[] {
  return [...membersOn(runtime, dir, kind === "ready")].map(({ name, verdict }) => ({
    name,
    ok: !verdict,
    ...(verdict ?? { status: "healthy", reason: "ok" }),
  }));
}

/** The shutdown's last handler: until every member left or is gone, the owner closed, or the deadline. */
export async function untilMembersDone(
  runtime: Runtime,
  dir: string,
  members: readonly string[],
  isClosed: () => boolean,
): Promise<void> {
  while (!isClosed() && !membersDoneOn(runtime, dir, [...members])) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * lightship's routes, for programs that move from it: `/live`, `/ready` and
 * `/health`, with lightship's statuses and bodies (its
 * `src/factories/createLightship.ts`, 9.x), judged from the owner's
 * {@linkcode LivenessState}. Answered only where `http: { lightship: true }`
 * asks for them.
 *
 * | route     | `200`                                            | `500`                                                                            |
 * | --------- | ------------------------------------------------ | -------------------------------------------------------------------------------- |
 * | `/health` | `SERVER_IS_READY`: ready                         | `SERVER_IS_SHUTTING_DOWN` while draining, else `SERVER_IS_NOT_READY`             |
 * | `/live`   | `SERVER_IS_NOT_SHUTTING_DOWN`: live, not draining | `SERVER_IS_SHUTTING_DOWN` while draining, else `SERVER_IS_NOT_LIVE` (ours)      |
 * | `/ready`  | `SERVER_IS_READY`: ready                         | `SERVER_IS_NOT_READY`                                                            |
 *
 * @module
 */
import type { LivenessState } from "../types.ts";
import type { Answer } from "./_answer.ts";

const HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
};

function answer(status: 200 | 500, body: string): Answer {
  return { status, headers: HEADERS, body };
}

const READY = answer(200, "SERVER_IS_READY");
const NOT_READY = answer(500, "SERVER_IS_NOT_READY");
const SHUTTING_DOWN = answer(500, "SERVER_IS_SHUTTING_DOWN");
const NOT_SHUTTING_DOWN = answer(200, "SERVER_IS_NOT_SHUTTING_DOWN");
/** Not lightship's: it has no liveness but the shutdown; `set(3)` or a hang fail `/live` here. */
const NOT_LIVE = answer(500, "SERVER_IS_NOT_LIVE");

/**
 * The answers of lightship's three routes, each judged from `state()` at
 * the request: `/ready` follows readiness alone (so `readiness: "keep"`
 * keeps it `200` through the drain, where lightship's always fails at the
 * signal), `/health` and `/live` fail at once while draining, as
 * lightship's do.
 */
export function lightshipRoutes(
  state: () => LivenessState,
): Readonly<Record<string, () => Answer>> {
  return {
    "/health": () => {
      const { ready, draining } = state();
      return draining ? SHUTTING_DOWN : ready ? READY : NOT_READY;
    },
    "/live": () => {
      const { live, draining } = state();
      return draining ? SHUTTING_DOWN : live ? NOT_SHUTTING_DOWN : NOT_LIVE;
    },
    "/ready": () => state().ready ? READY : NOT_READY,
  };
}

/**
 * Checks of option objects that TypeScript cannot make for callers in plain
 * JavaScript: a misspelt option must not be silently ignored.
 *
 * @module
 */

/**
 * Throws a `TypeError` when `options` is neither `undefined` nor a plain
 * object, or has an own key that is not in `known`. The message names the
 * call (`what`), the unknown key, the closest known key when one is near
 * (a typo), and every known key.
 *
 * @param options What the caller passed; `undefined` is fine (no options).
 * @param known The option names the call takes.
 * @param what The call as users write it, for the message: `"load()"`.
 *
 * @example
 * ```ts
 * import { assertKnownKeys } from "./_options.ts";
 * import assert from "node:assert/strict";
 *
 * assertKnownKeys({ timeout: 5000 }, ["args", "timeout"], "load()");
 * assert.throws(
 *   () => assertKnownKeys({ timout: 5000 }, ["args", "timeout"], "load()"),
 *   {
 *     name: "TypeError",
 *     message:
 *       'Cannot call load(): unknown option "timout" (did you mean "timeout"?); the options are "args" and "timeout"',
 *   },
 * );
 * ```
 */
export function assertKnownKeys(
  options: unknown,
  known: readonly string[],
  what: string,
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `Cannot call ${what}: its options must be an object, got ${describeOption(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new TypeError(
      `Cannot call ${what}: unknown option ${JSON.stringify(key)}` +
        (near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`) +
        `; the options are ${list(known)}`,
    );
  }
}

/** `"a"`, `"a" and "b"`, `"a", "b" and "c"`. */
function list(names: readonly string[]): string {
  const quoted = names.map((name) => JSON.stringify(name));
  if (quoted.length < 2) return quoted.join("") || "none";
  return `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}`;
}

/**
 * A value as a message shows it, its type plain: strings quoted, big
 * integers with their `n`, functions, arrays and other objects named.
 */
export function describeOption(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  // Not String(): an object may have no toString, or one that lies or throws.
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/** The known name within two edits of `key` (or equal but for case), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : distance(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j] + 1,
        row[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length];
}

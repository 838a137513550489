/**
 * The steps of the probe's checks that read: a state file judged by its
 * type and content, and what `/proc` says of a pid. Each yields the files it
 * wants read, so that the unit's checks (`_probe.ts`) and its members'
 * (`_members.ts`) run on a synchronous reader and on an asynchronous one
 * alike.
 *
 * @module
 */
import { parseProcessStat, parseStatusTgid, PROC_MAX_BYTES } from "./_proc.ts";
import type { FileHead } from "./runtime/_runtime.ts";
import { type Found, parseReadiness, parseStateNumber, type ProcessFacts } from "./_verdict.ts";

/** A file the checks want read: at most `maxBytes` of `path`. */
export interface Read {
  readonly path: string;
  readonly maxBytes: number;
}

/** What a read gave the checks: a {@linkcode FileHead}, or a file the probe may not read. */
export type Seen = FileHead | { readonly kind: "unreadable" };

/** `/proc/<pid>/status` then `/proc/<pid>/stat`, each read whole in one open. */
export function* processFacts(pid: number): Generator<Read, ProcessFacts, Seen> {
  const status = yield { path: `/proc/${pid}/status`, maxBytes: PROC_MAX_BYTES };
  const tgid = status.kind === "file" ? parseStatusTgid(status.text) : undefined;
  if (tgid === undefined) return { kind: "not-running" };
  if (tgid !== pid) return { kind: "thread", tgid };
  const statHead = yield { path: `/proc/${pid}/stat`, maxBytes: PROC_MAX_BYTES };
  const stat = statHead.kind === "file" ? parseProcessStat(statHead.text) : undefined;
  if (stat === undefined) return { kind: "not-running" };
  if (stat.state === "Z" || stat.state === "X") return { kind: "zombie" };
  return { kind: "running", starttime: stat.starttime };
}

/**
 * What is at `<dir>/<name>`: nothing, a problem (`is a symbolic link`,
 * `is empty`, ...), or what `parse` makes of its text. Text longer than
 * `maxBytes`, or with a NUL byte (where bash's `read` stops), is not valid.
 */
export function* readState<T>(
  dir: string,
  name: string,
  maxBytes: number,
  parse: ((text: string) => T | undefined) & { invalid?: string },
): Generator<Read, Found<T>, Seen> {
  const head = yield { path: `${dir}/${name}`, maxBytes };
  const invalid = parse.invalid ?? "is not valid";
  const problem = (problem: string) => ({ kind: "problem" as const, problem });
  switch (head.kind) {
    case "missing":
      return { kind: "missing" };
    case "link":
      return problem("is a symbolic link");
    case "unreadable":
      return problem("is not readable");
    case "directory":
    case "other":
      return problem("is not a regular file");
  }
  if (!head.truncated && (head.text === "" || head.text === "\n")) return problem("is empty");
  const value = head.truncated || head.text.includes("\0") ? undefined : parse(head.text);
  return value === undefined ? problem(invalid) : { kind: "value", value };
}

/** A parser of a state file's number, `signed` or not (`is not a number` when it is not one). */
export function numberParser(signed: boolean) {
  return Object.assign((text: string) => parseStateNumber(text, signed), {
    invalid: "is not a number",
  });
}

/** The ready file, each byte of its reason outside printable ASCII as `?` (bash's view). */
export function readinessParser(text: string) {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  return line.includes("\n") ? undefined : parseReadiness(line.replace(/[^\x20-\x7e]/g, "?"));
}

/**
 * The probe's case table, `probe_cases.json` (its `$comment` says what each
 * field does). A case writes only the files that differ from the table's
 * `base`: {@linkcode expandCases} merges them over it, once, for every
 * reader.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** What stands at a state file's place: its content, or a file of another kind. */
export type CaseFile =
  | string
  | { kind: "directory" | "fifo" | "socket" | "huge" }
  | { kind: "symlink"; target: string };

/** One case, its files made whole. */
export interface Case {
  name: string;
  pid?: "self" | "dead" | "zombie" | "thread" | "comm";
  dir?: string;
  /** The files of `<rundir>/<dir>`; none: the directory is not made. */
  files?: Record<string, CaseFile>;
  elsewhere?: string;
  args?: string[];
  env?: Record<string, string>;
  code: number;
  status?: string;
  reason?: string;
  help?: boolean;
}

/** The table as written: each case's `files` over `base`, `null` leaving a file of it out. */
export interface CaseTable {
  base: Record<string, CaseFile>;
  cases: (Omit<Case, "files"> & { files?: Record<string, CaseFile | null> })[];
}

/**
 * The cases of `table`, each with `base` and its own files merged. A case
 * that writes a file as the base has it, or leaves out a file the base does
 * not have, is an error: the table says each thing once.
 */
export function expandCases(table: CaseTable): Case[] {
  return table.cases.map(({ files, ...rest }) => {
    if (files === undefined) return rest;
    for (const [name, file] of Object.entries(files)) {
      const base = table.base[name];
      if (file === null ? base === undefined : JSON.stringify(file) === JSON.stringify(base)) {
        throw new Error(
          `Cannot read the case "${rest.name}": its ${name} file is ${
            file === null ? "left out, and the base has none" : "the base's"
          }: say only what differs`,
        );
      }
    }
    const merged = Object.entries({ ...table.base, ...files })
      .filter((entry): entry is [string, CaseFile] => entry[1] !== null);
    return { ...rest, files: Object.fromEntries(merged) };
  });
}

/** The cases of `probe_cases.json`, next to this module. */
export function readCases(): Case[] {
  return expandCases(
    JSON.parse(readFileSync(new URL("./probe_cases.json", import.meta.url), "utf8")),
  );
}

/**
 * A {@linkcode Runtime} for fault injection: the real one, with chosen
 * operations failing the way a file system fails.
 *
 * @module
 */
import type { Runtime } from "../src/_runtime.ts";
import { runtime } from "../src/_runtime_current.ts";

/** The operations a fault can be injected into. */
export type Operation =
  | "mkdir"
  | "writeNewFile"
  | "overwrite"
  | "link"
  | "rename"
  | "remove"
  | "readDir";

/** An error shaped like the runtime's own: a message and a POSIX code. */
export function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: injected fault`), { code });
}

/**
 * The real runtime, except that `operation` throws `code`. With `after`,
 * `writeNewFile` first writes the file, then fails: a disk that filled up
 * mid-write.
 */
export function faultyRuntime(
  operation: Operation | Operation[],
  code: string,
  { after = false } = {},
): Runtime {
  const faults = Object.fromEntries(
    [operation].flat().map((name) => [name, (...args: unknown[]) => {
      if (after) (runtime[name] as (...args: unknown[]) => unknown)(...args);
      throw systemError(code);
    }]),
  );
  return { ...runtime, ...faults };
}

/**
 * The real runtime with another environment, host name and working
 * directory, and files (by path) that read as other text.
 */
export function runtimeWith(
  overrides: {
    env?: Record<string, string>;
    hostname?: string;
    cwd?: string;
    files?: Record<string, string>;
  },
): Runtime {
  return {
    ...runtime,
    readHead: (path, maxBytes) => {
      const text = overrides.files?.[path];
      return text === undefined
        ? runtime.readHead(path, maxBytes)
        : { kind: "file", text, truncated: false };
    },
    env: (name) => overrides.env?.[name],
    hostname: () => overrides.hostname ?? "test-host",
    cwd: () => overrides.cwd ?? runtime.cwd(),
  };
}

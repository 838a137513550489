/**
 * A {@linkcode Runtime} for fault injection: the real one, with chosen file
 * operations of the state writer failing the way a file system fails, from
 * the moment a test says so.
 *
 * @module
 */
import type { Runtime } from "../src/runtime/_runtime.ts";
import { runtime } from "../src/runtime/_current.ts";
import type { StateFs } from "../src/runtime/_runtime.ts";
import { writerFs } from "../src/_state.ts";

/** The operations a fault can be injected into. */
export type Operation = keyof StateFs;

/** An error shaped like the runtime's own: a message and a POSIX code. */
export function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: injected fault`), { code });
}

/** The real runtime, whose writer fails where `fail()` says. */
export interface FaultyRuntime extends Runtime {
  /**
   * From now on, `operation` throws `code`. With `after`, `createFile`
   * first writes the file, then fails: a disk that filled up mid-write.
   */
  fail(operation: Operation | Operation[], code: string, options?: { after?: boolean }): void;
  /** No more faults. */
  heal(): void;
}

/** A runtime whose state writer fails on demand (see {@linkcode FaultyRuntime.fail}). */
export function faultyRuntime(base: Runtime = runtime): FaultyRuntime {
  const faults = new Map<string, { code: string; after: boolean }>();
  const real = writerFs(base);
  const fs = Object.fromEntries(
    Object.entries(real).map(([name, operation]) => [name, (...args: unknown[]) => {
      const fault = faults.get(name);
      if (!fault) return (operation as (...args: unknown[]) => unknown)(...args);
      if (fault.after) (operation as (...args: unknown[]) => unknown)(...args);
      throw systemError(fault.code);
    }]),
  ) as unknown as StateFs;
  return {
    ...base,
    stateFs: fs,
    fail(operation, code, { after = false } = {}) {
      for (const name of [operation].flat()) faults.set(name, { code, after });
    },
    heal: () => faults.clear(),
  };
}

/**
 * The real runtime, whose writer hands every file operation to `intercept`
 * with its arguments and the call that performs it: a test records the
 * order of operations, fails one chosen call, or acts as another process
 * would at that very step.
 */
export function interceptedRuntime(
  intercept: (operation: Operation, args: unknown[], proceed: () => unknown) => unknown,
  base: Runtime = runtime,
): Runtime {
  const real = writerFs(base);
  const fs = Object.fromEntries(
    Object.entries(real).map(([name, operation]) => [
      name,
      (...args: unknown[]) =>
        intercept(
          name as Operation,
          args,
          () => (operation as (...args: unknown[]) => unknown)(...args),
        ),
    ]),
  ) as unknown as StateFs;
  return { ...base, stateFs: fs };
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

/**
 * The unit as values: the owner's `state` (loaded, live, ready, draining,
 * closed), judged as the probes judge it, and the promise of the first
 * moment it is live and ready (lightship's `whenFirstReady`). No timer: the
 * owner tells {@linkcode FirstReady} after each change it makes.
 *
 * @module
 */
import type { HealthPart } from "./_health.ts";
import { LivenessError } from "./errors.ts";
import type { LivenessState } from "./types.ts";

/** What the owner knows of itself, for {@linkcode unitState}. */
export interface OwnerFacts {
  readonly loaded: boolean;
  readonly closed: boolean;
  /** Whether the shutdown sequence began. */
  readonly shutdownStarted: boolean;
  /** The parts of the verdict of `kind`, as the HTTP answers list them. */
  readonly parts: (kind: "live" | "ready") => readonly HealthPart[];
}

/**
 * The state of an owner, frozen: `live` and `ready` are the verdicts its
 * HTTP answers and the probes give (every part passes), of this owner only
 * (not loaded: neither, whatever another process left in the directory).
 */
export function unitState(facts: OwnerFacts): LivenessState {
  const held = facts.loaded && !facts.closed;
  const passes = (kind: "live" | "ready") => held && facts.parts(kind).every((part) => part.ok);
  return Object.freeze({
    loaded: held,
    live: passes("live"),
    ready: passes("ready"),
    draining: facts.shutdownStarted && !facts.closed,
    closed: facts.closed,
  });
}

/**
 * The promise of the first ready: made at the first `whenFirstReady()`,
 * resolved at the first {@linkcode FirstReady.update} that sees the unit
 * ready, rejected when the owner closes first (or left pending where the
 * process is about to exit).
 */
export class FirstReady {
  #reached = false;
  #ended: LivenessError | undefined;
  /** Whether it ended as the process exits: then it never settles. */
  #exiting = false;
  #waiting: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | undefined;

  /** The promise; settled at once where the first ready, or the end, came already. */
  when(): Promise<void> {
    if (this.#reached) return Promise.resolve();
    if (this.#ended) return this.#exiting ? new Promise(() => {}) : Promise.reject(this.#ended);
    if (this.#waiting) return this.#waiting.promise;
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    this.#waiting = { promise, resolve, reject };
    return promise;
  }

  /** Whether it still waits for the first ready: the owner need not judge its state otherwise. */
  get pending(): boolean {
    return !this.#reached && this.#ended === undefined;
  }

  /** After a change: resolves where `ready`. */
  update(ready: boolean): void {
    if (!ready || !this.pending) return;
    this.#reached = true;
    this.#waiting?.resolve();
    this.#waiting = undefined;
  }

  /**
   * The owner closed before the first ready: rejects, naming `dir`; where
   * `exiting` (a signal ends the process) it never settles, so that no
   * rejection ends the program before its exit code is decided.
   */
  end(dir: string, exiting: boolean): void {
    if (!this.pending) return;
    this.#ended = new LivenessError(
      `Cannot wait for the first ready: unit ${dir} was closed before it was ever live and ready`,
    );
    const waiting = this.#waiting;
    this.#waiting = undefined;
    this.#exiting = exiting;
    if (exiting) return; // never settles: the process exits
    waiting?.reject(this.#ended);
  }
}

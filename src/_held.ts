/**
 * What an owner holds of its unit, and the writes that keep the files
 * saying it: the unit directory and the pid file this process wrote, both
 * held open (the pid file's link count tells, at one `fstat`, whether the
 * unit is still this process's), the error, readiness and beat it last
 * wrote, the loss to another process, and the last write that failed. Once
 * loaded, no write throws for the environment: trouble goes to `report`,
 * each once. The owner (`_unit.ts`) decides when to load, beat and unload.
 *
 * @module
 */
import { uptime } from "./_clock.ts";
import type { HeldState } from "./_health.ts";
import { type Identity, isOtherLiveOwner, isThisProcess, self } from "./_identity.ts";
import { LockBusy, withUnitLockSync } from "./_lock.ts";
import { noPidOn } from "./_probe.ts";
import { readOwner, STATE_FILES, UnitDirectory } from "./_state.ts";
import type { Beat } from "./_unit_options.ts";
import {
  ERROR_FILE,
  formatHeartbeat,
  formatReadiness,
  HEARTBEAT_FILE,
  PID_FILE,
  type Readiness,
  READY_FILE,
  STARTTIME_FILE,
  type Verdict,
} from "./_verdict.ts";
import { LivenessError, NotLoadedError, StateError, UnitLostError } from "./errors.ts";
import type { HeldFile, Runtime } from "./runtime/_runtime.ts";

/** How long an answer trusts the last look at the pid file, in ms. */
const HELD_FOR_MS = 1;

/** The unit at `dir` as this process holds it. */
export class HeldUnit {
  readonly #runtime: Runtime;
  /** `<rundir>/<unit>`. */
  readonly #dir: string;
  readonly #heartbeat: Beat;
  readonly #report: (error: LivenessError) => void;
  #directory: UnitDirectory | undefined;
  /** The pid file this process wrote, held open: its link count tells whether it is still ours. */
  #pidFile: HeldFile | undefined;
  #loaded = false;
  /** What the error file holds, as far as this process wrote it. */
  #error: number | undefined;
  #readiness: Readiness = { state: "ready" };
  /** `Runtime.now()` of the last beat written. */
  #lastBeat = 0;
  /** Why the unit is not this process's now, while it is not. */
  #lost: UnitLostError | undefined;
  /** `Runtime.now()` when an answer last found the pid file still ours. */
  #heldAt = -Infinity;
  /** The last write that failed, until one succeeds. */
  #failure: LivenessError | undefined;

  /** Holds nothing yet of the unit at `dir`; `report` is where trouble goes. */
  constructor(
    runtime: Runtime,
    dir: string,
    heartbeat: Beat,
    report: (error: LivenessError) => void,
  ) {
    this.#runtime = runtime;
    this.#dir = dir;
    this.#heartbeat = heartbeat;
    this.#report = report;
  }

  /** Whether this process has loaded the unit and not reset it. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** What the program last said of its readiness. */
  get readiness(): Readiness {
    return this.#readiness;
  }

  /** Writes the owner's files, pid last; returns the pid file's descriptor. Throws what fails. */
  writeOwner(directory: UnitDirectory, me: Identity, readiness: Readiness): HeldFile | undefined {
    if (me.starttime) directory.write(STARTTIME_FILE, me.starttime, me);
    if (this.#heartbeat) this.#writeBeat(directory, true);
    directory.write(READY_FILE, formatReadiness(readiness), me);
    return directory.write(PID_FILE, String(me.pid), me, true);
  }

  /**
   * Takes the unit over once `load()` wrote the owner's files in
   * `directory` (the pid file held open as `pidFile`): in one turn with the
   * writes, so that no `close()` comes in between.
   */
  take(directory: UnitDirectory, pidFile: HeldFile | undefined): void {
    this.release();
    this.#directory = directory;
    this.#pidFile = pidFile;
    this.#loaded = true;
    this.#error = undefined;
    this.#readiness = { state: "ready" };
    this.#lost = undefined;
    this.#failure = undefined;
    this.#lastBeat = this.#runtime.now();
  }

  /** Whether `directory` is the one held. */
  holds(directory: UnitDirectory): boolean {
    return this.#directory === directory;
  }

  /** Writes the error code (see `Liveness.set()`); throws only {@linkcode NotLoadedError}. */
  set(error: number): void {
    const directory = this.#owned("set()");
    if (!directory) return;
    try {
      directory.write(ERROR_FILE, String(error), self(this.#runtime));
      this.#error = error;
      this.#succeeded();
    } catch (failure) {
      // The old code may be 0: that must not outlive a report of trouble.
      if (error !== 0) this.#invalidateError(directory, error);
      this.#fail(failure);
    }
  }

  /** Writes the readiness; throws only {@linkcode NotLoadedError}. */
  setReadiness(readiness: Readiness): void {
    this.#writeReadiness(readiness);
  }

  /** Not ready at once, for the shutdown: written where the unit is loaded. */
  drain(): void {
    if (this.#loaded) this.#writeReadiness({ state: "draining" });
    else this.#readiness = { state: "draining" };
  }

  /** Writes a heartbeat; throws only {@linkcode NotLoadedError}. */
  beat(): void {
    const directory = this.#owned("beat()");
    if (directory) this.#writeBeat(directory);
  }

  /** What is held now, for the verdict from memory. */
  state(): HeldState {
    const heartbeat = this.#heartbeat;
    // In hundredths of a second, as the probes read a beat's age.
    const age = this.#loaded ? Math.floor((this.#runtime.now() - this.#lastBeat) / 10) * 10 : 0;
    return {
      pid: this.#pidVerdict(),
      failure: this.#failure?.message,
      error: this.#error,
      heartbeat: heartbeat && { age, maxAge: heartbeat.maxAge },
      readiness: this.#readiness,
    };
  }

  /**
   * Removes this process's state (never another process's): the unit is no
   * longer loaded. Throws a {@linkcode StateError} when a file cannot be
   * removed.
   */
  unload(): void {
    const held = this.#directory;
    const directory = held ?? openExisting(this.#runtime, this.#dir);
    const lost = this.#loaded && this.#lost !== undefined;
    this.#loaded = false;
    try {
      if (directory) removeState(this.#runtime, directory, lost);
    } finally {
      this.release();
      if (!held) directory?.close();
    }
  }

  /**
   * The unit directory when this process still owns the unit (restoring the
   * state where it was lost and nobody else owns the unit), else
   * `undefined`, the loss reported. Throws only {@linkcode NotLoadedError}.
   */
  #owned(call: string): UnitDirectory | undefined {
    if (!this.#loaded) throw new NotLoadedError(this.#dir, call);
    if (!this.#lost && this.#holdsPidFile()) return this.#directory!;
    return this.#reclaim();
  }

  /**
   * Whether the pid file this process wrote is still the unit's. Cheap: one
   * `fstat` of the file held open; a rename over it or a removal unlinks it.
   */
  #holdsPidFile(): boolean {
    try {
      return this.#pidFile !== undefined && this.#pidFile.links() > 0;
    } catch {
      return false; // not open any more
    }
  }

  /**
   * {@linkcode #holdsPidFile} for the answers, looked at once a millisecond
   * at most: under load the `fstat` was most of an answer's cost, and no
   * prober tells a millisecond from "at once".
   */
  #stillHeld(): boolean {
    const now = this.#runtime.now();
    if (now - this.#heldAt < HELD_FOR_MS && now >= this.#heldAt) return true;
    if (!this.#holdsPidFile()) return false;
    this.#heldAt = now;
    return true;
  }

  /**
   * The `pid` part of the answers, from memory and {@linkcode #holdsPidFile}:
   * the files are read only when the pid file is no longer this process's,
   * to name the process that took the unit over.
   */
  #pidVerdict(): Verdict | undefined {
    // Not loaded: the probes' line, which looks whether the directory is there.
    if (!this.#loaded) return noPidOn(this.#runtime, this.#dir);
    if (!this.#lost && this.#stillHeld()) return undefined;
    try {
      const owner = this.#lost ? undefined : readOwner(this.#directory!);
      if (owner && isOtherLiveOwner(this.#runtime, owner)) {
        this.#loseTo(new UnitLostError(this.#dir, owner.pid));
      }
    } catch {
      // Unreadable: the answer says the pid file is not ours all the same.
    }
    return {
      status: "failed",
      reason: this.#lost?.message ?? "the pid file this process wrote was removed or replaced",
    };
  }

  /** The slow path of {@linkcode #owned}: who owns the unit now? */
  #reclaim(): UnitDirectory | undefined {
    const runtime = this.#runtime;
    let directory = this.#directory!;
    try {
      if (!directory.isCurrent()) {
        // The directory was removed (an operator cleaning /run) or replaced.
        const current = UnitDirectory.open(runtime, this.#dir, true);
        directory.close();
        directory = this.#directory = current;
      }
      const me = self(runtime);
      const result = withUnitLockSync(directory, me, () => {
        const owner = readOwner(directory);
        if (owner && isOtherLiveOwner(runtime, owner)) return owner;
        for (const name of STATE_FILES) directory.remove(name);
        const pidFile = this.writeOwner(directory, me, this.#readiness);
        this.#closePidFile();
        this.#pidFile = pidFile;
        return undefined;
      });
      if (result instanceof LockBusy) {
        return this.#loseTo(
          new UnitLostError(this.#dir, undefined, "another process holds its lock"),
        );
      }
      if (result) return this.#loseTo(new UnitLostError(this.#dir, result.pid));
      this.#lost = undefined;
      this.#error = undefined;
      return directory;
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  #loseTo(error: UnitLostError): undefined {
    if (this.#lost?.message !== error.message) this.#report(error);
    this.#lost = error;
    return undefined;
  }

  #writeBeat(directory: UnitDirectory, rethrow = false): void {
    const runtime = this.#runtime;
    const heartbeat = this.#heartbeat!;
    const at = uptime(runtime);
    if (at === undefined) {
      this.#lastBeat = this.#runtime.now(); // no clock, no file (load() said so): the loop turns
      return;
    }
    try {
      const me = self(runtime);
      const line = formatHeartbeat({
        at,
        maxAge: heartbeat.maxAge,
        pid: me.pid,
        starttime: me.starttime,
      });
      directory.write(HEARTBEAT_FILE, line, me);
      this.#lastBeat = this.#runtime.now();
    } catch (error) {
      if (rethrow) throw error;
      this.#fail(error);
    }
  }

  #writeReadiness(readiness: Readiness): void {
    this.#readiness = readiness;
    const directory = this.#owned("ready()");
    if (!directory) return;
    try {
      directory.write(READY_FILE, formatReadiness(readiness), self(this.#runtime));
      this.#succeeded();
    } catch (failure) {
      if (readiness.state !== "ready") {
        // An empty file is not ready: a failed "not ready" never reads as ready.
        try {
          directory.overwrite(READY_FILE, "");
        } catch {
          // Read-only: the failure reported says so.
        }
      }
      this.#fail(failure);
    }
  }

  /**
   * After a failed write of a non-zero `error`: removes the error file, or,
   * where the directory forbids that, writes the code over the file in place
   * (never through a link). On a read-only file system nothing can change it.
   */
  #invalidateError(directory: UnitDirectory, error: number): void {
    try {
      directory.remove(ERROR_FILE);
      this.#error = undefined;
    } catch {
      try {
        directory.overwrite(ERROR_FILE, `${error}\n`);
        this.#error = error;
      } catch {
        // Read-only, or not ours: the failure reported says what to do.
      }
    }
  }

  #succeeded(): void {
    this.#failure = undefined;
  }

  #fail(error: unknown): void {
    const failure = error instanceof LivenessError
      ? error
      : new LivenessError(`Cannot write unit ${this.#dir}: ${String(error)}`, { cause: error });
    // Each new trouble is reported once, not on every call while it lasts.
    if (this.#failure?.message !== failure.message) this.#report(failure);
    this.#failure = failure;
  }

  #closePidFile(): void {
    if (this.#pidFile === undefined) return;
    try {
      this.#pidFile.close();
    } catch {
      // Already closed.
    }
    this.#pidFile = undefined;
    this.#heldAt = -Infinity;
  }

  /** Closes the directory and the pid file held: the files stay as they are. */
  release(): void {
    this.#closePidFile();
    this.#directory?.close();
    this.#directory = undefined;
  }
}

/**
 * Resets the unit at `dir` that no owner of this process holds, as an
 * owner's `reset()` does (state that names another process stays), without
 * making an owner.
 */
export function resetUnit(runtime: Runtime, dir: string): void {
  const directory = openExisting(runtime, dir);
  if (!directory) return;
  try {
    removeState(runtime, directory, false);
  } finally {
    directory.close();
  }
}

/** The unit directory `dir` where it exists, else `undefined`. */
export function openExisting(runtime: Runtime, dir: string): UnitDirectory | undefined {
  try {
    return UnitDirectory.open(runtime, dir, false);
  } catch (error) {
    if (error instanceof StateError && error.code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Removes the state files, error first, unless they name another process
 * (this one may never have owned them), or are gone from a unit this
 * process `lost` to another.
 */
function removeState(runtime: Runtime, directory: UnitDirectory, lost: boolean): void {
  const owner = readOwner(directory);
  if (owner && !isThisProcess(runtime, owner)) return;
  if (!owner && lost) return;
  for (const name of STATE_FILES) directory.remove(name);
}

/**
 * The clocks: the heartbeat's, time since boot, which wall-clock changes
 * (NTP, a manual `date`) do not move, never ahead of what `probe.sh` reads
 * in `/proc/uptime`; and the timers' limit.
 *
 * @module
 */
import type { Runtime } from "./runtime/_runtime.ts";
import { parseUptime } from "./_verdict.ts";

/** The longest delay `setTimeout` and `setInterval` take (about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `/proc/uptime` in hundredths of a second; where it cannot be read (off
 * Linux, Deno without `--allow-all`), the runtime's uptime made precise by
 * an {@linkcode UptimeFloor}; `undefined` where neither can be read (Deno
 * without `--allow-sys=osUptime`).
 */
export function uptime(runtime: Runtime): number | undefined {
  try {
    const head = runtime.readHead("/proc/uptime", 64);
    if (head.kind === "file") return parseUptime(head.text);
  } catch {
    // No /proc here, or no permission to read it.
  }
  let floor = floors.get(runtime);
  if (floor === undefined) {
    floor = new UptimeFloor(() => runtime.osUptime(), {
      now: () => runtime.now(),
      later(poll, ms) {
        runtime.unrefTimer(setTimeout(poll, ms)); // never what keeps the program alive
      },
    });
    floors.set(runtime, floor);
  }
  const ms = floor.read();
  return ms === undefined ? undefined : Math.floor(ms / 10);
}

/** One floor per runtime: the system's uptime is one for the whole process. */
const floors = new WeakMap<Runtime, UptimeFloor>();

/** What an {@linkcode UptimeFloor} measures time with: a monotonic clock in ms, and a timer. */
export interface FloorTimers {
  /** A clock that never runs faster than the uptime (`Runtime.now()`: it stops while suspended). */
  now(): number;
  /** Calls `poll` in about `ms` milliseconds. */
  later(poll: () => void, ms: number): void;
}

/** How often a refinement reads the coarse clock, and for how long: past its next tick. */
const POLL_MS = 10;
const REFINE_MS = 1_100;
/** A reading this far above the floor says the floor lags (the start, a suspend): refine it. */
const LAG_MS = 100;

/**
 * The system's uptime in milliseconds, never ahead of it, from a coarse
 * reading (Linux's `sysinfo()`, which Deno's `osUptime()` and Bun's
 * `os.uptime()` give in whole seconds rounded up: the runtime takes one
 * second off, see `Runtime.osUptime`). Each reading is a lower bound; the
 * monotonic clock carries the best one forward, and it only ever falls
 * behind the uptime (a suspend stops it). The bound is tight right after
 * the coarse clock ticks: when a reading shows the floor lagging (the
 * first, or one after a suspend), it is read every 10 ms for a second,
 * across a tick. Until then the floor may lag up to a second: a heartbeat
 * then reads older, never from the future.
 */
export class UptimeFloor {
  readonly #read: () => number | undefined;
  readonly #timers: FloorTimers;
  /** The best lower bound so far (ms), and the monotonic clock when it held. */
  #floor = -Infinity;
  #at = 0;
  #refining = false;

  /** `read` gives a lower bound of the uptime in seconds, or `undefined` where there is none. */
  constructor(read: () => number | undefined, timers: FloorTimers) {
    this.#read = read;
    this.#timers = timers;
  }

  /** The uptime's lower bound now, in milliseconds; `undefined` where there is no reading. */
  read(): number | undefined {
    const seconds = this.#read();
    // After the reading: the bound it gives holds at this moment too.
    const now = this.#timers.now();
    if (seconds === undefined) return undefined;
    const carried = this.#floor + (now - this.#at);
    const reading = seconds * 1000;
    if (reading > carried + LAG_MS) this.#refine(now);
    this.#floor = Math.max(carried, reading);
    this.#at = now;
    return this.#floor;
  }

  #refine(since: number): void {
    if (this.#refining) return;
    this.#refining = true;
    const poll = () => {
      this.read();
      if (this.#timers.now() - since < REFINE_MS) this.#timers.later(poll, POLL_MS);
      else this.#refining = false;
    };
    this.#timers.later(poll, POLL_MS);
  }
}

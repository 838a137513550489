/**
 * The heartbeat's clock: time since boot, which wall-clock changes (NTP, a
 * manual `date`) do not move, read the way `probe.sh` reads it.
 *
 * @module
 */
import type { Runtime } from "./_runtime.ts";
import { parseUptime } from "./_verdict.ts";

/**
 * `/proc/uptime` in hundredths of a second; off Linux, the system's uptime;
 * `undefined` where neither can be read (Deno without `--allow-all` or
 * `--allow-sys=osUptime`).
 */
export function uptime(runtime: Runtime): number | undefined {
  try {
    const head = runtime.readHead("/proc/uptime", 64);
    if (head.kind === "file") return parseUptime(head.text);
  } catch {
    // No /proc here, or no permission to read it.
  }
  const seconds = runtime.osUptime();
  return seconds === undefined ? undefined : Math.floor(seconds * 100);
}

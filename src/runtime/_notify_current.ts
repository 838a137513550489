/**
 * systemd's notify socket on the runtime this module runs on: libc's
 * datagram socket by FFI on Deno and Bun, `systemd-notify` on Node. Only
 * the owner's module takes it, so that a probe never loads it.
 *
 * @module
 */
import { bunNotifyLibc, type DenoFfi, denoNotifyLibc } from "./_notify_ffi.ts";
import { helperNotifySocket, type HelperProcess } from "./_notify_helper.ts";
import { libcNotifySocket } from "./_notify_socket.ts";
import type { NotifySocket } from "./_runtime.ts";

/** A sender to the notify socket at `address` (`/path` or `@name`); throws where it cannot be had. */
export function notifySocket(address: string): NotifySocket {
  const { Deno } = globalThis as { Deno?: DenoFfi };
  if (Deno) return libcNotifySocket(denoNotifyLibc(Deno), address);
  // Only now: on Deno, even reading `globalThis.process` loads its Node layer.
  const { process } = globalThis as unknown as {
    process: HelperProcess & { readonly versions: { readonly bun?: string } };
  };
  if (process.versions.bun !== undefined) {
    return libcNotifySocket(bunNotifyLibc(process as never), address);
  }
  return helperNotifySocket(process, address);
}

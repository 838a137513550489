/**
 * libc's socket calls for the notify socket (`_notify_socket.ts`), bound by
 * Deno's FFI (`Deno.dlopen`, which needs `--allow-ffi`) and by `bun:ffi`.
 * Linux on x86-64 or arm64 with glibc only: elsewhere the binding throws
 * and the owner reports why.
 *
 * @module
 */
import type { NotifyLibc } from "./_notify_socket.ts";

/** The symbols, with FFI type names each runtime spells its own way. */
function symbols<T>(i32: T, u32: T, size: T, pointer: T, buffer: T) {
  return {
    socket: { args: [i32, i32, i32], returns: i32 },
    sendto: { args: [i32, buffer, size, i32, buffer, u32], returns: i32 },
    close: { args: [i32], returns: i32 },
    __errno_location: { args: [] as T[], returns: pointer },
  };
}

/** Throws unless this is Linux on a processor whose constants the sender knows. */
function assertLinux(platform: string | undefined, arch: string | undefined): void {
  if (
    platform === "linux" &&
    (arch === "x64" || arch === "x86_64" || arch === "arm64" || arch === "aarch64")
  ) return;
  throw new Error(
    `Cannot notify systemd: its notify socket is reached only on Linux on x86-64 or arm64, ` +
      `not ${platform} on ${arch}`,
  );
}

/** The part of `bun:ffi` used here. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: number[]; returns: number }>,
  ): { symbols: Record<string, (...args: unknown[]) => number> };
  read: { i32(pointer: number, offset?: number): number };
  FFIType: Record<"i32" | "u32" | "u64" | "ptr", number>;
}

/** libc through `bun:ffi`. */
export function bunNotifyLibc(
  process: { platform?: string; arch?: string; getBuiltinModule(id: string): unknown },
): NotifyLibc {
  assertLinux(process.platform, process.arch);
  const ffi = process.getBuiltinModule("bun:ffi") as BunFfi;
  const { i32, u32, u64, ptr } = ffi.FFIType;
  const libc = ffi.dlopen("libc.so.6", symbols(i32, u32, u64, ptr, ptr)).symbols;
  const errno = libc.__errno_location();
  return {
    socket: (domain, type, protocol) => libc.socket(domain, type, protocol),
    sendto: (fd, buffer, length, flags, address, addressLength) =>
      libc.sendto(fd, buffer, length, flags, address, addressLength),
    close: (fd) => libc.close(fd),
    errno: () => ffi.read.i32(errno),
  };
}

/** The part of the `Deno` namespace used here. */
export interface DenoFfi {
  readonly build: { readonly os: string; readonly arch: string };
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

/** libc through `Deno.dlopen`: throws `NotCapable` without `--allow-ffi`. */
export function denoNotifyLibc(deno: DenoFfi): NotifyLibc {
  assertLinux(deno.build.os, deno.build.arch);
  const table = symbols("i32", "u32", "usize", "pointer", "buffer");
  const libc = deno.dlopen(
    "libc.so.6",
    Object.fromEntries(
      Object.entries(table).map((
        [name, { args, returns }],
      ) => [name, { parameters: args, result: returns }]),
    ),
  ).symbols;
  const errno = new deno.UnsafePointerView(libc.__errno_location());
  return {
    socket: (domain, type, protocol) => libc.socket(domain, type, protocol) as number,
    sendto: (fd, buffer, length, flags, address, addressLength) =>
      libc.sendto(fd, buffer, length, flags, address, addressLength) as number,
    close: (fd) => libc.close(fd) as number,
    errno: () => errno.getInt32(),
  };
}

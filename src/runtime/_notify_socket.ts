/**
 * The datagrams of systemd's notify protocol, sent through libc as
 * `sd_notify(3)` sends them: a `socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC)`
 * (never inherited by a child), and `sendto()` the socket's address, a path
 * or, for `@name`, an abstract name (a leading NUL byte, no trailing one).
 * Unlike `sd_notify(3)` the send never blocks: `MSG_DONTWAIT`, so that a
 * manager that does not read costs a message, never the event loop. Deno
 * and Bun reach libc by FFI (`_notify_ffi.ts`); Node has no datagram
 * socket of the kind and starts a helper (`_notify_helper.ts`).
 *
 * @module
 */
import type { NotifySocket } from "./_runtime.ts";

/** libc's calls the sender needs, as an FFI binds them (`ssize_t` taken as `i32`). */
export interface NotifyLibc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(
    fd: number,
    buffer: Uint8Array,
    length: number,
    flags: number,
    address: Uint8Array,
    addressLength: number,
  ): number;
  close(fd: number): number;
  /** This thread's `errno`, read right after a call failed. */
  errno(): number;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
/** The same on x86-64 and arm64 (O_CLOEXEC). */
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** `sizeof(sun_path)` on Linux. */
const SUN_PATH_BYTES = 108;

/** The Linux errno numbers a send can meet, and their codes. */
const CODES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  11: "EAGAIN",
  13: "EACCES",
  20: "ENOTDIR",
  22: "EINVAL",
  24: "EMFILE",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  97: "EAFNOSUPPORT",
  105: "ENOBUFS",
  107: "ENOTCONN",
  111: "ECONNREFUSED",
};

const encoder = new TextEncoder();

/**
 * The `struct sockaddr_un` of `address`: `/path` (with its final NUL) or
 * `@name` (a NUL for the `@`, nothing after). Throws a `TypeError` for
 * anything else, a NUL byte inside, or a name too long for `sun_path`.
 */
export function sockaddrOf(address: string): Uint8Array {
  const abstract = address.startsWith("@");
  if (!abstract && !address.startsWith("/")) {
    throw new TypeError(
      `Cannot notify systemd: NOTIFY_SOCKET must be an absolute path or @name, got ${
        JSON.stringify(address)
      }`,
    );
  }
  const name = encoder.encode(abstract ? address.slice(1) : address);
  const length = 1 + name.length; // the NUL before an abstract name, or after a path
  if (name.includes(0) || length > SUN_PATH_BYTES) {
    throw new TypeError(
      `Cannot notify systemd: NOTIFY_SOCKET must fit in ${SUN_PATH_BYTES - 1} bytes without a ` +
        `NUL byte, got ${JSON.stringify(address)}`,
    );
  }
  const sockaddr = new Uint8Array(2 + length);
  new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true); // x86-64 and arm64: little-endian
  sockaddr.set(name, abstract ? 3 : 2);
  return sockaddr;
}

/** A {@linkcode NotifySocket} on `libc`, its socket opened at the first message. */
export function libcNotifySocket(libc: NotifyLibc, address: string): NotifySocket {
  const sockaddr = sockaddrOf(address);
  let fd = -1;
  const fail = (call: string) => {
    const number = libc.errno();
    const code = CODES[number] ?? `E${number}`;
    return Object.assign(
      new Error(`${code}: ${call} to the notify socket ${address} failed (errno ${number})`),
      { code, errno: -number },
    );
  };
  return {
    send(message) {
      if (fd < 0) {
        fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw fail("socket()");
      }
      const bytes = encoder.encode(message);
      const sent = libc.sendto(
        fd,
        bytes,
        bytes.length,
        MSG_DONTWAIT | MSG_NOSIGNAL,
        sockaddr,
        sockaddr.length,
      );
      if (sent < 0) throw fail("sendto()");
    },
    close() {
      if (fd >= 0) libc.close(fd);
      fd = -1;
      return Promise.resolve();
    },
  };
}

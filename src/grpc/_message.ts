/**
 * The gRPC health messages, framed and encoded by hand: a
 * `HealthCheckRequest` (`string service = 1`) is read from the
 * length-prefixed messages of a request body, a `HealthCheckResponse`
 * (`ServingStatus status = 1`) is seven bytes. Pure: no server, no runtime.
 *
 * @module
 */

/**
 * The gRPC status codes the health service answers with (`grpc-status`).
 *
 * @example
 * ```ts
 * import { GRPC_STATUS } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(GRPC_STATUS.NOT_FOUND, 5);
 * ```
 */
export const GRPC_STATUS = {
  OK: 0,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/**
 * `grpc.health.v1.HealthCheckResponse.ServingStatus`.
 *
 * @example
 * ```ts
 * import { SERVING_STATUS } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SERVING_STATUS.SERVING, 1);
 * ```
 */
export const SERVING_STATUS = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

/** One of {@linkcode SERVING_STATUS}'s values. */
export type ServingStatus = typeof SERVING_STATUS[keyof typeof SERVING_STATUS];

/**
 * The largest request message read, in bytes: a service name is a few
 * bytes, and a larger message is refused before it is buffered.
 */
export const MAX_MESSAGE = 4096;

/** A request the service refuses: the gRPC status and its message. */
export interface GrpcError {
  readonly code: number;
  readonly message: string;
}

/**
 * A `HealthCheckResponse` with `status`, framed as one uncompressed
 * length-prefixed message: `00 00000002 08 <status>`.
 *
 * @example
 * ```ts
 * import { encodeResponse, SERVING_STATUS } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...encodeResponse(SERVING_STATUS.SERVING)], [0, 0, 0, 0, 2, 8, 1]);
 * ```
 */
export function encodeResponse(status: ServingStatus): Uint8Array {
  return Uint8Array.of(0, 0, 0, 0, 2, 0x08, status);
}

/**
 * The length-prefixed messages of a request body, read as its chunks
 * arrive: {@linkcode FrameReader.push} gives each whole message, or the
 * error that ends the call (a compressed message, one over
 * {@linkcode MAX_MESSAGE}); no more than one message's prefix and
 * {@linkcode MAX_MESSAGE} bytes are ever held.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * const reader = new FrameReader();
 * assert.deepEqual(reader.push(Uint8Array.of(0, 0, 0, 0)), []);
 * assert.deepEqual(reader.push(Uint8Array.of(1, 10, 0)).map((m) => [...m as Uint8Array]), [[10]]);
 * assert.equal(reader.pending, 1);
 * ```
 */
export class FrameReader {
  #held = new Uint8Array(0);
  #failed: GrpcError | undefined;

  /** The bytes held of a message not yet whole. */
  get pending(): number {
    return this.#held.length;
  }

  /**
   * Reads `chunk`: the messages it completes, in order, then the error
   * that ends the call if one was found (and from then on only it).
   */
  push(chunk: Uint8Array): (Uint8Array | GrpcError)[] {
    if (this.#failed) return [this.#failed];
    let bytes = chunk;
    if (this.#held.length > 0) {
      bytes = new Uint8Array(this.#held.length + chunk.length);
      bytes.set(this.#held);
      bytes.set(chunk, this.#held.length);
    }
    const out: (Uint8Array | GrpcError)[] = [];
    let at = 0;
    while (bytes.length - at >= 5) {
      const flag = bytes[at];
      const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
      const error = flag === 1
        ? {
          code: GRPC_STATUS.INTERNAL,
          message: "grpc: compressed flag set on a message, and no compression is accepted",
        }
        : flag !== 0
        ? { code: GRPC_STATUS.INTERNAL, message: `grpc: invalid compressed flag ${flag}` }
        : length > MAX_MESSAGE
        ? {
          code: GRPC_STATUS.RESOURCE_EXHAUSTED,
          message: `grpc: received message larger than max (${length} vs. ${MAX_MESSAGE})`,
        }
        : undefined;
      if (error) {
        this.#failed = error;
        this.#held = new Uint8Array(0);
        out.push(error);
        return out;
      }
      if (bytes.length - at - 5 < length) break;
      out.push(bytes.slice(at + 5, at + 5 + length));
      at += 5 + length;
    }
    this.#held = bytes.slice(at);
    return out;
  }
}

/** A varint at `at`: its value (below 2^53) and the offset after it, or `undefined` if malformed. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0, i = at; i < bytes.length && shift < 70; shift += 7, i++) {
    const byte = bytes[i];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value > Number.MAX_SAFE_INTEGER ? undefined : { value, next: i + 1 };
  }
  return undefined;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `service` of a `HealthCheckRequest` (`""` when absent), or why the
 * message is not one: fields of other numbers are skipped, as protobuf
 * says; a truncated field, a group, field 1 of another wire type or a
 * service that is not UTF-8 is an error.
 *
 * @example
 * ```ts
 * import { decodeRequest } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeRequest(Uint8Array.of(0x0a, 2, 0x61, 0x62)), "ab");
 * assert.equal(decodeRequest(new Uint8Array(0)), "");
 * assert.equal(typeof decodeRequest(Uint8Array.of(0x0a, 5, 0x61)), "object");
 * ```
 */
export function decodeRequest(bytes: Uint8Array): string | GrpcError {
  const wrong = (why: string): GrpcError => ({
    code: GRPC_STATUS.INTERNAL,
    message: `grpc: error unmarshalling request: ${why}`,
  });
  let service = "";
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag) return wrong("truncated or overlong tag");
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const type = tag.value % 8;
    if (field === 0) return wrong("field number 0");
    if (field === 1 && type !== 2) return wrong(`field 1 (service) has wire type ${type}`);
    if (type === 0) {
      const value = readVarint(bytes, at);
      if (!value) return wrong(`field ${field}: truncated varint`);
      at = value.next;
    } else if (type === 1 || type === 5) {
      at += type === 1 ? 8 : 4;
      if (at > bytes.length) return wrong(`field ${field}: truncated fixed value`);
    } else if (type === 2) {
      const length = readVarint(bytes, at);
      if (!length || length.next + length.value > bytes.length) {
        return wrong(`field ${field}: truncated length-delimited value`);
      }
      if (field === 1) {
        try {
          service = UTF8.decode(bytes.subarray(length.next, length.next + length.value));
        } catch {
          return wrong("service is not valid UTF-8");
        }
      }
      at = length.next + length.value;
    } else {
      return wrong(`field ${field}: wire type ${type} is not read`);
    }
  }
  return service;
}

/**
 * `grpc-message` as the protocol sends it: percent-encoded outside the
 * printable ASCII (and `%` itself), UTF-8 first.
 *
 * @example
 * ```ts
 * import { percentEncode } from "./_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(percentEncode("unknown service \"é\" 100%"), "unknown service \"%C3%A9\" 100%25");
 * ```
 */
export function percentEncode(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

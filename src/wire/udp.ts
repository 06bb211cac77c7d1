/**
 * UDP (RFC 768): the header's field offsets, named once; a checked view of a header; and the
 * builder of a datagram, side by side. The options of RFC 9868, which live behind the UDP
 * length, are `udp_options.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitUdp, UDP_HEADER_LEN, UdpPacket } from "./udp.ts";
 *
 * const buf = new Uint8Array(UDP_HEADER_LEN + 2);
 * emitUdp(buf, 0, { sport: 5353, dport: 53, payload: Uint8Array.of(1, 2) }, 0);
 * const udp = UdpPacket.checked(buf, 0, buf.length)!;
 * assert(udp.dport === 53 && udp.length === 10 && udp.checksum !== 0);
 * ```
 *
 * @module
 */

import { finish, sum16 } from "./checksum.ts";

/** Offset of the source port (u16). */
export const UDP_SRC_PORT = 0;
/** Offset of the destination port (u16). */
export const UDP_DST_PORT = 2;
/** Offset of the length (u16): header and user data. */
export const UDP_LENGTH = 4;
/** Offset of the checksum (u16; 0 means none over IPv4). */
export const UDP_CHECKSUM = 6;
/** Length of the header. */
export const UDP_HEADER_LEN = 8;

/**
 * A view of the UDP header at `off` of `buf`, made by `checked`: 8 bytes within `end`. Every
 * accessor reads inside the header.
 */
export class UdpPacket {
  private constructor(
    /** The bytes the header sits in. */
    readonly buf: Uint8Array,
    /** Offset of the header. */
    readonly off: number,
  ) {}

  /** The view of the header at `off`, or null when `buf[off, end)` is shorter than 8 bytes. */
  static checked(buf: Uint8Array, off: number, end: number): UdpPacket | null {
    if (off < 0 || end > buf.length || end - off < UDP_HEADER_LEN) return null;
    return new UdpPacket(buf, off);
  }

  private u16(at: number): number {
    return (this.buf[this.off + at]! << 8) | this.buf[this.off + at + 1]!;
  }

  /** Source port. */
  get sport(): number {
    return this.u16(UDP_SRC_PORT);
  }
  /** Destination port. */
  get dport(): number {
    return this.u16(UDP_DST_PORT);
  }
  /** Length field: header and user data. */
  get length(): number {
    return this.u16(UDP_LENGTH);
  }
  /** Checksum field. */
  get checksum(): number {
    return this.u16(UDP_CHECKSUM);
  }
}

/** A datagram to write. */
export interface UdpRepr {
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** User data. */
  payload: Uint8Array;
  /** Leave the checksum zero ("no checksum", RFC 768; not allowed for IPv6, RFC 8200). */
  zeroChecksum?: boolean;
}

/**
 * Writes header and user data at `off` of `buf` and returns the UDP length. `pseudo` is the
 * pseudo-header sum (`pseudoSum` of checksum.ts) for that length; the checksum covers the UDP
 * length only, never bytes after it (an options surplus area, RFC 9868 §7).
 */
export function emitUdp(buf: Uint8Array, off: number, d: UdpRepr, pseudo: number): number {
  const len = UDP_HEADER_LEN + d.payload.length;
  put16(buf, off + UDP_SRC_PORT, d.sport);
  put16(buf, off + UDP_DST_PORT, d.dport);
  put16(buf, off + UDP_LENGTH, len);
  put16(buf, off + UDP_CHECKSUM, 0);
  buf.set(d.payload, off + UDP_HEADER_LEN);
  if (!d.zeroChecksum) {
    // a computed 0 is sent as 0xffff: 0 means "no checksum" (RFC 768)
    put16(buf, off + UDP_CHECKSUM, finish(sum16(buf, off, off + len, pseudo)) || 0xffff);
  }
  return len;
}

function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

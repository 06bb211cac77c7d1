/**
 * IPv6 (RFC 8200): the fixed header's and extension headers' field offsets, named once; a
 * checked view of a fixed header; and the builder of one, side by side.
 *
 * The observer's parser (`src/observer/parse.ts`) reads headers with the offsets below and no
 * view object; `Ipv6Packet` is for the rest: after its one length check no accessor can read
 * outside the header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitIpv6Header, IPV6_HEADER_LEN, Ipv6Packet } from "./ipv6.ts";
 * import { ipBytes } from "./ip.ts";
 *
 * const buf = new Uint8Array(IPV6_HEADER_LEN);
 * emitIpv6Header(buf, 0, {
 *   trafficClass: 0xb8, flowLabel: 7, payloadLen: 0, nextHeader: 17, hopLimit: 64,
 *   src: ipBytes("fd00::1"), dst: ipBytes("fd00::2"),
 * });
 * const ip = Ipv6Packet.checked(buf, 0, buf.length)!;
 * assert(ip.trafficClass === 0xb8 && ip.flowLabel === 7 && ip.nextHeader === 17);
 * ```
 *
 * @module
 */

/** Offset of the word of version (4 bits), traffic class (8) and flow label (20). */
export const IPV6_VER_TC_FLOW = 0;
/** Offset of the payload length (u16): bytes after the fixed header. */
export const IPV6_PAYLOAD_LEN = 4;
/** Offset of the next header (the protocol after the fixed header). */
export const IPV6_NEXT_HEADER = 6;
/** Offset of the hop limit. */
export const IPV6_HOP_LIMIT = 7;
/** Offset of the source address (16 bytes). */
export const IPV6_SRC = 8;
/** Offset of the destination address (16 bytes). */
export const IPV6_DST = 24;
/** Length of the fixed header. */
export const IPV6_HEADER_LEN = 40;

/** Next header: hop-by-hop options. */
export const IPV6_HOPOPTS = 0;
/** Next header: routing header. */
export const IPV6_ROUTING = 43;
/** Next header: fragment header. */
export const IPV6_FRAGMENT = 44;
/** Next header: authentication header. */
export const IPV6_AH = 51;
/** Next header: destination options. */
export const IPV6_DSTOPTS = 60;
/** Offset of an extension header's next header byte. */
export const IPV6_EXT_NEXT = 0;
/**
 * Offset of an extension header's length byte: the length in 8-byte units beyond the first 8
 * (AH counts 4-byte units beyond the first 8 - RFC 4302 - but libtrace, whose rule the observer
 * follows, reads it like the others).
 */
export const IPV6_EXT_LEN = 1;
/** Length of a fragment header, and the least of any extension header. */
export const IPV6_EXT_MIN_LEN = 8;

/**
 * A view of the IPv6 fixed header at `off` of `buf`, made by `checked`: version 6 and 40 bytes
 * within `end`. Every accessor reads inside that header.
 */
export class Ipv6Packet {
  private constructor(
    /** The bytes the header sits in. */
    readonly buf: Uint8Array,
    /** Offset of the fixed header. */
    readonly off: number,
  ) {}

  /** The view of the header at `off`, or null when `buf[off, end)` does not hold a valid one. */
  static checked(buf: Uint8Array, off: number, end: number): Ipv6Packet | null {
    if (off < 0 || end > buf.length || end - off < IPV6_HEADER_LEN) return null;
    if (buf[off + IPV6_VER_TC_FLOW]! >> 4 !== 6) return null;
    return new Ipv6Packet(buf, off);
  }

  /** Traffic class: DSCP << 2 | ECN. */
  get trafficClass(): number {
    const b = this.buf, o = this.off + IPV6_VER_TC_FLOW;
    return ((b[o]! & 15) << 4) | (b[o + 1]! >> 4);
  }
  /** Flow label (20 bits). */
  get flowLabel(): number {
    const b = this.buf, o = this.off + IPV6_VER_TC_FLOW;
    return ((b[o + 1]! & 15) << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }
  /** Payload length field. */
  get payloadLen(): number {
    return (this.buf[this.off + IPV6_PAYLOAD_LEN]! << 8) |
      this.buf[this.off + IPV6_PAYLOAD_LEN + 1]!;
  }
  /** Next header of the fixed header. */
  get nextHeader(): number {
    return this.buf[this.off + IPV6_NEXT_HEADER]!;
  }
  /** Hop limit. */
  get hopLimit(): number {
    return this.buf[this.off + IPV6_HOP_LIMIT]!;
  }
  /** Source address bytes (a view). */
  get src(): Uint8Array {
    return this.buf.subarray(this.off + IPV6_SRC, this.off + IPV6_SRC + 16);
  }
  /** Destination address bytes (a view). */
  get dst(): Uint8Array {
    return this.buf.subarray(this.off + IPV6_DST, this.off + IPV6_DST + 16);
  }
}

/** The fields of an IPv6 fixed header, to write. */
export interface Ipv6Repr {
  /** Traffic class: DSCP << 2 | ECN. */
  trafficClass: number;
  /** Flow label (20 bits; higher bits are dropped). */
  flowLabel: number;
  /** Bytes after the fixed header. */
  payloadLen: number;
  /** Protocol after the fixed header. */
  nextHeader: number;
  /** Hop limit. */
  hopLimit: number;
  /** Source address, 16 bytes. */
  src: Uint8Array;
  /** Destination address, 16 bytes. */
  dst: Uint8Array;
}

/** Writes the 40-byte IPv6 fixed header at `off` of `buf`. */
export function emitIpv6Header(buf: Uint8Array, off: number, h: Ipv6Repr): void {
  const tc = h.trafficClass & 0xff, fl = h.flowLabel & 0xfffff;
  const o = off + IPV6_VER_TC_FLOW;
  buf[o] = 0x60 | (tc >> 4);
  buf[o + 1] = ((tc & 15) << 4) | (fl >> 16);
  buf[o + 2] = (fl >> 8) & 0xff;
  buf[o + 3] = fl & 0xff;
  buf[off + IPV6_PAYLOAD_LEN] = (h.payloadLen >> 8) & 0xff;
  buf[off + IPV6_PAYLOAD_LEN + 1] = h.payloadLen & 0xff;
  buf[off + IPV6_NEXT_HEADER] = h.nextHeader;
  buf[off + IPV6_HOP_LIMIT] = h.hopLimit;
  buf.set(h.src.subarray(0, 16), off + IPV6_SRC);
  buf.set(h.dst.subarray(0, 16), off + IPV6_DST);
}

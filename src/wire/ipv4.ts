/**
 * IPv4 (RFC 791): the header's field offsets, named once; a checked view of a header; and the
 * builder of one, side by side.
 *
 * The observer's parser (`src/observer/parse.ts`) reads headers with the offsets below and no
 * view object (one per packet would be garbage on a path of millions of packets); `Ipv4Packet`
 * is for the rest: after its one length check no accessor can read outside the header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitIpv4Header, IPV4_HEADER_LEN, Ipv4Packet } from "./ipv4.ts";
 *
 * const buf = new Uint8Array(IPV4_HEADER_LEN);
 * emitIpv4Header(buf, 0, {
 *   tos: 0, totalLen: 20, ident: 1, flagsFrag: 0, ttl: 64, protocol: 6,
 *   src: Uint8Array.of(198, 18, 0, 1), dst: Uint8Array.of(198, 18, 0, 2),
 * });
 * const ip = Ipv4Packet.checked(buf, 0, buf.length)!;
 * assert(ip.protocol === 6 && ip.ttl === 64 && ip.checksumValid());
 * ```
 *
 * @module
 */

import { finish, sum16 } from "./checksum.ts";

/** Offset of the version (high nibble) and header length in 32-bit words (low nibble). */
export const IPV4_VER_IHL = 0;
/** Offset of the ToS byte: DSCP << 2 | ECN. */
export const IPV4_TOS = 1;
/** Offset of the total length (u16). */
export const IPV4_TOTAL_LEN = 2;
/** Offset of the identification (u16). */
export const IPV4_IDENT = 4;
/** Offset of the flags (3 bits) and fragment offset (13 bits) word. */
export const IPV4_FLAGS_FRAG = 6;
/** Offset of the TTL. */
export const IPV4_TTL = 8;
/** Offset of the protocol of the payload. */
export const IPV4_PROTOCOL = 9;
/** Offset of the header checksum (u16). */
export const IPV4_CHECKSUM = 10;
/** Offset of the source address (4 bytes). */
export const IPV4_SRC = 12;
/** Offset of the destination address (4 bytes). */
export const IPV4_DST = 16;
/** Length of a header without options, the least there is. */
export const IPV4_HEADER_LEN = 20;

/** The reserved flag (RFC 3514's "evil bit"), in the flags/fragment-offset word. */
export const IPV4_EVIL = 0x8000;
/** The don't-fragment flag, in the flags/fragment-offset word. */
export const IPV4_DF = 0x4000;
/** The more-fragments flag, in the flags/fragment-offset word. */
export const IPV4_MF = 0x2000;
/** The fragment offset (in 8-byte units) in the flags/fragment-offset word. */
export const IPV4_FRAG_OFFSET = 0x1fff;

/**
 * A view of the IPv4 header at `off` of `buf`, made by `checked`: version 4, a header length of
 * at least 20 that lies within `end`. Every accessor reads inside that header.
 */
export class Ipv4Packet {
  private constructor(
    /** The bytes the header sits in. */
    readonly buf: Uint8Array,
    /** Offset of the header. */
    readonly off: number,
    /** Header length in bytes (IHL × 4), options included. */
    readonly headerLen: number,
  ) {}

  /** The view of the header at `off`, or null when `buf[off, end)` does not hold a valid one. */
  static checked(buf: Uint8Array, off: number, end: number): Ipv4Packet | null {
    if (off < 0 || end > buf.length || end - off < IPV4_HEADER_LEN) return null;
    const b0 = buf[off + IPV4_VER_IHL]!;
    const hl = (b0 & 15) << 2;
    if (b0 >> 4 !== 4 || hl < IPV4_HEADER_LEN || hl > end - off) return null;
    return new Ipv4Packet(buf, off, hl);
  }

  private u16(at: number): number {
    return (this.buf[this.off + at]! << 8) | this.buf[this.off + at + 1]!;
  }

  /** ToS byte: DSCP << 2 | ECN. */
  get tos(): number {
    return this.buf[this.off + IPV4_TOS]!;
  }
  /** Total length field (header and payload, as the sender wrote it). */
  get totalLen(): number {
    return this.u16(IPV4_TOTAL_LEN);
  }
  /** Identification. */
  get ident(): number {
    return this.u16(IPV4_IDENT);
  }
  /** The flags/fragment-offset word. */
  get flagsFrag(): number {
    return this.u16(IPV4_FLAGS_FRAG);
  }
  /** The reserved ("evil") flag. */
  get evil(): boolean {
    return (this.flagsFrag & IPV4_EVIL) !== 0;
  }
  /** Fragment offset in 8-byte units. */
  get fragOffset(): number {
    return this.flagsFrag & IPV4_FRAG_OFFSET;
  }
  /** TTL. */
  get ttl(): number {
    return this.buf[this.off + IPV4_TTL]!;
  }
  /** Protocol of the payload. */
  get protocol(): number {
    return this.buf[this.off + IPV4_PROTOCOL]!;
  }
  /** Header checksum field. */
  get checksum(): number {
    return this.u16(IPV4_CHECKSUM);
  }
  /** Source address bytes (a view). */
  get src(): Uint8Array {
    return this.buf.subarray(this.off + IPV4_SRC, this.off + IPV4_SRC + 4);
  }
  /** Destination address bytes (a view). */
  get dst(): Uint8Array {
    return this.buf.subarray(this.off + IPV4_DST, this.off + IPV4_DST + 4);
  }
  /** True when the header checksum is right (the header, options included, sums to zero). */
  checksumValid(): boolean {
    return finish(sum16(this.buf, this.off, this.off + this.headerLen)) === 0;
  }
}

/** The fields of an IPv4 header without options, to write. */
export interface Ipv4Repr {
  /** ToS byte: DSCP << 2 | ECN. */
  tos: number;
  /** Total length: header and payload. */
  totalLen: number;
  /** Identification (0 lets the kernel choose one on a raw socket). */
  ident: number;
  /** Flags and fragment offset word (`IPV4_EVIL | IPV4_DF | ...`). */
  flagsFrag: number;
  /** TTL. */
  ttl: number;
  /** Protocol of the payload. */
  protocol: number;
  /** Source address, 4 bytes. */
  src: Uint8Array;
  /** Destination address, 4 bytes. */
  dst: Uint8Array;
}

/** Writes a 20-byte IPv4 header at `off` of `buf`, header checksum included. */
export function emitIpv4Header(buf: Uint8Array, off: number, h: Ipv4Repr): void {
  buf[off + IPV4_VER_IHL] = 0x45;
  buf[off + IPV4_TOS] = h.tos;
  put16(buf, off + IPV4_TOTAL_LEN, h.totalLen);
  put16(buf, off + IPV4_IDENT, h.ident);
  put16(buf, off + IPV4_FLAGS_FRAG, h.flagsFrag);
  buf[off + IPV4_TTL] = h.ttl;
  buf[off + IPV4_PROTOCOL] = h.protocol;
  put16(buf, off + IPV4_CHECKSUM, 0);
  buf.set(h.src.subarray(0, 4), off + IPV4_SRC);
  buf.set(h.dst.subarray(0, 4), off + IPV4_DST);
  put16(buf, off + IPV4_CHECKSUM, finish(sum16(buf, off, off + IPV4_HEADER_LEN)));
}

function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

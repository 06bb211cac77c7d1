/**
 * TCP (RFC 9293): the header's field offsets, flag bits and option kinds (the original's
 * `pathspider.chains.tcp` names), named once; a checked view of a header; the option parser the
 * chains use (mss, tcpopt, tfo); and the builder of a segment, side by side.
 *
 * Unlike the original's `tcp_options`, the option parser cannot loop or throw: it stops at an
 * option whose length byte is missing or smaller than 2 (the original loops forever on a length
 * of 0 and reinterprets the length byte as the next kind on a length of 1) and reports it as
 * `malformed`; options already parsed stay available.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitTcp, TCP_ECE, TCP_SYN, TcpPacket, TO_MSS } from "./tcp.ts";
 *
 * const buf = new Uint8Array(24);
 * emitTcp(buf, 0, {
 *   sport: 40000, dport: 80, seq: 1, ack: 0, flags: TCP_SYN | TCP_ECE, window: 8192,
 *   options: Uint8Array.of(TO_MSS, 4, 0x05, 0xb4),
 * }, 0);
 * const tcp = TcpPacket.checked(buf, 0, buf.length)!;
 * assert(tcp.flags === (TCP_SYN | TCP_ECE) && tcp.headerLen === 24 && tcp.dport === 80);
 * ```
 *
 * @module
 */

import { finish, sum16 } from "./checksum.ts";

/** Offset of the source port (u16). */
export const TCP_SRC_PORT = 0;
/** Offset of the destination port (u16). */
export const TCP_DST_PORT = 2;
/** Offset of the sequence number (u32). */
export const TCP_SEQ_NUM = 4;
/** Offset of the acknowledgement number (u32). */
export const TCP_ACK_NUM = 8;
/**
 * Offset of the data offset byte: header length in 32-bit words (high nibble), reserved bits,
 * and the AE flag (low bit, flag bit 8).
 */
export const TCP_DATA_OFF = 12;
/** Offset of the flags byte (CWR..FIN, flag bits 7-0). */
export const TCP_FLAGS = 13;
/** Offset of the window (u16). */
export const TCP_WINDOW = 14;
/** Offset of the checksum (u16). */
export const TCP_CHECKSUM = 16;
/** Offset of the urgent pointer (u16). */
export const TCP_URGENT = 18;
/** Length of a header without options, the least there is. */
export const TCP_HEADER_LEN = 20;

/**
 * TCP flag AE (Accurate ECN, RFC 9768; RFC 3540's NS before it): bit 8 of the flags, the low bit
 * of the data-offset byte. The flags fields carry all nine bits, as the original's do.
 */
export const TCP_AE = 0x100;
/** TCP flag CWR. */
export const TCP_CWR = 0x80;
/** TCP flag ECE. */
export const TCP_ECE = 0x40;
/** TCP flag URG. */
export const TCP_URG = 0x20;
/** TCP flag ACK. */
export const TCP_ACK = 0x10;
/** TCP flag PSH. */
export const TCP_PSH = 0x08;
/** TCP flag RST. */
export const TCP_RST = 0x04;
/** TCP flag SYN. */
export const TCP_SYN = 0x02;
/** TCP flag FIN. */
export const TCP_FIN = 0x01;
/** SYN and ACK. */
export const TCP_SA = TCP_SYN | TCP_ACK;
/** SYN, ECE and CWR (the original's value). */
export const TCP_SEC = TCP_SYN | TCP_ECE | TCP_CWR;
/** SYN, ACK, ECE and CWR. */
export const TCP_SAEC = TCP_SYN | TCP_ACK | TCP_ECE | TCP_CWR;
/** SYN, ACK and ECE. */
export const TCP_SAE = TCP_SYN | TCP_ACK | TCP_ECE;

/** TCP option: end of option list. */
export const TO_EOL = 0;
/** TCP option: no operation. */
export const TO_NOP = 1;
/** TCP option: maximum segment size. */
export const TO_MSS = 2;
/** TCP option: window scale. */
export const TO_WS = 3;
/** TCP option: SACK permitted. */
export const TO_SACKOK = 4;
/** TCP option: SACK. */
export const TO_SACK = 5;
/** TCP option: timestamps. */
export const TO_TS = 8;
/** TCP option: multipath TCP. */
export const TO_MPTCP = 30;
/** TCP option: fast open cookie. */
export const TO_FASTOPEN = 34;
/** TCP option: experimental A. */
export const TO_EXPA = 254;
/** TCP option: experimental B. */
export const TO_EXPB = 255;
/** Experiment ID of TCP Fast Open (RFC 6994), as two bytes. */
export const TO_EXID_FASTOPEN: readonly [number, number] = [0xf9, 0x89];

/**
 * Where a TCP header sits, as the observer's packet view says it (`src/observer/packet.ts`).
 */
export interface TcpHeaderAt {
  /** The bytes. */
  buf: Uint8Array;
  /** Offset of the TCP header; -1 when there is none. */
  tcpOff: number;
  /** Header length (data offset × 4) as written. */
  tcpHdrLen: number;
  /** End of the IP packet's captured bytes. */
  ipEnd: number;
}

/**
 * The options of one TCP header, as offsets into the packet buffer. Like the original's dict, a
 * kind that appears several times keeps its last value. Reuse one instance: `parse` resets it.
 */
export class TcpOptions {
  /** Offset of each kind's value (after kind and length bytes) in `buf`, -1 when absent. */
  readonly off: Int32Array = new Int32Array(256).fill(-1);
  /** Length of each kind's value in bytes (cut at the end of the header or capture). */
  readonly len: Int32Array = new Int32Array(256);
  /** True when parsing stopped at a missing or invalid length byte. */
  malformed = false;
  /** The buffer the offsets point into. */
  buf: Uint8Array = new Uint8Array(0);
  private kinds: number[] = [];

  /** Parses the options of the packet's TCP header (`pkt.tcpOff >= 0`). */
  parse(pkt: TcpHeaderAt): this {
    for (const k of this.kinds) this.off[k] = -1;
    this.kinds.length = 0;
    this.malformed = false;
    this.buf = pkt.buf;
    if (pkt.tcpOff < 0) return this;
    const b = pkt.buf;
    let cp = pkt.tcpOff + TCP_HEADER_LEN;
    // the original slices data[20:doff*4]: the header's options, cut at the capture
    const hdrEnd = pkt.tcpOff + pkt.tcpHdrLen;
    const end = hdrEnd < pkt.ipEnd ? hdrEnd : pkt.ipEnd;
    while (cp < end) {
      const kind = b[cp]!;
      if (kind === TO_NOP) {
        cp++;
        continue;
      }
      if (kind === TO_EOL) break;
      if (cp + 1 >= end || b[cp + 1]! < 2) {
        this.malformed = true;
        break;
      }
      const next = cp + b[cp + 1]!;
      const vEnd = next < end ? next : end;
      if (this.off[kind]! < 0) this.kinds.push(kind);
      this.off[kind] = cp + 2;
      this.len[kind] = vEnd - (cp + 2);
      cp = next;
    }
    return this;
  }

  /** True when the kind was present. */
  has(kind: number): boolean {
    return this.off[kind]! >= 0;
  }

  /** The value bytes of a kind (a view into the packet buffer, valid until the next packet). */
  value(kind: number): Uint8Array | null {
    const o = this.off[kind]!;
    return o < 0 ? null : this.buf.subarray(o, o + this.len[kind]!);
  }
}

/**
 * A view of the TCP header at `off` of `buf`, made by `checked`: a data offset of at least 5
 * words and the whole header (options included) within `end`. Every accessor reads inside it.
 */
export class TcpPacket {
  private constructor(
    /** The bytes the header sits in. */
    readonly buf: Uint8Array,
    /** Offset of the header. */
    readonly off: number,
    /** Header length in bytes, options included. */
    readonly headerLen: number,
  ) {}

  /** The view of the header at `off`, or null when `buf[off, end)` does not hold a valid one. */
  static checked(buf: Uint8Array, off: number, end: number): TcpPacket | null {
    if (off < 0 || end > buf.length || end - off < TCP_HEADER_LEN) return null;
    const hl = (buf[off + TCP_DATA_OFF]! >> 4) << 2;
    if (hl < TCP_HEADER_LEN || hl > end - off) return null;
    return new TcpPacket(buf, off, hl);
  }

  private u16(at: number): number {
    return (this.buf[this.off + at]! << 8) | this.buf[this.off + at + 1]!;
  }
  private u32(at: number): number {
    return ((this.u16(at) << 16) | this.u16(at + 2)) >>> 0;
  }

  /** Source port. */
  get sport(): number {
    return this.u16(TCP_SRC_PORT);
  }
  /** Destination port. */
  get dport(): number {
    return this.u16(TCP_DST_PORT);
  }
  /** Sequence number. */
  get seq(): number {
    return this.u32(TCP_SEQ_NUM);
  }
  /** Acknowledgement number. */
  get ack(): number {
    return this.u32(TCP_ACK_NUM);
  }
  /** All nine flag bits (AE included), as the original reports them. */
  get flags(): number {
    return ((this.buf[this.off + TCP_DATA_OFF]! & 1) << 8) | this.buf[this.off + TCP_FLAGS]!;
  }
  /** Window. */
  get window(): number {
    return this.u16(TCP_WINDOW);
  }
  /** Checksum field. */
  get checksum(): number {
    return this.u16(TCP_CHECKSUM);
  }
  /** The option bytes (a view). */
  get options(): Uint8Array {
    return this.buf.subarray(this.off + TCP_HEADER_LEN, this.off + this.headerLen);
  }
}

/** A segment to write. */
export interface TcpRepr {
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** Sequence number. */
  seq: number;
  /** Acknowledgement number. */
  ack: number;
  /** Flag bits (`TCP_SYN | ...`), nine of them: `TCP_AE` goes into the data offset byte. */
  flags: number;
  /** Window. */
  window: number;
  /** Raw option bytes (padded with zeros to a multiple of 4; at most 40 bytes). */
  options?: Uint8Array;
  /** Data. */
  payload?: Uint8Array;
}

/** Header length of a segment with `optionBytes` bytes of options (padded to 4). */
export function tcpHeaderLen(optionBytes: number): number {
  return TCP_HEADER_LEN + ((optionBytes + 3) & ~3);
}

/**
 * Writes the segment at `off` of `buf` (which must hold it, and be zero where the option padding
 * goes) and returns its length. `pseudo` is the pseudo-header sum (`pseudoSum` of checksum.ts)
 * for that length.
 */
export function emitTcp(buf: Uint8Array, off: number, t: TcpRepr, pseudo: number): number {
  const hl = tcpHeaderLen(t.options?.length ?? 0);
  const len = hl + (t.payload?.length ?? 0);
  put16(buf, off + TCP_SRC_PORT, t.sport);
  put16(buf, off + TCP_DST_PORT, t.dport);
  put32(buf, off + TCP_SEQ_NUM, t.seq);
  put32(buf, off + TCP_ACK_NUM, t.ack);
  buf[off + TCP_DATA_OFF] = ((hl >> 2) << 4) | ((t.flags >> 8) & 1);
  buf[off + TCP_FLAGS] = t.flags & 0xff;
  put16(buf, off + TCP_WINDOW, t.window);
  put16(buf, off + TCP_CHECKSUM, 0);
  put16(buf, off + TCP_URGENT, 0);
  if (t.options) buf.set(t.options, off + TCP_HEADER_LEN);
  if (t.payload) buf.set(t.payload, off + hl);
  put16(buf, off + TCP_CHECKSUM, finish(sum16(buf, off, off + len, pseudo)));
  return len;
}

function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

function put32(buf: Uint8Array, at: number, v: number): void {
  put16(buf, at, v >>> 16);
  put16(buf, at + 2, v & 0xffff);
}

/**
 * ICMP and ICMPv6 error messages and the packet they quote: where the quotation starts and ends
 * (RFC 4884's length field, so that an extension structure is not read as quoted bytes), and the
 * quoted IP and TCP/UDP header fields, each behind one length check.
 *
 * How much is quoted varies: RFC 792 asks IPv4 routers for the IP header and 8 bytes (ports and
 * TCP sequence number, no flags), RFC 1812 for as much as fits in 576 bytes (Linux quotes up to
 * 576 - 28 bytes), RFC 4443 IPv6 routers for as much as fits in 1280 bytes. Accessors of fields
 * beyond the quotation return -1 or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IcmpQuote, ICMP4_TIME_EXCEEDED } from "./icmp.ts";
 *
 * // time exceeded quoting 28 bytes: an IPv4 header (ToS 0xb8) and a TCP header's first 8 bytes
 * const msg = new Uint8Array(36);
 * msg.set([ICMP4_TIME_EXCEEDED, 0]);
 * msg.set([0x45, 0xb8, 0, 40, 0, 1, 0, 0, 1, 6], 8);
 * msg.set([0xee, 0x48, 0, 80], 28);
 * const q = new IcmpQuote();
 * assert(q.parse(msg, 0, msg.length, 4) && q.tos === 0xb8 && q.dport === 80);
 * assert(q.tcpFlags() === -1); // not quoted
 * ```
 *
 * @module
 */

import { IPV4_DST, IPV4_FLAGS_FRAG, IPV4_PROTOCOL, IPV4_SRC, IPV4_TOS, IPV4_TTL } from "./ipv4.ts";
import {
  IPV6_DST,
  IPV6_DSTOPTS,
  IPV6_HEADER_LEN,
  IPV6_HOP_LIMIT,
  IPV6_HOPOPTS,
  IPV6_NEXT_HEADER,
  IPV6_ROUTING,
  IPV6_SRC,
} from "./ipv6.ts";
import {
  TCP_DATA_OFF,
  TCP_DST_PORT,
  TCP_FLAGS,
  TCP_HEADER_LEN,
  TCP_SEQ_NUM,
  TCP_SRC_PORT,
} from "./tcp.ts";

import { formatIp } from "./ip.ts";

/** ICMPv4 destination unreachable. */
export const ICMP4_UNREACH = 3;
/** ICMPv4 time exceeded (code 0: TTL exceeded in transit). */
export const ICMP4_TIME_EXCEEDED = 11;
/** ICMPv4 parameter problem. */
export const ICMP4_PARAM_PROBLEM = 12;
/** ICMPv6 destination unreachable. */
export const ICMP6_UNREACH = 1;
/** ICMPv6 packet too big. */
export const ICMP6_TOO_BIG = 2;
/** ICMPv6 time exceeded (code 0: hop limit exceeded in transit). */
export const ICMP6_TIME_EXCEEDED = 3;
/** ICMPv6 parameter problem. */
export const ICMP6_PARAM_PROBLEM = 4;

// the quoted headers' offsets are the wire modules'; a quoted UDP header has its ports where
// TCP has them (TCP_SRC_PORT, TCP_DST_PORT)

// ICMP header (both versions): type, code, checksum, 4 bytes that depend on the type
const I_TYPE = 0;
const I_CODE = 1;
/** RFC 4884: length of the quotation in 64-bit words (ICMPv6 types 1 and 3). */
const I_LEN6 = 4;
/** RFC 4884: length of the quotation in 32-bit words (ICMPv4 types 3, 11, 12). */
const I_LEN4 = 5;
const I_QUOTE = 8;

/** IPv6 extension headers skipped to reach the quoted transport header. */
function isExtension(next: number): boolean {
  return next === IPV6_HOPOPTS || next === IPV6_ROUTING || next === IPV6_DSTOPTS;
}

/**
 * The quotation of one ICMP(v6) error message: a reusable view, filled by `parse`; valid until
 * the buffer changes.
 */
export class IcmpQuote {
  /** The buffer the offsets point into. */
  buf: Uint8Array = new Uint8Array(0);
  /** ICMP type and code. */
  type = 0;
  /** ICMP code. */
  code = 0;
  /** Offset of the quoted IP header. */
  off = 0;
  /** One past the last quoted byte (RFC 4884 length, else the end of the message). */
  end = 0;
  /** IP version of the quoted packet. */
  version: 4 | 6 = 4;
  /** Quoted ToS / traffic class byte (DSCP << 2 | ECN). */
  tos = 0;
  /** Quoted TTL / hop limit (as the router received it: 1 for a probe that expired there). */
  ttl = 0;
  /** Quoted IPv4 flags/fragment word (0 for IPv6). */
  fragWord = 0;
  /** Transport protocol of the quoted packet. */
  proto = 0;
  /** Offset of the quoted transport header; -1 when none of it is quoted. */
  l4 = -1;
  /** Quoted source and destination ports (-1 when not quoted). */
  sport = -1;
  /** Quoted destination port. */
  dport = -1;

  /**
   * Reads the ICMP message at `icmp` (ending at `end`) of an IPv`v` packet. False when it is
   * not an error message or its quotation lacks a whole IP header.
   */
  parse(buf: Uint8Array, icmp: number, end: number, v: 4 | 6): boolean {
    this.buf = buf;
    if (end - icmp < I_QUOTE) return false;
    const type = buf[icmp + I_TYPE]!;
    this.type = type;
    this.code = buf[icmp + I_CODE]!;
    let words = 0, unit = 0;
    if (v === 4) {
      if (type !== ICMP4_UNREACH && type !== ICMP4_TIME_EXCEEDED && type !== ICMP4_PARAM_PROBLEM) {
        if (type !== 4 && type !== 5) return false;
      } else [words, unit] = [buf[icmp + I_LEN4]!, 4];
    } else {
      if (type < ICMP6_UNREACH || type > ICMP6_PARAM_PROBLEM) return false;
      if (type === ICMP6_UNREACH || type === ICMP6_TIME_EXCEEDED) {
        [words, unit] = [buf[icmp + I_LEN6]!, 8];
      }
    }
    const q = icmp + I_QUOTE;
    // RFC 4884: a non-zero length bounds the quotation; zero (older routers) means all of it
    this.off = q;
    this.end = words > 0 ? Math.min(end, q + words * unit) : end;
    return this.#readIp();
  }

  #readIp(): boolean {
    const b = this.buf, q = this.off, avail = this.end - q;
    if (avail < 1) return false;
    this.l4 = -1;
    this.sport = this.dport = -1;
    const ver = b[q]! >> 4;
    let l4 = 0;
    if (ver === 4) {
      if (avail < 20) return false;
      this.version = 4;
      this.tos = b[q + IPV4_TOS]!;
      this.fragWord = (b[q + IPV4_FLAGS_FRAG]! << 8) | b[q + IPV4_FLAGS_FRAG + 1]!;
      this.ttl = b[q + IPV4_TTL]!;
      this.proto = b[q + IPV4_PROTOCOL]!;
      l4 = q + ((b[q]! & 15) << 2);
    } else if (ver === 6) {
      if (avail < IPV6_HEADER_LEN) return false;
      this.version = 6;
      this.tos = ((b[q]! & 15) << 4) | (b[q + 1]! >> 4);
      this.fragWord = 0;
      this.ttl = b[q + IPV6_HOP_LIMIT]!;
      let next = b[q + IPV6_NEXT_HEADER]!;
      l4 = q + IPV6_HEADER_LEN;
      while (isExtension(next) && l4 + 2 <= this.end) {
        next = b[l4]!;
        l4 += (b[l4 + 1]! + 1) << 3;
      }
      this.proto = next;
    } else return false;
    if (l4 + 4 <= this.end) {
      this.l4 = l4;
      this.sport = (b[l4 + TCP_SRC_PORT]! << 8) | b[l4 + TCP_SRC_PORT + 1]!;
      this.dport = (b[l4 + TCP_DST_PORT]! << 8) | b[l4 + TCP_DST_PORT + 1]!;
    }
    return true;
  }

  /** Quoted source address as text. */
  src(): string {
    return this.version === 4
      ? formatIp(this.buf, this.off + IPV4_SRC, 4)
      : formatIp(this.buf, this.off + IPV6_SRC, 16);
  }

  /** Quoted destination address as text. */
  dst(): string {
    return this.version === 4
      ? formatIp(this.buf, this.off + IPV4_DST, 4)
      : formatIp(this.buf, this.off + IPV6_DST, 16);
  }

  /** Quoted TCP sequence number, -1 when not quoted. */
  tcpSeq(): number {
    if (this.l4 < 0 || this.l4 + TCP_SEQ_NUM + 4 > this.end) return -1;
    const b = this.buf, o = this.l4 + TCP_SEQ_NUM;
    return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  }

  /** Quoted TCP flags, all nine bits (AE too), -1 when not quoted. */
  tcpFlags(): number {
    if (this.l4 < 0 || this.l4 + TCP_FLAGS + 1 > this.end) return -1;
    return ((this.buf[this.l4 + TCP_DATA_OFF]! & 1) << 8) | this.buf[this.l4 + TCP_FLAGS]!;
  }

  /** The quoted TCP option bytes, null unless the whole TCP header is quoted. */
  tcpOptions(): Uint8Array | null {
    if (this.l4 < 0 || this.l4 + TCP_HEADER_LEN > this.end) return null;
    const hl = (this.buf[this.l4 + TCP_DATA_OFF]! >> 4) << 2;
    if (hl < TCP_HEADER_LEN || this.l4 + hl > this.end) return null;
    return this.buf.subarray(this.l4 + TCP_HEADER_LEN, this.l4 + hl);
  }
}

/**
 * TCP options as kind -> value bytes in hex ("" for a kind without value), NOP and EOL left out;
 * parsing stops at a malformed length, as the observer's parser does.
 */
export function optionMap(opts: Uint8Array): Map<number, string> {
  const out = new Map<number, string>();
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= opts.length || opts[i + 1]! < 2) break;
    const end = Math.min(opts.length, i + opts[i + 1]!);
    let hex = "";
    for (let k = i + 2; k < end; k++) hex += opts[k]!.toString(16).padStart(2, "0");
    out.set(kind, hex);
    i += opts[i + 1]!;
  }
  return out;
}

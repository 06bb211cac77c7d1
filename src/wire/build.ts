/**
 * Builds complete IPv4/IPv6 packets carrying TCP or UDP for the forge model: every header
 * field the plugins need (the IPv4 reserved "evil" bit, DF, TTL / hop limit, DSCP/ECN, TCP
 * flags and options, a zero UDP checksum on purpose, a UDP options surplus area), with the
 * checksums filled in. The bytes are final: the raw sender does not touch them (the kernel
 * re-fills the IPv4 total length and header checksum with the same values).
 *
 * Defaults follow what the original's packet library (Scapy) put on the wire: IPv4 id 1, TTL
 * and hop limit 64, ToS 0, TCP window 8192 and no TCP options.
 *
 * @module
 */

import { parseIpInto } from "./ip.ts";
import { finish, pseudoSum, sum16 } from "./checksum.ts";
import { udpOptionsArea } from "./udp_options.ts";

/** IP protocol numbers. */
export const PROTO_TCP = 6;
/** IP protocol number of UDP. */
export const PROTO_UDP = 17;

/** The IPv4 reserved flag (RFC 3514's "evil bit"), in the flags/fragment-offset word. */
export const IPV4_EVIL = 0x8000;
/** The IPv4 don't-fragment flag, in the flags/fragment-offset word. */
export const IPV4_DF = 0x4000;

/** The IP part of a forged packet; the family follows the addresses. */
export interface IpSpec {
  src: string;
  dst: string;
  /** TTL / hop limit (default 64). */
  ttl?: number;
  /** ToS / traffic class byte: DSCP << 2 | ECN (default 0). */
  tos?: number;
  /** IPv4 identification (default 1; 0 would let the kernel choose one). */
  id?: number;
  /** IPv4 only: set the reserved flag (RFC 3514). IPv6 has no such bit. */
  evil?: boolean;
  /** IPv4 only: set don't-fragment. */
  df?: boolean;
  /** IPv6 flow label (default 0). */
  flowLabel?: number;
}

/** A TCP segment. */
export interface TcpSpec {
  proto: "tcp";
  sport: number;
  dport: number;
  /** Flag bits (`TCP_SYN | ...`), also the ECN-nonce and reserved bits when > 0xff. */
  flags: number;
  seq?: number;
  ack?: number;
  /** Window (default 8192). */
  window?: number;
  /** Raw option bytes (padded with zeros to a multiple of 4). */
  options?: Uint8Array;
  payload?: Uint8Array;
}

/** A UDP datagram. */
export interface UdpSpec {
  proto: "udp";
  sport: number;
  dport: number;
  payload: Uint8Array;
  /** Leave the UDP checksum zero ("no checksum", RFC 768; not allowed for IPv6, RFC 8200). */
  zeroChecksum?: boolean;
  /**
   * UDP options (RFC 9868): option bytes placed after the Option Checksum in a surplus area
   * behind the UDP payload (the IP length then exceeds the UDP length).
   */
  udpOptions?: Uint8Array;
}

/** A whole packet to forge. */
export type PacketSpec = IpSpec & { l4: TcpSpec | UdpSpec };

const srcScratch = new Uint8Array(16), dstScratch = new Uint8Array(16);

/** Parses both addresses into the scratch arrays; their common family. */
function ipFamily(spec: IpSpec): 4 | 6 {
  const vs = parseIpInto(spec.src, srcScratch), vd = parseIpInto(spec.dst, dstScratch);
  if (vs === 0) throw new Error(`not an IP address: ${spec.src}`);
  if (vd === 0) throw new Error(`not an IP address: ${spec.dst}`);
  if (vs !== vd) {
    throw new Error(`source ${spec.src} and destination ${spec.dst} differ in family`);
  }
  return vs;
}

function port(p: number, what: string): number {
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`bad ${what} port ${p}`);
  return p;
}

/** Builds the packet described by `spec`; throws (one line) on impossible values. */
export function buildPacket(spec: PacketSpec): Uint8Array {
  const family = ipFamily(spec);
  const ipLen = family === 4 ? 20 : 40;
  const l4 = spec.l4;
  let l4Len: number;
  let tcpHdrLen = 0;
  let optArea: Uint8Array | null = null;
  if (l4.proto === "tcp") {
    const optLen = ((l4.options?.length ?? 0) + 3) & ~3;
    if (optLen > 40) throw new Error(`TCP options too long: ${l4.options!.length} bytes`);
    tcpHdrLen = 20 + optLen;
    l4Len = tcpHdrLen + (l4.payload?.length ?? 0);
  } else {
    const udpEnd = ipLen + 8 + l4.payload.length;
    if (l4.udpOptions !== undefined) {
      optArea = udpOptionsArea(udpEnd, l4.udpOptions, !l4.zeroChecksum);
    }
    l4Len = 8 + l4.payload.length + (optArea?.length ?? 0);
  }
  const total = ipLen + l4Len;
  if (total > 65535) throw new Error(`packet too long: ${total} bytes`);
  const pkt = new Uint8Array(total);
  const v = new DataView(pkt.buffer);
  const tos = spec.tos ?? 0;
  const ttl = spec.ttl ?? 64;
  const protoNum = l4.proto === "tcp" ? PROTO_TCP : PROTO_UDP;
  let addrOff: number;
  let addrLen: 4 | 16;
  if (family === 4) {
    v.setUint8(0, 0x45);
    v.setUint8(1, tos);
    v.setUint16(2, total);
    v.setUint16(4, spec.id ?? 1);
    v.setUint16(6, (spec.evil ? IPV4_EVIL : 0) | (spec.df ? IPV4_DF : 0));
    v.setUint8(8, ttl);
    v.setUint8(9, protoNum);
    pkt.set(srcScratch.subarray(0, 4), 12);
    pkt.set(dstScratch.subarray(0, 4), 16);
    v.setUint16(10, finish(sum16(pkt, 0, 20)));
    addrOff = 12;
    addrLen = 4;
  } else {
    if (spec.evil) throw new Error("IPv6 has no evil bit");
    const fl = (spec.flowLabel ?? 0) & 0xfffff;
    v.setUint32(0, (6 << 28) | (tos << 20) | fl);
    v.setUint16(4, l4Len);
    v.setUint8(6, protoNum);
    v.setUint8(7, ttl);
    pkt.set(srcScratch, 8);
    pkt.set(dstScratch, 24);
    addrOff = 8;
    addrLen = 16;
  }
  const o = ipLen;
  v.setUint16(o, port(l4.sport, "source"));
  v.setUint16(o + 2, port(l4.dport, "destination"));
  if (l4.proto === "tcp") {
    v.setUint32(o + 4, (l4.seq ?? 0) >>> 0);
    v.setUint32(o + 8, (l4.ack ?? 0) >>> 0);
    v.setUint16(o + 12, ((tcpHdrLen / 4) << 12) | (l4.flags & 0x1ff));
    v.setUint16(o + 14, l4.window ?? 8192);
    if (l4.options) pkt.set(l4.options, o + 20);
    if (l4.payload) pkt.set(l4.payload, o + tcpHdrLen);
    const s = sum16(pkt, o, total, pseudoSum(pkt, addrOff, addrLen, PROTO_TCP, l4Len));
    v.setUint16(o + 16, finish(s));
  } else {
    const udpLen = 8 + l4.payload.length;
    v.setUint16(o + 4, udpLen);
    pkt.set(l4.payload, o + 8);
    if (optArea !== null) pkt.set(optArea, o + udpLen);
    if (!l4.zeroChecksum) {
      // the UDP checksum covers the UDP length only, never the surplus area (RFC 9868 §7)
      const s = sum16(pkt, o, o + udpLen, pseudoSum(pkt, addrOff, addrLen, PROTO_UDP, udpLen));
      // a computed 0 is sent as 0xffff: 0 means "no checksum" (RFC 768)
      v.setUint16(o + 6, finish(s) || 0xffff);
    }
  }
  return pkt;
}

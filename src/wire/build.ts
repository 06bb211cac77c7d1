/**
 * Builds complete IPv4/IPv6 packets carrying TCP or UDP for the forge model: every header
 * field the plugins need (the IPv4 reserved "evil" bit, DF, TTL / hop limit, DSCP/ECN, TCP
 * flags and options, a zero UDP checksum on purpose, a UDP options surplus area), with the
 * checksums filled in. The bytes are final: the raw sender does not touch them (the kernel
 * re-fills the IPv4 total length and header checksum with the same values).
 *
 * The headers are written by their modules (`ipv4.ts`, `ipv6.ts`, `tcp.ts`, `udp.ts`,
 * `udp_options.ts`), where their parsers sit too; this module lays them out in one packet.
 *
 * Defaults follow what the original's packet library (Scapy) put on the wire: IPv4 id 1, TTL
 * and hop limit 64, ToS 0, TCP window 8192 and no TCP options.
 *
 * @module
 */

import { parseIpInto, PROTO_TCP, PROTO_UDP } from "./ip.ts";
import { pseudoSum } from "./checksum.ts";
import { emitIpv4Header, IPV4_DF, IPV4_EVIL, IPV4_HEADER_LEN, IPV4_SRC } from "./ipv4.ts";
import { emitIpv6Header, IPV6_HEADER_LEN, IPV6_SRC } from "./ipv6.ts";
import { emitTcp, tcpHeaderLen } from "./tcp.ts";
import { emitUdp, UDP_HEADER_LEN } from "./udp.ts";
import { udpOptionsArea } from "./udp_options.ts";

export { IPV4_DF, IPV4_EVIL } from "./ipv4.ts";

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
  const ipLen = family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const l4 = spec.l4;
  let l4Len: number;
  let optArea: Uint8Array | null = null;
  if (l4.proto === "tcp") {
    const optLen = l4.options?.length ?? 0;
    if (optLen > 40) throw new Error(`TCP options too long: ${optLen} bytes`);
    l4Len = tcpHeaderLen(optLen) + (l4.payload?.length ?? 0);
  } else {
    const udpEnd = ipLen + UDP_HEADER_LEN + l4.payload.length;
    if (l4.udpOptions !== undefined) {
      optArea = udpOptionsArea(udpEnd, l4.udpOptions, !l4.zeroChecksum);
    }
    l4Len = UDP_HEADER_LEN + l4.payload.length + (optArea?.length ?? 0);
  }
  const total = ipLen + l4Len;
  if (total > 65535) throw new Error(`packet too long: ${total} bytes`);
  const pkt = new Uint8Array(total);
  const tos = spec.tos ?? 0;
  const ttl = spec.ttl ?? 64;
  const protocol = l4.proto === "tcp" ? PROTO_TCP : PROTO_UDP;
  if (family === 4) {
    const flagsFrag = (spec.evil ? IPV4_EVIL : 0) | (spec.df ? IPV4_DF : 0);
    emitIpv4Header(pkt, 0, {
      tos,
      totalLen: total,
      ident: spec.id ?? 1,
      flagsFrag,
      ttl,
      protocol,
      src: srcScratch,
      dst: dstScratch,
    });
  } else {
    if (spec.evil) throw new Error("IPv6 has no evil bit");
    emitIpv6Header(pkt, 0, {
      trafficClass: tos,
      flowLabel: spec.flowLabel ?? 0,
      payloadLen: l4Len,
      nextHeader: protocol,
      hopLimit: ttl,
      src: srcScratch,
      dst: dstScratch,
    });
  }
  const addrOff = family === 4 ? IPV4_SRC : IPV6_SRC, addrLen = family === 4 ? 4 : 16;
  const sport = port(l4.sport, "source"), dport = port(l4.dport, "destination");
  if (l4.proto === "tcp") {
    emitTcp(pkt, ipLen, {
      sport,
      dport,
      seq: l4.seq ?? 0,
      ack: l4.ack ?? 0,
      flags: l4.flags,
      window: l4.window ?? 8192,
      options: l4.options,
      payload: l4.payload,
    }, pseudoSum(pkt, addrOff, addrLen, PROTO_TCP, l4Len));
  } else {
    const udpLen = UDP_HEADER_LEN + l4.payload.length;
    emitUdp(
      pkt,
      ipLen,
      { sport, dport, payload: l4.payload, zeroChecksum: l4.zeroChecksum },
      pseudoSum(pkt, addrOff, addrLen, PROTO_UDP, udpLen),
    );
    if (optArea !== null) pkt.set(optArea, ipLen + udpLen);
  }
  return pkt;
}

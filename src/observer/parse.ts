/**
 * Parses one capture record in place into the packet view: link layer, IP, transport, ICMP
 * quotation, and the flow key, following what the original sees through libtrace (checked against
 * python-libtrace on crafted captures):
 *
 * - `ip.size` is the captured length of the IP packet (Ethernet padding included), not the IP
 *   total length; a TCP segment followed by padding therefore has a payload.
 * - IPv4 non-first fragments have no payload: their key cannot include ports, so for TCP/UDP/
 *   SCTP/DCCP they are counted as "short" and skipped (the original's `_ct_shortkey`).
 * - IPv6 extension headers (hop-by-hop, routing, fragment, AH, destination options) are skipped
 *   whatever the fragment offset (libtrace's rule: AH length taken as (len + 1) × 8 like the
 *   others); a truncated extension header leaves the protocol unknown (-1). The key uses the raw
 *   next-header byte of the fixed header, the port test the protocol after the skipped headers.
 * - Port bytes of the key are `payload[0:4]`, possibly fewer when the payload is shorter.
 *
 * The field offsets are named in `src/wire/` (`capture_record.ts`, `link.ts`, `ipv4.ts`,
 * `ipv6.ts`, `tcp.ts`, `udp.ts`); this per-packet code writes them as numbers with the name
 * beside each. Imported (or module-level) constants are loads from a module cell or context slot
 * in V8's optimised code, not folded literals: with them this parser made `observe` 7% slower
 * (in-process, bench/out/mixed.pcap, basic tcp ecn dscp: 38.3-41.8 against 35.3-38.5 ms CPU a
 * pass, 6 alternating runs), with literals it is as fast as before.
 * `tests/unit/wire_views_test.ts` checks this parser against the wire modules' views.
 *
 * @module
 */

import type { PacketView } from "./packet.ts";

/** The packet belongs to a flow: key and view are filled. */
export const PARSE_OK = 0;
/** Not an IP packet (or an unsupported link layer). */
export const PARSE_NONIP = 1;
/** IP, but no flow key can be formed (truncated header, ports not available). */
export const PARSE_SHORT = 2;
/** An IP header that is invalid (bad version or header length): skipped. */
export const PARSE_MALFORMED = 3;
/**
 * Keyed, but the transport header is truncated or invalid: counted as malformed. A TCP header
 * shorter than 20 bytes or a UDP/ICMP header shorter than 8/4 bytes is not offered to the
 * transport hooks; a TCP data offset beyond the capture leaves the segment without payload.
 */
export const PARSE_OK_MALFORMED = 4;

/** Protocols whose key includes the first four payload bytes (TCP, UDP, SCTP, UDP-Lite). */
function hasPorts(proto: number): boolean {
  return proto === 6 /* PROTO_TCP */ || proto === 17 /* PROTO_UDP */ ||
    proto === 132 /* PROTO_SCTP */ ||
    proto === 136 /* PROTO_UDPLITE */;
}

/** ICMPv4 types that quote the packet that caused them. */
function icmp4Quotes(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * Fills `pkt` from the record at `rec` of the batch whose bytes are `buf` / `dv` and returns a
 * `PARSE_*` status. Never reads outside the record.
 */
export function parseRecord(pkt: PacketView, buf: Uint8Array, dv: DataView, rec: number): number {
  pkt.reset();
  const sec = dv.getUint32(rec + 0, true); // REC_TS_SEC
  const nsec = dv.getUint32(rec + 4, true); // REC_TS_NSEC
  const caplen = dv.getUint32(rec + 8, true); // REC_CAPLEN
  pkt.tsSec = sec;
  pkt.tsNsec = nsec;
  // libtrace: tv_sec + tv_nsec / 1e9 (identical to tv_usec / 1e6 for µs captures)
  pkt.seconds = sec + nsec / 1e9;
  pkt.wireLen = dv.getUint32(rec + 12, true); // REC_WIRE_LEN
  const linktype = dv.getUint16(rec + 16, true); // REC_LINKTYPE
  pkt.direction = buf[rec + 18 /* REC_DIRECTION */]!;
  let off = rec + 20 /* REC_HEADER_LEN */;
  const end = off + caplen;
  pkt.pktEnd = end;

  let et = 0;
  switch (linktype) {
    case 1 /* LINKTYPE_ETHERNET */:
      if (end - off < 14 /* ETH_HEADER_LEN */) return PARSE_NONIP;
      et = (buf[off + 12 /* ETH_TYPE */]! << 8) | buf[off + 13 /* ETH_TYPE + 1 */]!;
      off += 14 /* ETH_HEADER_LEN */;
      break;
    case 113 /* LINKTYPE_LINUX_SLL */:
      if (end - off < 16 /* SLL_HEADER_LEN */) return PARSE_NONIP;
      et = (buf[off + 14 /* SLL_PROTOCOL */]! << 8) | buf[off + 15 /* SLL_PROTOCOL + 1 */]!;
      off += 16 /* SLL_HEADER_LEN */;
      break;
    case 276 /* LINKTYPE_LINUX_SLL2 */:
      if (end - off < 20 /* SLL2_HEADER_LEN */) return PARSE_NONIP;
      et = (buf[off + 0 /* SLL2_PROTOCOL */]! << 8) | buf[off + 1 /* SLL2_PROTOCOL + 1 */]!;
      off += 20 /* SLL2_HEADER_LEN */;
      break;
    case 101 /* LINKTYPE_RAW */: // raw IP: the version nibble decides
    case 12 /* LINKTYPE_RAW_DLT */:
      if (end - off < 1) return PARSE_NONIP;
      et = (buf[off]! >> 4) === 6
        ? 0x86dd /* ETHERTYPE_IPV6 */
        : (buf[off]! >> 4) === 4
        ? 0x0800 /* ETHERTYPE_IPV4 */
        : 0;
      break;
    case 228 /* LINKTYPE_IPV4 */:
      et = 0x0800 /* ETHERTYPE_IPV4 */;
      break;
    case 229 /* LINKTYPE_IPV6 */:
      et = 0x86dd /* ETHERTYPE_IPV6 */;
      break;
    default:
      return PARSE_NONIP;
  }
  // 802.1Q / 802.1ad tags (the original only understands a single 802.1Q tag)
  while (
    et === 0x8100 /* ETHERTYPE_VLAN */ || et === 0x88a8 /* ETHERTYPE_QINQ */ ||
    et === 0x9100 /* ETHERTYPE_QINQ_OLD */
  ) {
    if (end - off < 4 /* VLAN_TAG_LEN */) return PARSE_NONIP;
    et = (buf[off + 2 /* VLAN_INNER_TYPE */]! << 8) | buf[off + 3 /* VLAN_INNER_TYPE + 1 */]!;
    off += 4 /* VLAN_TAG_LEN */;
  }
  if (et === 0x0800 /* ETHERTYPE_IPV4 */) return parseIp4(pkt, buf, dv, off, end);
  if (et === 0x86dd /* ETHERTYPE_IPV6 */) return parseIp6(pkt, buf, dv, off, end);
  return PARSE_NONIP;
}

function parseIp4(
  pkt: PacketView,
  buf: Uint8Array,
  dv: DataView,
  off: number,
  end: number,
): number {
  const len = end - off;
  // the original cannot read the addresses of a shorter header: a "short key"
  if (len < 20 /* IPV4_HEADER_LEN */) return PARSE_SHORT;
  const b0 = buf[off + 0 /* IPV4_VER_IHL */]!;
  const ihl = (b0 & 15) << 2;
  if ((b0 >> 4) !== 4 || ihl < 20 /* IPV4_HEADER_LEN */) return PARSE_MALFORMED;
  pkt.buf = buf;
  pkt.dv = dv;
  pkt.ipVersion = 4;
  pkt.ipOff = off;
  pkt.ipEnd = end;
  pkt.ipSize = len;
  pkt.trafficClass = buf[off + 1 /* IPV4_TOS */]!;
  const proto = buf[off + 9 /* IPV4_PROTOCOL */]!;
  pkt.proto = proto;
  const fragWord = (buf[off + 6 /* IPV4_FLAGS_FRAG */]! << 8) |
    buf[off + 7 /* IPV4_FLAGS_FRAG + 1 */]!;
  pkt.ipEvil = (fragWord & 0x8000 /* IPV4_EVIL */) !== 0;
  pkt.fragOffset = fragWord & 0x1fff /* IPV4_FRAG_OFFSET */;
  // libtrace gives no payload for non-first fragments or a header longer than the capture
  const hasPayload = pkt.fragOffset === 0 && ihl <= len;
  let status = PARSE_OK;
  if (hasPayload) {
    pkt.l4Off = off + ihl;
    pkt.l4Len = len - ihl;
    status = parseTransport(pkt, buf, proto, end);
  }

  // ICMP error: the key is the quoted packet's, reversed
  if (
    pkt.quoteOff >= 0 && end - pkt.quoteOff >= 20 /* IPV4_HEADER_LEN */
  ) {
    const q = pkt.quoteOff;
    const qlen = end - q;
    const qb0 = buf[q + 0 /* IPV4_VER_IHL */]!;
    const qihl = (qb0 & 15) << 2;
    if ((qb0 >> 4) !== 4 || qihl < 20 /* IPV4_HEADER_LEN */) return PARSE_SHORT;
    const qproto = buf[q + 9 /* IPV4_PROTOCOL */]!;
    pkt.quoteVersion = 4;
    pkt.quoteProto = qproto;
    const qFrag =
      ((buf[q + 6 /* IPV4_FLAGS_FRAG */]! << 8) | buf[q + 7 /* IPV4_FLAGS_FRAG + 1 */]!) &
      0x1fff /* IPV4_FRAG_OFFSET */;
    const qHasPayload = qFrag === 0 && qihl <= qlen;
    if (qHasPayload) pkt.quoteL4Off = q + qihl;
    pkt.ka0 = dv.getInt32(q + 12 /* IPV4_SRC */);
    pkt.kb0 = dv.getInt32(q + 16 /* IPV4_DST */);
    pkt.ka1 =
      pkt.ka2 =
      pkt.ka3 =
      pkt.kb1 =
      pkt.kb2 =
      pkt.kb3 =
        0;
    pkt.kProto = qproto;
    pkt.kQuoted = true;
    if (hasPorts(qproto)) {
      if (!qHasPayload) return PARSE_SHORT;
      keyPorts(pkt, buf, q + qihl, end);
    }
    return status;
  }

  pkt.ka0 = dv.getInt32(off + 12 /* IPV4_SRC */);
  pkt.kb0 = dv.getInt32(off + 16 /* IPV4_DST */);
  pkt.ka1 =
    pkt.ka2 =
    pkt.ka3 =
    pkt.kb1 =
    pkt.kb2 =
    pkt.kb3 =
      0;
  pkt.kProto = proto;
  if (hasPorts(proto)) {
    if (!hasPayload) return PARSE_SHORT;
    keyPorts(pkt, buf, off + ihl, end);
  }
  return status;
}

/**
 * Skips IPv6 extension headers the way libtrace does. Returns the offset of the upper-layer
 * header and stores its protocol in `skipProto` (-1 when a header is truncated).
 */
let skipProto = 0;
function skipExt6(buf: Uint8Array, off: number, end: number): number {
  let nxt = buf[off + 6 /* IPV6_NEXT_HEADER */]!;
  let p = off + 40 /* IPV6_HEADER_LEN */;
  for (;;) {
    if (
      nxt === 0 /* IPV6_HOPOPTS */ || nxt === 43 /* IPV6_ROUTING */ || nxt === 51 /* IPV6_AH */ ||
      nxt === 60 /* IPV6_DSTOPTS */
    ) {
      if (end - p < 8 /* IPV6_EXT_MIN_LEN */) break;
      const hl = (buf[p + 1 /* IPV6_EXT_LEN */]! + 1) << 3;
      if (end - p < hl) break;
      nxt = buf[p + 0 /* IPV6_EXT_NEXT */]!;
      p += hl;
    } else if (nxt === 44 /* IPV6_FRAGMENT */) {
      if (end - p < 8 /* IPV6_EXT_MIN_LEN */) break;
      nxt = buf[p + 0 /* IPV6_EXT_NEXT */]!;
      p += 8 /* IPV6_EXT_MIN_LEN */;
    } else {
      skipProto = nxt;
      return p;
    }
  }
  skipProto = -1;
  return -1;
}

function parseIp6(
  pkt: PacketView,
  buf: Uint8Array,
  dv: DataView,
  off: number,
  end: number,
): number {
  const len = end - off;
  if (len < 40 /* IPV6_HEADER_LEN */) return PARSE_SHORT;
  if ((buf[off + 0 /* IPV6_VER_TC_FLOW */]! >> 4) !== 6) return PARSE_MALFORMED;
  pkt.buf = buf;
  pkt.dv = dv;
  pkt.ipVersion = 6;
  pkt.ipEvil = false;
  pkt.fragOffset = 0;
  pkt.ipOff = off;
  pkt.ipEnd = end;
  pkt.ipSize = len;
  pkt.trafficClass = ((buf[off + 0 /* IPV6_VER_TC_FLOW */]! & 15) << 4) |
    (buf[off + 1 /* IPV6_VER_TC_FLOW + 1 */]! >> 4);
  const l4 = skipExt6(buf, off, end);
  const proto = skipProto;
  pkt.proto = proto;
  let status = PARSE_OK;
  if (l4 >= 0) {
    pkt.l4Off = l4;
    pkt.l4Len = end - l4;
    status = parseTransport(pkt, buf, proto, end);
  }

  if (
    pkt.quoteOff >= 0 && end - pkt.quoteOff >= 40 /* IPV6_HEADER_LEN */
  ) {
    const q = pkt.quoteOff;
    // an ICMPv6 error quoting something that is not IPv6: the original reads garbage there
    if ((buf[q + 0 /* IPV6_VER_TC_FLOW */]! >> 4) !== 6) return PARSE_SHORT;
    const ql4 = skipExt6(buf, q, end);
    const qproto = skipProto;
    pkt.quoteVersion = 6;
    pkt.quoteProto = qproto;
    pkt.quoteL4Off = ql4;
    setKey6(pkt, dv, q);
    pkt.kProto = buf[q + 6 /* IPV6_NEXT_HEADER */]!;
    pkt.kQuoted = true;
    if (hasPorts(qproto)) keyPorts(pkt, buf, ql4, end);
    return status;
  }

  setKey6(pkt, dv, off);
  pkt.kProto = buf[off + 6 /* IPV6_NEXT_HEADER */]!;
  if (hasPorts(proto)) keyPorts(pkt, buf, l4, end);
  return status;
}

function setKey6(pkt: PacketView, dv: DataView, off: number): void {
  // the addresses follow each other: one offset, then the words of both
  const a = off + 8 /* IPV6_SRC */;
  pkt.ka0 = dv.getInt32(a);
  pkt.ka1 = dv.getInt32(a + 4);
  pkt.ka2 = dv.getInt32(a + 8);
  pkt.ka3 = dv.getInt32(a + 12);
  pkt.kb0 = dv.getInt32(a + 16);
  pkt.kb1 = dv.getInt32(a + 20);
  pkt.kb2 = dv.getInt32(a + 24);
  pkt.kb3 = dv.getInt32(a + 28);
}

/** Port bytes of the key: `payload[0:4]` forward, `payload[2:4] + payload[0:2]` reverse. */
function keyPorts(pkt: PacketView, buf: Uint8Array, p: number, end: number): void {
  const n = end - p >= 4 ? 4 : end - p;
  pkt.kPortLen = n;
  switch (n) {
    case 4:
      pkt.kPorts = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
      pkt.kRevPorts = (buf[p + 2]! << 24) | (buf[p + 3]! << 16) | (buf[p]! << 8) | buf[p + 1]!;
      break;
    case 3:
      pkt.kPorts = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
      pkt.kRevPorts = (buf[p + 2]! << 16) | (buf[p]! << 8) | buf[p + 1]!;
      break;
    case 2:
      pkt.kPorts = pkt.kRevPorts = (buf[p]! << 8) | buf[p + 1]!;
      break;
    case 1:
      pkt.kPorts = pkt.kRevPorts = buf[p]!;
      break;
    default:
      pkt.kPortLen = 0;
      pkt.kPorts = pkt.kRevPorts = -0;
  }
}

/** Fills the TCP/UDP/ICMP part of the view; returns PARSE_OK or PARSE_OK_MALFORMED. */
function parseTransport(pkt: PacketView, buf: Uint8Array, proto: number, end: number): number {
  const l4 = pkt.l4Off;
  const avail = end - l4;
  if (proto === 6 /* PROTO_TCP */) {
    if (avail < 20 /* TCP_HEADER_LEN */) return PARSE_OK_MALFORMED;
    pkt.tcpOff = l4;
    // nine bits: AE (RFC 9768, the former NS) is the low bit of the data-offset byte
    pkt.tcpFlags = ((buf[l4 + 12 /* TCP_DATA_OFF */]! & 1) << 8) | buf[l4 + 13 /* TCP_FLAGS */]!;
    const hl = (buf[l4 + 12 /* TCP_DATA_OFF */]! >> 4) << 2;
    pkt.tcpHdrLen = hl;
    if (hl > avail) {
      // data offset beyond the capture: no payload (the original raises here)
      pkt.tcpPayloadOff = end;
      pkt.tcpPayloadLen = 0;
      return PARSE_OK_MALFORMED;
    }
    pkt.tcpPayloadOff = l4 + hl;
    pkt.tcpPayloadLen = avail - hl;
    return hl < 20 /* TCP_HEADER_LEN */ ? PARSE_OK_MALFORMED : PARSE_OK;
  }
  if (proto === 17 /* PROTO_UDP */) {
    if (avail < 8 /* UDP_HEADER_LEN */) return PARSE_OK_MALFORMED;
    pkt.udpOff = l4;
    pkt.udpPayloadOff = l4 + 8 /* UDP_HEADER_LEN */;
    pkt.udpPayloadLen = avail - 8 /* UDP_HEADER_LEN */;
    return PARSE_OK;
  }
  if (proto === (pkt.ipVersion === 4 ? 1 /* PROTO_ICMP */ : 58 /* PROTO_ICMP6 */)) {
    if (avail < 4) return PARSE_OK_MALFORMED; // type, code, checksum
    pkt.icmpOff = l4;
    pkt.icmpType = buf[l4]!;
    pkt.icmpCode = buf[l4 + 1]!;
    const t = pkt.icmpType;
    const quotes = pkt.ipVersion === 4 ? icmp4Quotes(t) : t >= 1 && t <= 4;
    // the quotation follows type, code, checksum and 4 bytes the error types leave unused
    if (quotes && avail > 8) {
      pkt.quoteOff = l4 + 8;
      pkt.quoteEnd = end;
    }
    return PARSE_OK;
  }
  return PARSE_OK;
}

/**
 * The packet view: one reused object per observer that describes the packet being processed as
 * offsets into the batch buffer. The observer's parser fills it once per packet (headers are
 * parsed once, no copies); chains only read it.
 *
 * Every offset is absolute within `buf`. Every `*End` offset is one past the last byte that was
 * captured for that layer, so a chain that reads `buf[off]` with `off < end` never reads outside
 * the packet. The bounds-checked helpers (`u8`, `u16`, `u32`) return -1 instead of reading past
 * `pktEnd`; chains should use them (or compare against the `*End` fields) for anything that the
 * parser did not already check. Field offsets are written as numbers with their `src/wire/`
 * name beside them, as in `parse.ts` (which says why).
 *
 * @module
 */

import { formatIpNtop } from "../wire/ip.ts";

const EMPTY = new Uint8Array(0);

/**
 * What the observer knows about the current packet. Fields are plain numbers (-1 when absent) so
 * that the view stays monomorphic and cheap to refill.
 */
export class PacketView {
  /** The batch buffer the offsets point into. */
  buf: Uint8Array = EMPTY;
  /** A DataView over the whole of `buf` (big-endian reads need `false`/default endianness). */
  dv: DataView = new DataView(EMPTY.buffer);

  // Fields that can hold values beyond V8's small integers start as -0 (a double), so that their
  // representation is a double from the start: a later change of representation would
  // invalidate every piece of optimised code that saw this object (a "wrong map" deopt).

  /** Packet clock in seconds (float), the value the original stores as `pkt_first`/`pkt_last`. */
  seconds = -0;
  /** Integral seconds of the capture timestamp. */
  tsSec = -0;
  /** Nanoseconds part of the capture timestamp. */
  tsNsec = 0;
  /** Length of the frame on the wire. */
  wireLen = 0;
  /** Direction from the capture record: 0 unknown, else AF_PACKET pkttype + 1. */
  direction = 0;
  /** Offset one past the last captured byte of the frame. */
  pktEnd = 0;

  /** 4 or 6; 0 when the packet is not IP. */
  ipVersion = 0;
  /** Offset of the IP header. */
  ipOff = 0;
  /**
   * Offset one past the last byte of the IP packet that is available: the captured end, cut to
   * the IP total/payload length when the frame carries padding (Ethernet trailer).
   */
  ipEnd = 0;
  /** The IP packet's size as the original reports it (`ip.size`): bytes of the IP packet. */
  ipSize = 0;
  /** IPv4 TOS byte or IPv6 traffic class (DSCP << 2 | ECN). */
  trafficClass = 0;
  /**
   * The transport protocol: IPv4 protocol field; for IPv6 the next header after the extension
   * headers the original skips (hop-by-hop, routing, fragment, AH, destination options), or -1
   * when an extension header is truncated (the original's `proto` is then None: JSON null).
   */
  proto = 0;
  /** IPv4: the "reserved" (evil) flag bit; IPv6: always false. */
  ipEvil = false;
  /** IPv4: fragment offset in 8-byte units (0 for first fragments and IPv6). */
  fragOffset = 0;
  /** Offset of the transport header (just after IP and extension headers); -1 when none. */
  l4Off = -1;

  // ---- TCP (valid when `tcpOff >= 0`) ----
  /** Offset of the TCP header when the packet carries a complete fixed TCP header, else -1. */
  tcpOff = -1;
  /** TCP flags, all nine bits (AE, CWR..FIN), as the original's `tcp.flags`. */
  tcpFlags = 0;
  /** TCP header length in bytes (data offset × 4), as written in the header. */
  tcpHdrLen = 0;
  /** Offset of the TCP payload (`tcpOff + tcpHdrLen`, capped at `ipEnd`). */
  tcpPayloadOff = 0;
  /** Bytes of TCP payload available (0 when none: the original's `tcp.payload is None`). */
  tcpPayloadLen = 0;

  // ---- UDP (valid when `udpOff >= 0`) ----
  /** Offset of the UDP header when the packet carries a complete UDP header, else -1. */
  udpOff = -1;
  /** Offset of the UDP payload. */
  udpPayloadOff = 0;
  /** Bytes of UDP payload available. */
  udpPayloadLen = 0;

  // ---- ICMP / ICMPv6 (valid when `icmpOff >= 0`) ----
  /** Offset of the ICMP (v4 or v6) header when at least 4 bytes of it were captured, else -1. */
  icmpOff = -1;
  /** ICMP type. */
  icmpType = 0;
  /** ICMP code. */
  icmpCode = 0;
  /**
   * Offset of the quoted IP packet inside an ICMP error (v4 types 3,4,5,11,12; v6 types 1-4),
   * -1 when the message is not an error or quotes nothing.
   */
  quoteOff = -1;
  /** Offset one past the last captured byte of the quotation. */
  quoteEnd = 0;
  /** IP version of the quotation (4 or 6), 0 if none. */
  quoteVersion = 0;
  /** Transport protocol of the quoted packet. */
  quoteProto = 0;
  /** Offset of the quoted transport header, -1 if none captured. */
  quoteL4Off = -1;

  /** Captured bytes from `l4Off` to the end of the packet (0 when none). */
  l4Len = 0;

  // ---- flow key, filled by the parser for the observer (not for chains) ----
  /** Key address words (int32): source (a0..a3) and destination (b0..b3); IPv4 uses a0/b0. */
  ka0 = -0;
  ka1 = -0;
  ka2 = -0;
  ka3 = -0;
  kb0 = -0;
  kb1 = -0;
  kb2 = -0;
  kb3 = -0;
  /** Protocol byte of the key: IPv4 protocol field; IPv6 the raw next-header byte (as the original). */
  kProto = 0;
  /** Number of port bytes in the key (0..4: the original slices `payload[0:4]`). */
  kPortLen = 0;
  /** Port bytes in the order of the packet (big-endian packed). */
  kPorts = -0;
  /** Port bytes of the reverse key (the original's `payload[2:4] + payload[0:2]`). */
  kRevPorts = -0;
  /** True when the key comes from an ICMP quotation (forward and reverse keys swap). */
  kQuoted = false;

  /** Byte at `off`, or -1 if `off` is outside the captured frame. */
  u8(off: number): number {
    return off >= 0 && off < this.pktEnd ? this.buf[off]! : -1;
  }

  /** Big-endian u16 at `off`, or -1 if it is not entirely captured. */
  u16(off: number): number {
    return off >= 0 && off + 2 <= this.pktEnd ? (this.buf[off]! << 8) | this.buf[off + 1]! : -1;
  }

  /** Big-endian u32 at `off`, or -1 if it is not entirely captured. */
  u32(off: number): number {
    return off >= 0 && off + 4 <= this.pktEnd ? this.dv.getUint32(off) : -1;
  }

  /** TCP source port (only when `tcpOff >= 0`). */
  get tcpSrcPort(): number {
    return (this.buf[this.tcpOff]! << 8) | this.buf[this.tcpOff + 1]!; // TCP_SRC_PORT
  }
  /** TCP destination port (only when `tcpOff >= 0`). */
  get tcpDstPort(): number {
    return (this.buf[this.tcpOff + 2]! << 8) | this.buf[this.tcpOff + 3]!; // TCP_DST_PORT
  }
  /** TCP sequence number (only when `tcpOff >= 0`). */
  get tcpSeq(): number {
    return this.dv.getUint32(this.tcpOff + 4); // TCP_SEQ_NUM
  }
  /** TCP acknowledgement number (only when `tcpOff >= 0`). */
  get tcpAck(): number {
    return this.dv.getUint32(this.tcpOff + 8); // TCP_ACK_NUM
  }
  /** UDP source port (only when `udpOff >= 0`). */
  get udpSrcPort(): number {
    return (this.buf[this.udpOff]! << 8) | this.buf[this.udpOff + 1]!; // UDP_SRC_PORT
  }
  /** UDP destination port (only when `udpOff >= 0`). */
  get udpDstPort(): number {
    return (this.buf[this.udpOff + 2]! << 8) | this.buf[this.udpOff + 3]!; // UDP_DST_PORT
  }
  /** UDP checksum field (only when `udpOff >= 0`). */
  get udpChecksum(): number {
    return (this.buf[this.udpOff + 6]! << 8) | this.buf[this.udpOff + 7]!; // UDP_CHECKSUM
  }

  /** Source address as text, as the original prints it (glibc `inet_ntop`). */
  srcAddr(): string {
    return this.ipVersion === 4
      ? formatIpNtop(this.buf, this.ipOff + 12, 4) // IPV4_SRC
      : formatIpNtop(this.buf, this.ipOff + 8, 16); // IPV6_SRC
  }

  /** Destination address as text. */
  dstAddr(): string {
    return this.ipVersion === 4
      ? formatIpNtop(this.buf, this.ipOff + 16, 4) // IPV4_DST
      : formatIpNtop(this.buf, this.ipOff + 24, 16); // IPV6_DST
  }

  /**
   * Resets the per-packet fields that say what is present; the parser calls this before filling
   * the view. Fields guarded by one of them (`tcpFlags` by `tcpOff`, ...) are not reset.
   */
  reset(): void {
    this.ipVersion = 0;
    this.proto = 0;
    this.l4Off = -1;
    this.l4Len = 0;
    this.kPortLen = 0;
    this.kPorts = -0;
    this.kRevPorts = -0;
    this.kQuoted = false;
    this.tcpOff = -1;
    this.udpOff = -1;
    this.icmpOff = -1;
    this.quoteOff = -1;
    this.quoteVersion = 0;
    this.quoteProto = 0;
    this.quoteL4Off = -1;
  }
}

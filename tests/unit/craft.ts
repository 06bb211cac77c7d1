/**
 * A small packet builder for tests: IPv4/IPv6 with TCP, UDP or ICMP, framed as Ethernet (with an
 * optional VLAN tag), raw IP, Linux SLL or SLL2, and packed into a batch in the capture record
 * format of docs/architecture.md. Checksums are left as given (the observer does not check them).
 *
 * @module
 */

import { recordSize, writeRecord } from "../../src/wire/capture_record.ts";

/** Options for a TCP header. */
export interface TcpOpts {
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  /** Raw option bytes (padded with zeros to a multiple of 4). */
  options?: number[];
  payload?: Uint8Array | number[];
  /** Override the data offset (in 32-bit words) written in the header. */
  doff?: number;
}

/** Builds a TCP header (+ options + payload). */
export function tcp(o: TcpOpts): Uint8Array {
  const opts = o.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const payload = Uint8Array.from(o.payload ?? []);
  const b = new Uint8Array(20 + optLen + payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, o.sport);
  dv.setUint16(2, o.dport);
  dv.setUint32(4, o.seq ?? 1000);
  dv.setUint32(8, o.ack ?? 0);
  b[12] = (o.doff ?? (20 + optLen) / 4) << 4;
  b[13] = o.flags;
  dv.setUint16(14, o.window ?? 65535);
  b.set(opts, 20);
  b.set(payload, 20 + optLen);
  return b;
}

/** Builds a UDP header + payload (length field computed unless given). */
export function udp(
  o: {
    sport: number;
    dport: number;
    checksum?: number;
    payload?: Uint8Array | number[];
    len?: number;
  },
): Uint8Array {
  const payload = Uint8Array.from(o.payload ?? []);
  const b = new Uint8Array(8 + payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, o.sport);
  dv.setUint16(2, o.dport);
  dv.setUint16(4, o.len ?? b.length);
  dv.setUint16(6, o.checksum ?? 0x1234);
  b.set(payload, 8);
  return b;
}

/** Builds an ICMP (v4 or v6) header: type, code, checksum 0, 4 bytes rest, then `body`. */
export function icmp(type: number, code: number, body: Uint8Array | number[] = []): Uint8Array {
  const rest = Uint8Array.from(body);
  const b = new Uint8Array(8 + rest.length);
  b[0] = type;
  b[1] = code;
  b.set(rest, 8);
  return b;
}

/** Parses "a.b.c.d" into 4 bytes. */
export function ip4addr(s: string): number[] {
  return s.split(".").map((x) => Number(x));
}

/** Parses an IPv6 address text (with `::`) into 16 bytes. */
export function ip6addr(s: string): number[] {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":").filter((x) => x !== "") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined
    ? h
    : [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

/** Options for an IPv4 header. */
export interface Ip4Opts {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  ttl?: number;
  id?: number;
  /** Flags (3 bits: 4 = reserved/evil, 2 = DF, 1 = MF). */
  flags?: number;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  /** IP options (padded to a multiple of 4). */
  options?: number[];
  /** Override total length. */
  totalLen?: number;
  /** Override IHL (in 32-bit words). */
  ihl?: number;
}

/** Builds an IPv4 packet around `payload`. */
export function ip4(o: Ip4Opts, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const hl = 20 + optLen;
  const b = new Uint8Array(hl + payload.length);
  const dv = new DataView(b.buffer);
  b[0] = 0x40 | (o.ihl ?? hl / 4);
  b[1] = o.tos ?? 0;
  dv.setUint16(2, o.totalLen ?? b.length);
  dv.setUint16(4, o.id ?? 1);
  dv.setUint16(6, ((o.flags ?? 2) << 13) | (o.fragOffset ?? 0));
  b[8] = o.ttl ?? 64;
  b[9] = o.proto;
  b.set(ip4addr(o.src), 12);
  b.set(ip4addr(o.dst), 16);
  b.set(opts, 20);
  b.set(payload, hl);
  return b;
}

/** An IPv6 extension header to insert: next-header chaining is filled in by `ip6`. */
export interface Ext6 {
  /** Protocol number of this extension header (0 hop-by-hop, 43 routing, 44 fragment, 60 dest). */
  type: number;
  /** Body after the next-header byte (and length byte, except for fragment headers). */
  body?: number[];
}

/** Options for an IPv6 header. */
export interface Ip6Opts {
  src: string;
  dst: string;
  /** Upper-layer protocol (after extension headers). */
  proto: number;
  tclass?: number;
  hlim?: number;
  flow?: number;
  ext?: Ext6[];
  /** Override payload length. */
  payloadLen?: number;
}

/** Builds an IPv6 packet (with optional extension headers) around `payload`. */
export function ip6(o: Ip6Opts, payload: Uint8Array): Uint8Array {
  const exts: number[][] = [];
  const ext = o.ext ?? [];
  for (let i = 0; i < ext.length; i++) {
    const next = i + 1 < ext.length ? ext[i + 1]!.type : o.proto;
    const e = ext[i]!;
    if (e.type === 44) {
      exts.push([next, 0, ...(e.body ?? [0, 0, 0, 0, 0, 0])].slice(0, 8));
    } else {
      const body = e.body ?? [0, 0, 0, 0, 0, 0];
      const total = (2 + body.length + 7) & ~7;
      const h = new Array(total).fill(0);
      h[0] = next;
      h[1] = total / 8 - 1;
      for (let k = 0; k < body.length; k++) h[2 + k] = body[k];
      exts.push(h);
    }
  }
  const extBytes = exts.flat();
  const b = new Uint8Array(40 + extBytes.length + payload.length);
  const dv = new DataView(b.buffer);
  const tc = o.tclass ?? 0;
  dv.setUint32(0, (6 << 28) | (tc << 20) | (o.flow ?? 0));
  dv.setUint16(4, o.payloadLen ?? extBytes.length + payload.length);
  b[6] = ext.length ? ext[0]!.type : o.proto;
  b[7] = o.hlim ?? 64;
  b.set(ip6addr(o.src), 8);
  b.set(ip6addr(o.dst), 24);
  b.set(extBytes, 40);
  b.set(payload, 40 + extBytes.length);
  return b;
}

/** Wraps an IP packet in an Ethernet header (optionally with 802.1Q tags). */
export function ether(
  ipPacket: Uint8Array,
  opts: { vlans?: number[]; ethertype?: number } = {},
): Uint8Array {
  const vl = opts.vlans ?? [];
  const b = new Uint8Array(14 + 4 * vl.length + ipPacket.length);
  const dv = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  let off = 12;
  for (const v of vl) {
    dv.setUint16(off, 0x8100);
    dv.setUint16(off + 2, v);
    off += 4;
  }
  const et = opts.ethertype ?? ((ipPacket[0]! >> 4) === 6 ? 0x86dd : 0x0800);
  dv.setUint16(off, et);
  b.set(ipPacket, off + 2);
  return b;
}

/** Wraps an IP packet in a Linux cooked (SLL, 16-byte) header. */
export function sll(ipPacket: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + ipPacket.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0); // to us
  dv.setUint16(2, 1);
  dv.setUint16(4, 6);
  dv.setUint16(14, (ipPacket[0]! >> 4) === 6 ? 0x86dd : 0x0800);
  b.set(ipPacket, 16);
  return b;
}

/** Wraps an IP packet in a Linux cooked v2 (SLL2, 20-byte) header. */
export function sll2(ipPacket: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + ipPacket.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, (ipPacket[0]! >> 4) === 6 ? 0x86dd : 0x0800);
  dv.setUint32(4, 1); // interface index
  dv.setUint16(8, 1);
  b[10] = 0;
  b[11] = 6;
  b.set(ipPacket, 20);
  return b;
}

/** One packet to put in a batch. */
export interface CraftedPacket {
  /** Timestamp in seconds (may be fractional). */
  ts: number;
  /** Frame bytes starting at the link-layer header. */
  frame: Uint8Array;
  /** pcap LINKTYPE: 1 Ethernet (default), 101 raw, 113 SLL, 276 SLL2, 228/229 raw v4/v6. */
  linktype?: number;
  /** Captured length (defaults to the whole frame; smaller truncates). */
  caplen?: number;
  /** Direction byte (0 unknown). */
  direction?: number;
}

/** A batch as `src/ffi/capture.ts` hands it over: buffer, DataView and record count. */
export interface CraftedBatch {
  buf: Uint8Array;
  view: DataView;
  count: number;
}

/** Packs packets into capture records (src/wire/capture_record.ts). */
export function batch(pkts: CraftedPacket[]): CraftedBatch {
  let size = 0;
  for (const p of pkts) size += recordSize(Math.min(p.caplen ?? p.frame.length, p.frame.length));
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let off = 0;
  for (const p of pkts) {
    const cap = Math.min(p.caplen ?? p.frame.length, p.frame.length);
    const tsSec = Math.floor(p.ts);
    const tsNsec = Math.round((p.ts - tsSec) * 1e9);
    off = writeRecord(buf, view, off, {
      tsSec,
      tsNsec,
      wireLen: p.frame.length,
      linktype: p.linktype ?? 1,
      direction: p.direction ?? 0,
    }, p.frame.subarray(0, cap));
  }
  return { buf, view, count: pkts.length };
}

/** TCP flag bits for building segments. */
export const F = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
};

/** A convenient IPv4 TCP segment in an Ethernet frame. */
export function tcp4(
  src: string,
  dst: string,
  t: TcpOpts,
  ipo: Partial<Ip4Opts> = {},
): Uint8Array {
  return ether(ip4({ src, dst, proto: 6, ...ipo }, tcp(t)));
}

/** A convenient IPv6 TCP segment in an Ethernet frame. */
export function tcp6(
  src: string,
  dst: string,
  t: TcpOpts,
  ipo: Partial<Ip6Opts> = {},
): Uint8Array {
  return ether(ip6({ src, dst, proto: 6, ...ipo }, tcp(t)));
}

/** A convenient IPv4 UDP datagram in an Ethernet frame. */
export function udp4(
  src: string,
  dst: string,
  u: { sport: number; dport: number; checksum?: number; payload?: number[] },
  ipo: Partial<Ip4Opts> = {},
): Uint8Array {
  return ether(ip4({ src, dst, proto: 17, ...ipo }, udp(u)));
}

/** A convenient IPv6 UDP datagram in an Ethernet frame. */
export function udp6(
  src: string,
  dst: string,
  u: { sport: number; dport: number; checksum?: number; payload?: number[] },
  ipo: Partial<Ip6Opts> = {},
): Uint8Array {
  return ether(ip6({ src, dst, proto: 17, ...ipo }, udp(u)));
}

/** Writes packets as a classic pcap file (µs timestamps, little-endian) with one link type. */
export function pcapFile(pkts: CraftedPacket[], linktype = 1): Uint8Array {
  let size = 24;
  for (const p of pkts) size += 16 + Math.min(p.caplen ?? p.frame.length, p.frame.length);
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linktype, true);
  let off = 24;
  for (const p of pkts) {
    const cap = Math.min(p.caplen ?? p.frame.length, p.frame.length);
    const sec = Math.floor(p.ts);
    dv.setUint32(off, sec, true);
    dv.setUint32(off + 4, Math.round((p.ts - sec) * 1e6), true);
    dv.setUint32(off + 8, cap, true);
    dv.setUint32(off + 12, p.frame.length, true);
    buf.set(p.frame.subarray(0, cap), off + 16);
    off += 16 + cap;
  }
  return buf;
}

/**
 * Writes synthetic but well-formed captures: Ethernet frames carrying IPv4/IPv6 with TCP or UDP,
 * correct lengths and checksums, ECN and DSCP marks, in a classic pcap file (microsecond
 * timestamps, readable by tcpdump, tshark and the original PATHspider's libtrace).
 * Used by examples/make-example-pcap.ts and bench/make-mixed-pcap.ts.
 *
 * @module
 */

/** TCP flag bits. */
export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 };

/** ECN codepoints (the two low bits of the IPv4 ToS / IPv6 traffic class). */
export const ECN = { NOT_ECT: 0, ECT1: 1, ECT0: 2, CE: 3 };

/** One packet to write. Addresses are 4 or 16 bytes (see {@link addr}). */
export interface PacketSpec {
  src: Uint8Array;
  dst: Uint8Array;
  /** DSCP (6 bits) */
  dscp?: number;
  /** ECN codepoint (2 bits) */
  ecn?: number;
  ttl?: number;
  /** 6 TCP, 17 UDP */
  proto: 6 | 17;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  /** adds an MSS option (TCP SYNs) */
  mss?: number;
  /** payload length; the bytes are `payloadByte` (or the given payload) */
  payloadLen?: number;
  payload?: Uint8Array;
  payloadByte?: number;
  ipId?: number;
}

/** Parses an IPv4 ("a.b.c.d") or IPv6 (with "::") address into its bytes. */
export function addr(s: string): Uint8Array {
  if (!s.includes(":")) return Uint8Array.from(s.split(".").map(Number));
  const [head, tail] = s.includes("::") ? s.split("::") : [s, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function sum16(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

const scratch = new Uint8Array(65600);
const sv = new DataView(scratch.buffer);
const MAC_C = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const MAC_S = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/**
 * Builds the Ethernet frame of `p` into a scratch buffer and returns a view of it (valid until
 * the next call).
 */
export function buildFrame(p: PacketSpec): Uint8Array {
  const v6 = p.src.length === 16;
  const tos = ((p.dscp ?? 0) << 2) | (p.ecn ?? 0);
  const optLen = p.proto === 6 && p.mss !== undefined ? 4 : 0;
  const l4hdr = p.proto === 6 ? 20 + optLen : 8;
  const plen = p.payload ? p.payload.length : (p.payloadLen ?? 0);
  const l4len = l4hdr + plen;
  const iphl = v6 ? 40 : 20;
  // Ethernet: the client's MAC is 02:..:01; direction is told by the addresses, not the MACs
  scratch.set(MAC_S, 0);
  scratch.set(MAC_C, 6);
  sv.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  if (v6) {
    sv.setUint32(ip, (6 << 28) | (tos << 20));
    sv.setUint16(ip + 4, l4len);
    scratch[ip + 6] = p.proto;
    scratch[ip + 7] = p.ttl ?? 64;
    scratch.set(p.src, ip + 8);
    scratch.set(p.dst, ip + 24);
  } else {
    scratch[ip] = 0x45;
    scratch[ip + 1] = tos;
    sv.setUint16(ip + 2, 20 + l4len);
    sv.setUint16(ip + 4, p.ipId ?? 0);
    sv.setUint16(ip + 6, 0x4000); // DF
    scratch[ip + 8] = p.ttl ?? 64;
    scratch[ip + 9] = p.proto;
    sv.setUint16(ip + 10, 0);
    scratch.set(p.src, ip + 12);
    scratch.set(p.dst, ip + 16);
    sv.setUint16(ip + 10, fold(sum16(scratch, ip, 20, 0)));
  }
  const l4 = ip + iphl;
  sv.setUint16(l4, p.sport);
  sv.setUint16(l4 + 2, p.dport);
  if (p.proto === 6) {
    sv.setUint32(l4 + 4, p.seq ?? 0);
    sv.setUint32(l4 + 8, p.ack ?? 0);
    scratch[l4 + 12] = (l4hdr / 4) << 4;
    scratch[l4 + 13] = p.flags ?? TCP.ACK;
    sv.setUint16(l4 + 14, p.window ?? 64240);
    sv.setUint32(l4 + 16, 0); // checksum, urgent pointer
    if (optLen) {
      scratch[l4 + 20] = 2;
      scratch[l4 + 21] = 4;
      sv.setUint16(l4 + 22, p.mss!);
    }
  } else {
    sv.setUint16(l4 + 4, l4len);
    sv.setUint16(l4 + 6, 0);
  }
  const pl = l4 + l4hdr;
  if (p.payload) scratch.set(p.payload, pl);
  else scratch.fill(p.payloadByte ?? 0x61, pl, pl + plen);
  // pseudo-header checksum
  let s = sum16(p.src, 0, p.src.length, 0);
  s = sum16(p.dst, 0, p.dst.length, s);
  s += p.proto + l4len;
  let c = fold(sum16(scratch, l4, l4len, s));
  if (p.proto === 17 && c === 0) c = 0xffff;
  sv.setUint16(l4 + (p.proto === 6 ? 16 : 6), c);
  return scratch.subarray(0, pl + plen);
}

/** Buffered writer of a classic pcap file (LINKTYPE_ETHERNET, µs timestamps). */
export class PcapFile {
  #file: Deno.FsFile;
  #buf = new Uint8Array(1 << 20);
  #dv = new DataView(this.#buf.buffer);
  #off = 0;
  /** packets written so far */
  count = 0;

  constructor(path: string, snaplen = 65535) {
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, snaplen, true);
    h.setUint32(20, 1, true);
    this.#writeAll(new Uint8Array(h.buffer));
  }

  #writeAll(b: Uint8Array) {
    let o = 0;
    while (o < b.length) o += this.#file.writeSync(b.subarray(o));
  }

  /** Appends one frame captured at `ts` seconds (since the epoch, fractional). */
  add(ts: number, frame: Uint8Array) {
    if (this.#off + 16 + frame.length > this.#buf.length) this.flush();
    const sec = Math.floor(ts);
    const usec = Math.min(999999, Math.round((ts - sec) * 1e6));
    const dv = this.#dv;
    dv.setUint32(this.#off, sec, true);
    dv.setUint32(this.#off + 4, usec, true);
    dv.setUint32(this.#off + 8, frame.length, true);
    dv.setUint32(this.#off + 12, frame.length, true);
    this.#buf.set(frame, this.#off + 16);
    this.#off += 16 + frame.length;
    this.count++;
  }

  /** Builds `p` and appends it. */
  packet(ts: number, p: PacketSpec) {
    this.add(ts, buildFrame(p));
  }

  /** Writes buffered records to the file. */
  flush() {
    this.#writeAll(this.#buf.subarray(0, this.#off));
    this.#off = 0;
  }

  /** Flushes and closes the file. */
  close() {
    this.flush();
    this.#file.close();
  }
}

/** A small deterministic PRNG (mulberry32), so generated captures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

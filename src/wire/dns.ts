/**
 * A validating walk over a DNS message in wire format, accepting exactly what the original
 * accepts. The original's DNS chain hands the transport payload to python-libtrace's `pldns`,
 * which calls ldns 1.8.3's `ldns_wire2pkt()` and asks whether the status is OK and the QR bit is
 * set. We replay the checks of that function (no allocation, no copies):
 *
 * - a 12-byte header;
 * - QDCOUNT questions: an owner name, then type and class;
 * - ANCOUNT + NSCOUNT + ARCOUNT records: owner name, type, class, TTL, RDLENGTH, and RDATA that
 *   must fit; the RDATA is walked field by field with ldns' descriptor of the record type (a
 *   field that does not fit in RDLENGTH fails the message; bytes left over when the descriptor
 *   runs out are *not* skipped, so the next record starts right after the last field, as in
 *   ldns);
 * - a TSIG record in the additional section lowers the number of additional records still read
 *   by one (ldns decrements ARCOUNT inside its loop);
 * - names: labels of at most 63 bytes that fit in the message, compression pointers to a non-zero
 *   offset inside the message (at most 65535 of them), at most 255 bytes uncompressed.
 *
 * Bytes after the last record are ignored, as in ldns.
 *
 * Below that walk: the few messages the dnsudp / dnstcp connection helpers build and read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildQuery, DNS_QUERY, DNS_RESPONSE, dnsMessageKind, parseResponse, QTYPE_A } from "./dns.ts";
 *
 * const q = buildQuery(0x1234, "www.example.test", QTYPE_A);
 * assert(dnsMessageKind(q, 0, q.length) === DNS_QUERY && parseResponse(q) === null);
 * const r = q.slice();
 * r[2]! |= 0x80; // QR: the same message as a response without answers
 * assert(dnsMessageKind(r, 0, r.length) === DNS_RESPONSE);
 * assert(parseResponse(r)?.id === 0x1234);
 * assert(dnsMessageKind(r, 0, r.length - 1) === 0); // question cut off
 * ```
 *
 * @module
 */

/** Result of {@link dnsMessageKind}: not a message ldns accepts. */
export const DNS_INVALID = 0;
/** Result of {@link dnsMessageKind}: a well-formed query (QR clear). */
export const DNS_QUERY = 1;
/** Result of {@link dnsMessageKind}: a well-formed response (QR set). */
export const DNS_RESPONSE = 2;

const MAX_LABEL = 63;
const MAX_NAME = 255;
const MAX_POINTERS = 65535;
const TYPE_TSIG = 250;

/**
 * RDATA layouts of ldns 1.8.3's record descriptors (extracted from libldns.so.3 with
 * `ldns_rr_descript`), one character per field:
 * `N` domain name; `1` `2` `4` `6` `8` `G` fixed 1, 2, 4, 6, 8, 16 bytes; `S` length byte + that
 * many bytes; `D` 16-bit length + that many bytes; `H` the HIP layout; `R` the rest of the RDATA.
 * After `*` comes the field type repeated for the remaining fields. Types not listed (and all
 * unknown types) are `R`.
 */
// deno-fmt-ignore
const LAYOUT: Record<number, string> = {
  1: "4", 2: "N", 3: "N", 4: "N", 5: "N", 6: "NN44444", 7: "N", 8: "N", 9: "N", 11: "4R", 12: "N",
  13: "SS", 14: "NN", 15: "2N", 16: "*S", 17: "NN", 18: "2N", 19: "S", 20: "SS", 21: "2N",
  23: "S", 24: "2114442NR", 25: "211R", 26: "2NN", 27: "SSS", 28: "G", 30: "NR", 33: "222N",
  35: "22SSSN", 36: "2N", 37: "221R", 39: "N", 40: "1", 42: "*R", 43: "211R", 44: "11R",
  46: "2114442NR", 47: "NR", 48: "211R", 50: "112SSR", 51: "112S", 52: "111R", 53: "111R",
  55: "H*N", 58: "NN", 59: "211R", 60: "211R", 62: "42R", 63: "411R", 64: "2NR", 65: "2NR",
  99: "*S", 104: "28", 105: "24", 106: "28", 107: "2N", 108: "6", 109: "8", 249: "N4422DD",
  250: "N62D22D", 256: "22R", 257: "1SR", 32769: "211R",
};

/**
 * Classifies the DNS message in `buf[off, end)`: {@link DNS_INVALID}, {@link DNS_QUERY} or
 * {@link DNS_RESPONSE}. Never throws and never reads outside `[off, end)`.
 */
export function dnsMessageKind(buf: Uint8Array, off: number, end: number): number {
  // ldns works on offsets relative to the start of the message
  const max = end - off;
  if (max < 12) return DNS_INVALID;
  const qd = u16(buf, off + 4);
  const an = u16(buf, off + 6);
  const ns = u16(buf, off + 8);
  let ar = u16(buf, off + 10);
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    pos = skipName(buf, off, max, pos);
    if (pos < 0 || pos + 4 > max) return DNS_INVALID;
    pos += 4;
  }
  for (let i = 0; i < an + ns; i++) {
    pos = skipRecord(buf, off, max, pos);
    if (pos < 0) return DNS_INVALID;
  }
  for (let i = 0; i < ar; i++) {
    pos = skipRecord(buf, off, max, pos);
    if (pos < 0) return DNS_INVALID;
    if (lastType === TYPE_TSIG) ar--;
  }
  return (buf[off + 2]! & 0x80) !== 0 ? DNS_RESPONSE : DNS_QUERY;
}

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/**
 * Skips a (possibly compressed) name at message offset `pos`; returns the offset after it, or -1
 * where ldns_wire2dname fails.
 */
function skipName(buf: Uint8Array, off: number, max: number, pos: number): number {
  if (pos >= max) return -1;
  let resume = 0; // offset after the first pointer, 0 while uncompressed
  let pointers = 0;
  let nameLen = 0; // bytes of the uncompressed name so far, without its final zero
  let label = buf[off + pos]!;
  while (label > 0) {
    let run = 0;
    while (label >= 192) {
      if (resume === 0) resume = pos + 2;
      pointers++;
      // a run of pointers longer than the message revisits an offset: it is a cycle, which ldns
      // follows until its pointer limit and then rejects; stop early
      if (++run > max) return -1;
      if (pos + 2 > max) return -1;
      const target = ((label & 63) << 8) | buf[off + pos + 1]!;
      if (target === 0 || target >= max || pointers > MAX_POINTERS) return -1;
      pos = target;
      label = buf[off + pos]!;
    }
    if (label === 0) break;
    if (label > MAX_LABEL || pos + 1 + label > max) return -1;
    if (nameLen + 1 > MAX_NAME) return -1;
    nameLen++;
    pos++;
    if (nameLen + label > MAX_NAME) return -1;
    nameLen += label;
    pos += label;
    // at the very end of the message ldns keeps the previous label length, which then fails the
    // bounds check above on the next round
    if (pos < max) label = buf[off + pos]!;
  }
  if (nameLen >= MAX_NAME) return -1;
  return resume > 0 ? resume : pos + 1;
}

/** Type of the record {@link skipRecord} read last. */
let lastType = 0;

/** Skips a resource record (not a question); -1 where ldns_wire2rr fails. */
function skipRecord(buf: Uint8Array, off: number, max: number, pos: number): number {
  pos = skipName(buf, off, max, pos);
  if (pos < 0 || pos + 4 > max) return -1;
  const type = u16(buf, off + pos);
  lastType = type;
  pos += 4;
  if (pos + 4 > max) return -1;
  pos += 4;
  if (pos + 2 > max) return -1;
  const rdlen = u16(buf, off + pos);
  pos += 2;
  if (pos + rdlen > max) return -1;
  return skipRdata(buf, off, max, pos, pos + rdlen, LAYOUT[type] ?? "R");
}

/** Walks the RDATA fields of `layout` within `[pos, end)`; -1 where ldns_wire2rdf fails. */
function skipRdata(
  buf: Uint8Array,
  off: number,
  max: number,
  pos: number,
  end: number,
  layout: string,
): number {
  const star = layout.indexOf("*");
  const fixed = star < 0 ? layout.length : star;
  const repeat = star < 0 ? "" : layout[star + 1];
  // ldns counts fields in a uint8_t: after 255 fields the index wraps to the first field again
  for (let index = 0; pos < end && (repeat !== "" || index < fixed); index = (index + 1) & 255) {
    const field = index < fixed ? layout[index] : repeat;
    let len = 0;
    switch (field) {
      case "N":
        // names in RDATA are bounded by the message, not by RDLENGTH (as in ldns)
        pos = skipName(buf, off, max, pos);
        if (pos < 0) return -1;
        continue;
      case "1":
        len = 1;
        break;
      case "2":
        len = 2;
        break;
      case "4":
        len = 4;
        break;
      case "6":
        len = 6;
        break;
      case "8":
        len = 8;
        break;
      case "G":
        len = 16;
        break;
      case "S":
        len = buf[off + pos]! + 1;
        break;
      case "D":
        if (pos + 2 > end) return -1;
        len = u16(buf, off + pos) + 2;
        break;
      case "H":
        if (pos + 4 > end) return -1;
        len = buf[off + pos]! + u16(buf, off + pos + 2) + 4;
        break;
      default:
        len = end - pos;
    }
    if (pos + len > end) return -1;
    pos += len;
  }
  return pos;
}

// The messages of the dnsudp / dnstcp connection helpers: one question out, and the header of
// the answer back (id, flags, rcode, counts). Answers are not decoded: the helpers' success is
// "a well-formed response carrying the query's id", as the original's.

/** Query type A. */
export const QTYPE_A = 1;
/** Query type AAAA. */
export const QTYPE_AAAA = 28;

/** Encodes `name` as DNS labels (RFC 1035 §3.1); throws on a name that cannot be one. */
export function encodeName(name: string): Uint8Array {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed === "" ? [] : trimmed.split(".");
  const out: number[] = [];
  for (const l of labels) {
    const b = new TextEncoder().encode(l);
    if (b.length === 0 || b.length > 63) {
      throw new Error(`bad DNS label in ${JSON.stringify(name)}`);
    }
    out.push(b.length, ...b);
  }
  out.push(0);
  if (out.length > 255) throw new Error(`DNS name too long: ${name.length} characters`);
  return Uint8Array.from(out);
}

/** A query for `name`/`qtype`, class IN, recursion desired (as dnslib's default). */
export function buildQuery(id: number, name: string, qtype: number): Uint8Array {
  const qname = encodeName(name);
  const out = new Uint8Array(12 + qname.length + 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, id);
  v.setUint16(2, 0x0100); // RD
  v.setUint16(4, 1); // QDCOUNT
  out.set(qname, 12);
  v.setUint16(12 + qname.length, qtype);
  v.setUint16(14 + qname.length, 1); // IN
  return out;
}

/** Prefixes a message with its 2-byte length for DNS over TCP (RFC 1035 §4.2.2). */
export function frameTcp(msg: Uint8Array): Uint8Array {
  if (msg.length > 65535) throw new Error("DNS message too long for TCP");
  const out = new Uint8Array(msg.length + 2);
  new DataView(out.buffer).setUint16(0, msg.length);
  out.set(msg, 2);
  return out;
}

/**
 * Length of the first complete TCP-framed message in `buf` (the payload without its prefix),
 * or -1 if more bytes are needed.
 */
export function tcpFrameLength(buf: Uint8Array): number {
  if (buf.length < 2) return -1;
  const len = (buf[0]! << 8) | buf[1]!;
  return buf.length - 2 >= len ? len : -1;
}

/** The header fields of a response. */
export interface DnsResponseHead {
  id: number;
  rcode: number;
  answers: number;
  truncated: boolean;
}

/**
 * Parses a response's header and checks its question section; null for anything that is not a
 * well-formed response (too short, QR bit clear, question cut off or with a name ldns would
 * refuse). The question names are walked by the chain's ldns rules (`skipName`): the helpers
 * had a looser walker of their own, which took a compression pointer without following it and
 * allowed names over 255 bytes; the original's helpers parse the whole answer with dnslib, which
 * refuses those too. Records after the question are not read: the helpers' success is "a
 * well-formed response carrying the query's id".
 */
export function parseResponse(msg: Uint8Array): DnsResponseHead | null {
  if (msg.length < 12) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  if ((flags & 0x8000) === 0) return null; // a query, not a response
  let off = 12;
  for (let q = v.getUint16(4); q > 0; q--) {
    off = skipName(msg, 0, msg.length, off);
    if (off < 0 || off + 4 > msg.length) return null;
    off += 4;
  }
  return {
    id: v.getUint16(0),
    rcode: flags & 0x0f,
    answers: v.getUint16(6),
    truncated: (flags & 0x0200) !== 0,
  };
}

/**
 * A small DNS codec for the `dnsudp` / `dnstcp` connection helpers: one question out, and the
 * header of the answer back (id, flags, rcode, counts). Answers are not decoded: the helpers'
 * success is "a well-formed response carrying the query's id", as the original's.
 *
 * @module
 */

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
  const len = (buf[0] << 8) | buf[1];
  return buf.length - 2 >= len ? len : -1;
}

/** The header fields of a response. */
export interface DnsResponseHead {
  id: number;
  rcode: number;
  answers: number;
  truncated: boolean;
}

/** Skips a (possibly compressed) name at `off`; returns the offset after it, or -1 if malformed. */
function skipName(msg: Uint8Array, off: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (off >= msg.length) return -1;
    const len = msg[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

/**
 * Parses a response's header and checks its question section; null for anything that is not a
 * well-formed response (too short, QR bit clear, question cut off).
 */
export function parseResponse(msg: Uint8Array): DnsResponseHead | null {
  if (msg.length < 12) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  if ((flags & 0x8000) === 0) return null; // a query, not a response
  let off = 12;
  for (let q = v.getUint16(4); q > 0; q--) {
    off = skipName(msg, off);
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

/**
 * IP address text, the one grammar and formatter of the tree: validating a job's `dip`, turning
 * literals into bytes (socket library, packet builder, ASN table, target filter), and writing
 * address bytes as text, in two styles: RFC 5952 (`formatIp`, `canonicalIp`: the merger's
 * 5-tuple keys match however the input spelled an address, e.g. `2001:DB8:0:0::1` in a job,
 * `2001:db8::1` from the observer) and glibc `inet_ntop` (`formatIpNtop`: the text the original
 * prints in flow records, with a dotted tail for IPv4-mapped and IPv4-compatible addresses).
 *
 * The grammar is strict: IPv4 is four decimal octets without leading zeros; IPv6 is groups of
 * 1-4 hex digits, at most one `::` standing for at least one zero group, optionally a dotted
 * IPv4 tail, no zone (`%eth0`). The packet builder's own parser (`ip_bytes.ts`, gone) also took
 * leading zeros and a zone; its addresses are a job's `dip`, which the feeder has already checked
 * with `ipVersion`, and the interface's source addresses, which come as canonical text, so
 * nothing relied on that.
 *
 * The parsers scan characters into a byte array and allocate nothing: `measure` runs them
 * several times per job, and the split/slice/regex versions they replace made a quarter of all
 * its allocations on an IPv6 target list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalIp, formatIpNtop, ipBytes, ipVersion } from "./ip.ts";
 *
 * assert(ipVersion("198.18.0.1") === 4 && ipVersion("01.2.3.4") === 0);
 * assert(canonicalIp("2001:DB8:0:0::1") === "2001:db8::1");
 * const b = ipBytes("::ffff:198.18.0.1");
 * assert(b.length === 16 && formatIpNtop(b, 0, 16) === "::ffff:198.18.0.1");
 * assert(canonicalIp("::ffff:198.18.0.1") === "::ffff:c612:1");
 * ```
 *
 * @module
 */

/** IP protocol number (IPv4 protocol, IPv6 next header) of ICMP. */
export const PROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const PROTO_TCP = 6;
/** IP protocol number of UDP. */
export const PROTO_UDP = 17;
/** IP protocol number of ICMPv6. */
export const PROTO_ICMP6 = 58;
/** IP protocol number of SCTP. */
export const PROTO_SCTP = 132;
/** IP protocol number of UDP-Lite. */
export const PROTO_UDPLITE = 136;

/** Scratch bytes of the functions below that only need to know whether something parses. */
const scratch = new Uint8Array(16);

/**
 * Parses a dotted quad in `s[start, end)` into `out[off..off+4)`: four decimal octets, no
 * leading zeros, each at most 255. False when it is not one.
 */
function parseV4At(s: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let i = start;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (i >= end || s.charCodeAt(i) !== 46) return false; // '.'
      i++;
    }
    const first = i;
    let v = 0;
    while (i < end && i - first < 4) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || v > 255) return false;
    if (digits > 1 && s.charCodeAt(first) === 48) return false; // a leading zero
    out[off + k] = v;
  }
  return i === end;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv6 literal into the 16 bytes of `out`: groups of 1-4 hex digits, at most one `::`
 * standing for at least one zero group, optionally a dotted-quad tail for the last two groups
 * (`::ffff:192.0.2.1`); no zone (`%eth0`). False when it is not one.
 */
function parseV6Into(s: string, out: Uint8Array): boolean {
  const len = s.length;
  if (len < 2 || len > 45) return false;
  let i = 0, n = 0, gap = -1;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === len) {
      out.fill(0, 0, 16);
      return true;
    }
  }
  for (;;) {
    const start = i;
    let v = 0;
    while (i < len && i - start < 5) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // a dotted-quad tail: the last two groups
      if (n > 6 || !parseV4At(s, start, len, out, 2 * n)) return false;
      n += 2;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || n === 8) return false;
    out[2 * n] = v >> 8;
    out[2 * n + 1] = v & 0xff;
    n++;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i === len) return false; // a trailing single ':'
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === len) break;
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  // the groups after `::` move to the end; the gap fills with zeros
  const missing = 8 - n;
  for (let k = 2 * n - 1; k >= 2 * gap; k--) out[k + 2 * missing] = out[k]!;
  out.fill(0, 2 * gap, 2 * (gap + missing));
  return true;
}

/**
 * Parses an IPv4 or IPv6 literal into `out` (4 bytes at its start for IPv4, 16 for IPv6) and
 * returns 4 or 6; 0 (and `out` undefined) when it is neither.
 */
export function parseIpInto(addr: string, out: Uint8Array): 0 | 4 | 6 {
  if (addr.indexOf(":") < 0) return parseV4At(addr, 0, addr.length, out, 0) ? 4 : 0;
  return parseV6Into(addr, out) ? 6 : 0;
}

/** 4 for an IPv4 literal, 6 for an IPv6 literal, 0 for anything else. */
export function ipVersion(addr: unknown): 0 | 4 | 6 {
  if (typeof addr !== "string") return 0;
  return parseIpInto(addr, scratch);
}

/**
 * The bytes of an IPv4 (4) or IPv6 (16) literal, in a new array; throws (one line) on anything
 * else.
 */
export function ipBytes(addr: string): Uint8Array {
  const v = parseIpInto(addr, scratch);
  if (v === 0) throw new Error(`not an IP address: ${addr}`);
  return scratch.slice(0, v === 4 ? 4 : 16);
}

/**
 * The address of an IPv4 or IPv6 literal as an unsigned integer of 32 or 128 bits, with its
 * family; null when it is neither.
 */
export function ipValue(addr: string): { family: 4 | 6; value: bigint } | null {
  const v = parseIpInto(addr, scratch);
  if (v === 0) return null;
  const n = v === 4 ? 4 : 16;
  let value = 0n;
  for (let i = 0; i < n; i += 4) {
    value = (value << 32n) |
      BigInt(
        ((scratch[i]! << 24) | (scratch[i + 1]! << 16) | (scratch[i + 2]! << 8) |
          scratch[i + 3]!) >>>
          0,
      );
  }
  return { family: v, value };
}

const run = { start: -1, len: 1 };

/**
 * The first longest run of two or more zero groups of the 16 bytes at `off` of `b`: its start
 * (-1 when there is none) and length, in a shared object (read it before the next call).
 */
function zeroRun(b: Uint8Array, off = 0): { start: number; len: number } {
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (b[off + 2 * i] !== 0 || b[off + 2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && b[off + 2 * j] === 0 && b[off + 2 * j + 1] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  run.start = best;
  run.len = bestLen;
  return run;
}

/**
 * The text of 4 or 16 address bytes at `off` of `b` (`len` 4 or 16): a dotted quad, or IPv6 as
 * RFC 5952 writes it (lower case, the first longest run of two or more zero groups as `::`, no
 * dotted tail).
 */
export function formatIp(b: Uint8Array, off = 0, len: 4 | 16 = b.length === 4 ? 4 : 16): string {
  if (len === 4) return formatV4(b, off);
  return formatV6(b, off, false);
}

/**
 * The text of 4 or 16 address bytes at `off` of `b` exactly as glibc's `inet_ntop` writes it
 * (what the original's `str(ip.src_prefix)` prints in flow records): RFC 5952 except that the
 * last 32 bits are a dotted quad for IPv4-compatible (`::a.b.c.d`, six zero groups) and
 * IPv4-mapped (`::ffff:a.b.c.d`) addresses.
 */
export function formatIpNtop(b: Uint8Array, off: number, len: 4 | 16): string {
  if (len === 4) return formatV4(b, off);
  return formatV6(b, off, true);
}

function formatV4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function formatV6(b: Uint8Array, off: number, dottedTail: boolean): string {
  const { start: best, len: bestLen } = zeroRun(b, off);
  if (
    dottedTail && best === 0 &&
    (bestLen === 6 || (bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff))
  ) {
    return (bestLen === 6 ? "::" : "::ffff:") + formatV4(b, off + 12);
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && i !== best + bestLen) s += ":";
    s += ((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16);
  }
  return s;
}

/** True when `s` is exactly the RFC 5952 text of the 16 bytes at `b` (checked, not built). */
function isCanonicalV6(s: string, b: Uint8Array): boolean {
  const { start, len } = zeroRun(b);
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (i === start) {
      if (s.charCodeAt(p) !== 58 || s.charCodeAt(p + 1) !== 58) return false;
      p += 2;
      i += len - 1;
      continue;
    }
    if (p > 0 && i !== start + len) {
      if (s.charCodeAt(p) !== 58) return false;
      p++;
    }
    const g = (b[2 * i]! << 8) | b[2 * i + 1]!;
    // the group's hex digits, lower case, no leading zeros
    let shift = 12;
    while (shift > 0 && (g >> shift) === 0) shift -= 4;
    for (; shift >= 0; shift -= 4) {
      const d = (g >> shift) & 15;
      if (s.charCodeAt(p++) !== (d < 10 ? 48 + d : 87 + d)) return false;
    }
  }
  return p === s.length;
}

/**
 * Canonical text of an address (RFC 5952 for IPv6: lower case, longest zero run compressed);
 * the input unchanged when it is not an address. An address already in canonical text (what
 * the observer and the socket library write) is returned as it is, without a new string.
 */
export function canonicalIp(addr: string): string {
  const v = parseIpInto(addr, scratch);
  if (v !== 6 || isCanonicalV6(addr, scratch)) return addr;
  return formatIp(scratch, 0, 16);
}

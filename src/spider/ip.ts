/**
 * Address helpers for the measure engine: validating a job's `dip` and bringing IPv4/IPv6
 * addresses to one canonical text so that the merger's 5-tuple keys match however the input
 * spelled them (e.g. `2001:DB8:0:0::1` in a job, `2001:db8::1` from the observer).
 */

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The four octets of an IPv4 literal as one unsigned number, or -1. */
export function parseV4(addr: string): number {
  if (!V4.test(addr)) return -1;
  const o = addr.split(".");
  return ((+o[0] << 24) | (+o[1] << 16) | (+o[2] << 8) | +o[3]) >>> 0;
}

/** 4 for an IPv4 literal, 6 for an IPv6 literal, 0 for anything else. */
export function ipVersion(addr: unknown): 0 | 4 | 6 {
  if (typeof addr !== "string") return 0;
  if (V4.test(addr)) return 4;
  return parseV6(addr) === null ? 0 : 6;
}

/** Parses an IPv6 literal (with optional embedded IPv4 tail) into 8 groups, or null. */
export function parseV6(addr: string): number[] | null {
  if (addr.length < 2 || addr.length > 45 || addr.includes("%")) return null;
  let s = addr;
  const lastColon = s.lastIndexOf(":");
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    // an embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two groups
    if (!V4.test(maybeV4)) return null;
    const o = maybeV4.split(".").map(Number);
    s = s.slice(0, lastColon + 1) + ((o[0] << 8) | o[1]).toString(16) + ":" +
      ((o[2] << 8) | o[3]).toString(16);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  if (head === null) return null;
  if (halves.length === 1) {
    return head.length === 8 ? head : null;
  }
  const rest = parse(halves[1]);
  if (rest === null) return null;
  const right = rest;
  const missing = 8 - head.length - right.length;
  if (missing < 1) return null;
  return [...head, ...new Array(missing).fill(0), ...right];
}

/**
 * Canonical text of an address (RFC 5952 for IPv6: lower case, longest zero run compressed);
 * the input unchanged when it is not an address.
 */
export function canonicalIp(addr: string): string {
  if (V4.test(addr)) return addr;
  const g = parseV6(addr);
  if (g === null) return addr;
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) bestStart = i, bestLen = j - i;
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

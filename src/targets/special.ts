/**
 * Special-purpose address ranges (the IANA IPv4 and IPv6 Special-Purpose Address Registries,
 * RFC 6890 and its updates) grouped into the kinds `pathspider filter` counts and drops.
 *
 * @module
 */

import { type Address, inPrefix, parsePrefix, type Prefix } from "./address.ts";

/** Why an address is not a public unicast target. */
export type SpecialKind =
  | "private"
  | "loopback"
  | "link-local"
  | "multicast"
  | "documentation"
  | "benchmarking"
  | "reserved";

/** Every special kind, in the order `filter` reports them. */
export const SPECIAL_KINDS: readonly SpecialKind[] = [
  "private",
  "loopback",
  "link-local",
  "multicast",
  "documentation",
  "benchmarking",
  "reserved",
];

/**
 * The ranges of each kind. Order matters where ranges nest: the first match wins (`::1` is
 * loopback, not in the reserved `::/96`).
 */
const RANGES: readonly [SpecialKind, string][] = [
  ["loopback", "127.0.0.0/8"], // RFC 1122
  ["loopback", "::1/128"], // RFC 4291
  ["private", "10.0.0.0/8"], // RFC 1918
  ["private", "172.16.0.0/12"], // RFC 1918
  ["private", "192.168.0.0/16"], // RFC 1918
  ["private", "100.64.0.0/10"], // RFC 6598, carrier-grade NAT shared space
  ["private", "fc00::/7"], // RFC 4193, unique local
  ["link-local", "169.254.0.0/16"], // RFC 3927
  ["link-local", "fe80::/10"], // RFC 4291
  ["multicast", "224.0.0.0/4"], // RFC 5771
  ["multicast", "ff00::/8"], // RFC 4291
  ["documentation", "192.0.2.0/24"], // RFC 5737 TEST-NET-1
  ["documentation", "198.51.100.0/24"], // RFC 5737 TEST-NET-2
  ["documentation", "203.0.113.0/24"], // RFC 5737 TEST-NET-3
  ["documentation", "2001:db8::/32"], // RFC 3849
  ["documentation", "3fff::/20"], // RFC 9637
  ["benchmarking", "198.18.0.0/15"], // RFC 2544
  ["benchmarking", "2001:2::/48"], // RFC 5180
  ["reserved", "0.0.0.0/8"], // RFC 791 "this network"
  ["reserved", "192.0.0.0/24"], // RFC 6890 IETF protocol assignments
  ["reserved", "192.88.99.0/24"], // RFC 7526 deprecated 6to4 relay anycast
  ["reserved", "240.0.0.0/4"], // RFC 1112 reserved, with 255.255.255.255 limited broadcast
  ["reserved", "::/96"], // unspecified ::/128 and the deprecated IPv4-compatible addresses
  ["reserved", "::ffff:0:0/96"], // RFC 4291 IPv4-mapped
  ["reserved", "64:ff9b:1::/48"], // RFC 8215 local-use IPv4/IPv6 translation
  ["reserved", "100::/64"], // RFC 6666 discard-only
  ["reserved", "2001::/23"], // RFC 2928 IETF protocol assignments (Teredo, ORCHID, ...)
  ["reserved", "5f00::/16"], // RFC 9602 SRv6 SIDs
];

const PARSED: readonly [SpecialKind, Prefix][] = RANGES.map(([k, text]) => {
  const p = parsePrefix(text);
  if (p === null) throw new Error(`bad built-in prefix ${text}`);
  return [k, p];
});

/** The special kind of an address, or null for a public unicast address. */
export function specialKind(a: Address): SpecialKind | null {
  for (const [kind, p] of PARSED) if (inPrefix(a, p)) return kind;
  return null;
}

/**
 * Destinations `measure` never probes, whatever the user asks (no override): probing them is
 * never a path measurement and can be harmful (169.254.169.254 is the cloud metadata service,
 * whose answers would end up in the archived results).
 */
export type NeverProbeKind = "unspecified" | "loopback" | "link-local" | "multicast" | "broadcast";

/** The never-probe kind of an IPv4 address given as its four bytes at `b[o..o+4)`. */
function neverProbe4(b: Uint8Array, o: number): NeverProbeKind | null {
  const a = b[o]!;
  if (a === 0) return "unspecified"; // 0.0.0.0/8, "this network" (RFC 791, RFC 1122)
  if (a === 127) return "loopback"; // RFC 1122
  if (a === 169 && b[o + 1] === 254) return "link-local"; // RFC 3927
  if (a >= 224 && a <= 239) return "multicast"; // RFC 5771
  if (a === 255 && b[o + 1] === 255 && b[o + 2] === 255 && b[o + 3] === 255) return "broadcast";
  return null;
}

/**
 * The never-probe kind of an address in network byte order (`bytes` of `version` 4 or 6), or
 * null. IPv6: `::` unspecified, `::1` loopback, `fe80::/10` link-local, `ff00::/8` multicast,
 * and the IPv4-mapped (`::ffff:0:0/96`) and IPv4-compatible (`::/96`) forms of the IPv4 ones,
 * which reach the same IPv4 destination. Private, shared, documentation and benchmarking ranges
 * are not among them: test networks and enterprise paths use them.
 */
export function neverProbeKind(bytes: Uint8Array, version: 4 | 6): NeverProbeKind | null {
  if (version === 4) return neverProbe4(bytes, 0);
  if (bytes[0] === 0xff) return "multicast"; // RFC 4291
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return "link-local"; // RFC 4291
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return null;
  const mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  if (!mapped && (bytes[10] !== 0 || bytes[11] !== 0)) return null;
  if (!mapped) {
    let zero = true;
    for (let i = 12; i < 15; i++) if (bytes[i] !== 0) zero = false;
    if (zero && bytes[15] === 0) return "unspecified"; // ::
    if (zero && bytes[15] === 1) return "loopback"; // ::1
  }
  return neverProbe4(bytes, 12);
}

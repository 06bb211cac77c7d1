/**
 * The Internet checksum (RFC 1071) over byte ranges, and the TCP/UDP pseudo-headers of IPv4
 * (RFC 768, RFC 9293) and IPv6 (RFC 8200 §8.1).
 *
 * @module
 */

/**
 * Adds the 16-bit big-endian words of `buf[start, end)` to `sum` (an odd last byte is padded
 * with a zero on the right). The result is not folded: pass it on, then `finish`.
 */
export function sum16(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  // fold now and then so the sum stays a small integer even for 64 KiB
  return (sum & 0xffff) + (sum >>> 16);
}

/** Folds a running sum to 16 bits and complements it: the checksum field's value. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Sum of the pseudo-header of a transport checksum: the source and destination addresses as
 * they sit in the IP header `ip` (4 or 16 bytes each, at `addrOff`), the protocol and the
 * transport length. IPv4 and IPv6 pseudo-headers give the same sum for the same values (the
 * IPv6 one only widens the length and protocol fields with zeros).
 */
export function pseudoSum(
  ip: Uint8Array,
  addrOff: number,
  addrLen: 4 | 16,
  proto: number,
  length: number,
): number {
  let s = sum16(ip, addrOff, addrOff + 2 * addrLen);
  s += proto + (length & 0xffff) + (length >>> 16);
  return s;
}

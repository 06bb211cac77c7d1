/**
 * IP addresses and prefixes as numbers, for classifying and excluding targets: an address is its
 * family and its value as a bigint (32 or 128 bits).
 *
 * @module
 */

import { ipValue } from "../wire/ip.ts";

/** An address: family and value. */
export interface Address {
  family: 4 | 6;
  /** The address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
  value: bigint;
}

/** A prefix: family, network value (host bits zero) and length. */
export interface Prefix {
  family: 4 | 6;
  network: bigint;
  length: number;
}

/** Bits of a family's addresses. */
export function familyBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/** The address a literal stands for, or null when it is not an IPv4 or IPv6 literal. */
export function parseAddress(text: string): Address | null {
  return ipValue(text);
}

/**
 * The prefix `ADDR/LEN` (or a bare address, as a full-length prefix); null when malformed. Host
 * bits below the length are cleared (`192.0.2.7/24` is `192.0.2.0/24`).
 */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf("/");
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (addr === null) return null;
  const bits = familyBits(addr.family);
  let length = bits;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > bits) return null;
    length = Number(l);
  }
  return { family: addr.family, network: mask(addr.value, length, bits), length };
}

/** `value` with all but the first `length` of `bits` bits cleared. */
export function mask(value: bigint, length: number, bits: number): bigint {
  const host = BigInt(bits - length);
  return (value >> host) << host;
}

/** Whether `a` lies in `p`. */
export function inPrefix(a: Address, p: Prefix): boolean {
  return a.family === p.family && mask(a.value, p.length, familyBits(a.family)) === p.network;
}

/**
 * The UDP options surplus area of RFC 9868 ("Transport Options for UDP", published from
 * draft-ietf-tsvwg-udp-options-45): the bytes between the end of the UDP user data (the UDP
 * Length) and the end of the IP payload.
 *
 * Layout (§8, §9): zero bytes up to the next 2-byte boundary counted from the start of the IP
 * datagram, then the 16-bit Option Checksum (OCS), then the options. The OCS is the Internet
 * checksum over the whole surplus area (alignment bytes included) plus the area's length as a
 * 16-bit value, so that the area sums to zero; it must not be zero when the UDP checksum is
 * not (a computed zero is sent as 0xffff), and may be zero ("unused") when the UDP checksum is.
 *
 * @module
 */

import { finish, sum16 } from "./checksum.ts";

/** End of Options List (kind 0, one byte). */
export const UDPOPT_EOL = 0;
/** No Operation (kind 1, one byte). */
export const UDPOPT_NOP = 1;
/** Maximum Datagram Size (kind 4, length 4, 16-bit value). */
export const UDPOPT_MDS = 4;

/** The RFC / draft revision this module follows (for help texts). */
export const UDP_OPTIONS_SPEC = "RFC 9868 (draft-ietf-tsvwg-udp-options-45)";

/**
 * The surplus area for `options` (the bytes after the OCS) when the UDP user data ends at byte
 * `udpEnd` of the IP datagram. `useOcs` false leaves the OCS zero (only allowed with a zero UDP
 * checksum).
 */
export function udpOptionsArea(udpEnd: number, options: Uint8Array, useOcs = true): Uint8Array {
  const pad = udpEnd & 1;
  const area = new Uint8Array(pad + 2 + options.length);
  area.set(options, pad + 2);
  if (useOcs) {
    // words are aligned to the IP datagram: the alignment byte sits alone in the low half of
    // the word it shares with the last data byte, and it is zero, so the sum can start at OCS
    const s = sum16(area, pad, area.length, area.length);
    const ocs = finish(s) || 0xffff;
    area[pad] = ocs >> 8;
    area[pad + 1] = ocs & 0xff;
  }
  return area;
}

/**
 * Checks a surplus area as a receiver would (§8, §9): alignment bytes zero and, when the OCS
 * is not zero, the area plus its length summing to zero. For tests and diagnostics.
 */
export function surplusAreaValid(area: Uint8Array, udpEnd: number): boolean {
  const pad = udpEnd & 1;
  if (area.length < pad + 2) return false;
  if (pad === 1 && area[0] !== 0) return false;
  if (area[pad] === 0 && area[pad + 1] === 0) return true;
  return finish(sum16(area, pad, area.length, area.length)) === 0;
}

/**
 * The capture record: the format in which the native library (`capture-ffi/src/batch.rs`,
 * `put_record`, which must change together with this file) hands packets over in a batch, and
 * in which tests craft them. Records follow each other; all integers are little-endian:
 *
 * `ts_sec u32 | ts_nsec u32 | caplen u32 | wire_len u32 | linktype u16 | direction u8 | 0 u8 |
 * caplen bytes of the frame | zero padding to a multiple of 4`.
 *
 * The offsets are module constants, which V8 folds into the code that reads them: the observer
 * walks every record with them, so they must cost nothing beside literal numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REC_CAPLEN, REC_HEADER_LEN, recordSize, writeRecord } from "./capture_record.ts";
 *
 * const buf = new Uint8Array(64);
 * const dv = new DataView(buf.buffer);
 * const frame = Uint8Array.of(1, 2, 3, 4, 5);
 * const next = writeRecord(buf, dv, 0, { tsSec: 1, tsNsec: 0, wireLen: 5, linktype: 1 }, frame);
 * assert(next === recordSize(5) && next === 28);
 * assert(dv.getUint32(REC_CAPLEN, true) === 5 && buf[REC_HEADER_LEN] === 1);
 * ```
 *
 * @module
 */

/** Offset of the timestamp's seconds (u32). */
export const REC_TS_SEC = 0;
/** Offset of the timestamp's nanoseconds (u32; µs captures are scaled by 1000). */
export const REC_TS_NSEC = 4;
/** Offset of the captured length, the frame bytes stored in the record (u32). */
export const REC_CAPLEN = 8;
/** Offset of the length on the wire (u32). */
export const REC_WIRE_LEN = 12;
/** Offset of the pcap `LINKTYPE_*` of the frame (u16). */
export const REC_LINKTYPE = 16;
/** Offset of the direction code (u8, `Direction`). */
export const REC_DIRECTION = 18;
/** Size of a record header: the frame starts here. */
export const REC_HEADER_LEN = 20;

/** Bytes of a record that stores `caplen` frame bytes (header, frame, padding to 4). */
export function recordSize(caplen: number): number {
  return (REC_HEADER_LEN + caplen + 3) & ~3;
}

/** Direction codes of a record: 0 unknown, else AF_PACKET pkttype + 1. */
export const Direction = {
  UNKNOWN: 0,
  HOST: 1,
  BROADCAST: 2,
  MULTICAST: 3,
  OTHERHOST: 4,
  OUTGOING: 5,
} as const;

/** pcap `LINKTYPE_ETHERNET`. */
export const LINKTYPE_ETHERNET = 1;
/** pcap `LINKTYPE_RAW`: raw IP, the version nibble says which. */
export const LINKTYPE_RAW = 101;
/** `DLT_RAW` as some systems number it in files (12): raw IP too. */
export const LINKTYPE_RAW_DLT = 12;
/** pcap `LINKTYPE_LINUX_SLL`: Linux cooked capture v1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
/** pcap `LINKTYPE_LINUX_SLL2`: Linux cooked capture v2 (20-byte header). */
export const LINKTYPE_LINUX_SLL2 = 276;
/** pcap `LINKTYPE_IPV4`: raw IPv4. */
export const LINKTYPE_IPV4 = 228;
/** pcap `LINKTYPE_IPV6`: raw IPv6. */
export const LINKTYPE_IPV6 = 229;

/** The header fields of a record to write. */
export interface RecordMeta {
  /** Timestamp, seconds. */
  tsSec: number;
  /** Timestamp, nanoseconds within the second. */
  tsNsec: number;
  /** Length on the wire (at least the frame's length for a whole packet). */
  wireLen: number;
  /** pcap `LINKTYPE_*`. */
  linktype: number;
  /** Direction code (default 0, unknown). */
  direction?: number;
}

/**
 * Writes the record of `frame` at `off` of `buf` (`dv` a DataView over all of `buf`), padding
 * included, and returns the offset after it. The caller sizes `buf` (`recordSize`).
 */
export function writeRecord(
  buf: Uint8Array,
  dv: DataView,
  off: number,
  meta: RecordMeta,
  frame: Uint8Array,
): number {
  const cap = frame.length;
  dv.setUint32(off + REC_TS_SEC, meta.tsSec, true);
  dv.setUint32(off + REC_TS_NSEC, meta.tsNsec, true);
  dv.setUint32(off + REC_CAPLEN, cap, true);
  dv.setUint32(off + REC_WIRE_LEN, meta.wireLen, true);
  dv.setUint16(off + REC_LINKTYPE, meta.linktype, true);
  buf[off + REC_DIRECTION] = meta.direction ?? 0;
  buf[off + REC_DIRECTION + 1] = 0;
  buf.set(frame, off + REC_HEADER_LEN);
  const end = off + recordSize(cap);
  buf.fill(0, off + REC_HEADER_LEN + cap, end);
  return end;
}

/**
 * The packet batch: a reused buffer that the native library fills with packet records.
 *
 * The record layout is `src/wire/capture_record.ts`.
 *
 * Walk a batch without allocating:
 * ```ts
 * import assert from "node:assert/strict";
 * import { PacketBatch } from "./batch.ts";
 * import { writeRecord } from "../wire/capture_record.ts";
 *
 * const batch = new PacketBatch(64); // a capture source fills it; here, by hand
 * writeRecord(batch.buf, batch.view, 0, { tsSec: 1, tsNsec: 0, wireLen: 3, linktype: 1 }, Uint8Array.of(7, 8, 9));
 * batch.count = 1;
 * let bytes = 0;
 * for (let i = 0, off = 0; i < batch.count; i++, off = batch.nextOffset(off)) {
 *   const frame = batch.frameOffset(off); // first byte of the link-layer header
 *   bytes += batch.caplen(off);
 *   assert(batch.buf[frame] === 7);
 * }
 * assert(bytes === 3);
 * ```
 * @module
 */

import {
  REC_CAPLEN,
  REC_DIRECTION,
  REC_HEADER_LEN,
  REC_LINKTYPE,
  REC_TS_NSEC,
  REC_TS_SEC,
  REC_WIRE_LEN,
  recordSize,
} from "../wire/capture_record.ts";

export { Direction, REC_HEADER_LEN as RECORD_HEADER_LEN } from "../wire/capture_record.ts";

/** Default batch size: 4 MiB. */
export const DEFAULT_BATCH_BYTES = 4 << 20;

/** A reused buffer of packet records; `count` says how many the last fill wrote. */
export class PacketBatch {
  /** The records. Never reallocated. */
  readonly buf: Uint8Array;
  /** A little-endian view over `buf`. */
  readonly view: DataView;
  /** Number of records written by the last fill. */
  count = 0;

  /**
   * A batch of `bytes` bytes (default 4 MiB), or a view of memory the library lends
   * (`CaptureSource.take`).
   */
  constructor(bytes: number | ArrayBuffer = DEFAULT_BATCH_BYTES) {
    if (typeof bytes === "number") {
      if (!Number.isInteger(bytes) || bytes < 64 || bytes > 0x7fffffff) {
        throw new RangeError(`batch size ${bytes} must be an integer between 64 and 2^31-1`);
      }
      this.buf = new Uint8Array(bytes);
    } else this.buf = new Uint8Array(bytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Timestamp seconds of the record at `off`. */
  tsSec(off: number): number {
    return this.view.getUint32(off + REC_TS_SEC, true);
  }
  /** Timestamp nanoseconds of the record at `off`. */
  tsNsec(off: number): number {
    return this.view.getUint32(off + REC_TS_NSEC, true);
  }
  /** Timestamp of the record at `off` in (fractional) seconds. */
  timestamp(off: number): number {
    return this.tsSec(off) + this.tsNsec(off) / 1e9;
  }
  /** Captured length (bytes present) of the record at `off`. */
  caplen(off: number): number {
    return this.view.getUint32(off + REC_CAPLEN, true);
  }
  /** Length on the wire of the record at `off`. */
  wireLen(off: number): number {
    return this.view.getUint32(off + REC_WIRE_LEN, true);
  }
  /** pcap LINKTYPE_* of the record at `off`. */
  linktype(off: number): number {
    return this.view.getUint16(off + REC_LINKTYPE, true);
  }
  /** Direction code (`Direction.*`) of the record at `off`. */
  direction(off: number): number {
    return this.buf[off + REC_DIRECTION]!;
  }
  /** Offset in `buf` of the frame bytes of the record at `off`. */
  frameOffset(off: number): number {
    return off + REC_HEADER_LEN;
  }
  /** Offset of the record following the one at `off`. */
  nextOffset(off: number): number {
    return off + recordSize(this.caplen(off));
  }
  /** The frame bytes of the record at `off` as a view (allocates a view: not for hot paths). */
  frame(off: number): Uint8Array {
    return this.buf.subarray(off + REC_HEADER_LEN, off + REC_HEADER_LEN + this.caplen(off));
  }
  /** Offsets of the `count` records (a generator: convenient, not for hot paths). */
  *offsets(): IterableIterator<number> {
    for (let i = 0, off = 0; i < this.count; i++, off = this.nextOffset(off)) yield off;
  }
}

/**
 * The packet batch: a reused buffer that the native library fills with packet records.
 *
 * Record layout (little-endian), see docs/architecture.md:
 * `ts_sec u32 | ts_nsec u32 | caplen u32 | wire_len u32 | linktype u16 | direction u8 | 0 u8 |
 * caplen bytes | zero padding to 4`.
 *
 * Walk a batch without allocating:
 * ```ts
 * for (let i = 0, off = 0; i < batch.count; i++, off = batch.nextOffset(off)) {
 *   const frame = batch.frameOffset(off); // first byte of the link-layer header
 *   const len = batch.caplen(off);
 * }
 * ```
 * @module
 */

/** Size of a record header. */
export const RECORD_HEADER_LEN = 20;

/** Default batch size: 4 MiB. */
export const DEFAULT_BATCH_BYTES = 4 << 20;

/** Direction codes of a record: 0 unknown, else AF_PACKET pkttype + 1. */
export const Direction = {
  UNKNOWN: 0,
  HOST: 1,
  BROADCAST: 2,
  MULTICAST: 3,
  OTHERHOST: 4,
  OUTGOING: 5,
} as const;

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
    return this.view.getUint32(off, true);
  }
  /** Timestamp nanoseconds of the record at `off`. */
  tsNsec(off: number): number {
    return this.view.getUint32(off + 4, true);
  }
  /** Timestamp of the record at `off` in (fractional) seconds. */
  timestamp(off: number): number {
    return this.view.getUint32(off, true) + this.view.getUint32(off + 4, true) / 1e9;
  }
  /** Captured length (bytes present) of the record at `off`. */
  caplen(off: number): number {
    return this.view.getUint32(off + 8, true);
  }
  /** Length on the wire of the record at `off`. */
  wireLen(off: number): number {
    return this.view.getUint32(off + 12, true);
  }
  /** pcap LINKTYPE_* of the record at `off`. */
  linktype(off: number): number {
    return this.view.getUint16(off + 16, true);
  }
  /** Direction code (`Direction.*`) of the record at `off`. */
  direction(off: number): number {
    return this.buf[off + 18];
  }
  /** Offset in `buf` of the frame bytes of the record at `off`. */
  frameOffset(off: number): number {
    return off + RECORD_HEADER_LEN;
  }
  /** Offset of the record following the one at `off`. */
  nextOffset(off: number): number {
    return (off + RECORD_HEADER_LEN + this.view.getUint32(off + 8, true) + 3) & ~3;
  }
  /** The frame bytes of the record at `off` as a view (allocates a view: not for hot paths). */
  frame(off: number): Uint8Array {
    return this.buf.subarray(off + RECORD_HEADER_LEN, off + RECORD_HEADER_LEN + this.caplen(off));
  }
  /** Offsets of the `count` records (a generator: convenient, not for hot paths). */
  *offsets(): IterableIterator<number> {
    for (let i = 0, off = 0; i < this.count; i++, off = this.nextOffset(off)) yield off;
  }
}

/**
 * The capture -> observer pump: one loop, used by `observe` (a file or a live interface) and by
 * `measure` (live), that reads batches from a capture source and pushes them into an observer.
 * Its rules, in one place:
 *
 * - **Files.** The library reads a file ahead on a thread of its own and lends its batches:
 *   taking a ready one costs microseconds and copies nothing. Every `AWAIT_EVERY_MS` (250 ms), and
 *   whenever no batch came within `FILE_WAIT_MS` (20 ms), the take is awaited instead: the event
 *   loop turns meanwhile, and that is when signals arrive. (Not more often: an await costs 1-7 ms
 *   on a busy 2-core machine.)
 * - **Live.** Every read is awaited (it runs on Deno's blocking pool) and lasts at most
 *   `LIVE_WAIT_MS`.
 * - **Flush.** `flush()` resolves once every packet captured before the call went through the
 *   observer: when a read that began after the call came back empty after waiting at least
 *   `QUIET_MS`, or when a packet stamped `FLUSH_MARGIN_MS` after the call was read (the ring hands
 *   packets over in order), or at the latest `FLUSH_MAX_MS` after the call. Nothing waits for the
 *   interface to go quiet: on a busy interface the second rule ends it within milliseconds.
 * - **Stop.** `stop()` on a live capture is a flush, then the end: what the kernel held at the
 *   call is read (a packet may sit in the ring's open block for a retire period, so a read that
 *   does not wait could miss it). A file stops at once.
 * - **Wall clock (measure).** The observer's clock moves with packet time; with `wallClock`, a
 *   non-IP record stamped with the wall time is pushed every `CLOCK_EVERY_MS`, so flows expire on
 *   time on a quiet interface too (the original only moved on when a packet arrived).
 *
 * @module
 */
import { PacketBatch } from "../ffi/batch.ts";
import { CaptureError, Status } from "../ffi/status.ts";
import type { BatchLike } from "./observer.ts";
import {
  LINKTYPE_ETHERNET,
  REC_CAPLEN,
  REC_HEADER_LEN,
  REC_LINKTYPE,
  REC_TS_NSEC,
  REC_TS_SEC,
  REC_WIRE_LEN,
} from "../wire/capture_record.ts";

/** What the pump reads: a `CaptureSource` (src/ffi/capture.ts). */
export interface PumpSource {
  /** A live interface (else a file). */
  readonly live: boolean;
  /** Live: copies the next batch into `batch`; 0 when none came within `timeoutMs`. */
  next(batch: PacketBatch, timeoutMs: number): Promise<number>;
  /** File: lends the next batch as `taken`; 0 when none within `timeoutMs`, -1 at the end. */
  take(timeoutMs?: number, bytes?: number): number;
  /** `take`, awaited. */
  takeAsync(timeoutMs?: number, bytes?: number): Promise<number>;
  /** The batch of the last take. */
  readonly taken: PacketBatch;
}

/** Where the pump pushes batches: an `Observer`. */
export interface PumpSink {
  push(batch: BatchLike): void;
}

/** Options of a pump. */
export interface PumpOptions {
  /** Called with every batch before the observer sees it (`observe --write`). */
  beforePush?: (batch: PacketBatch) => void;
  /** Called after every batch the observer saw. */
  afterPush?: () => void;
  /** Called when a wait brought nothing (what is complete can go out now). */
  onEmpty?: () => void;
  /** A truncated capture file: told once, then the records read so far count. */
  warn?: (message: string) => void;
  /** Live: push a wall-clock record every `CLOCK_EVERY_MS` (see the module documentation). */
  wallClock?: boolean;
  /** Batch size in bytes (default 1 MiB). */
  batchBytes?: number;
}

/** Batch size, live or from a file: a thousand packets or more per call into the library. */
export const BATCH_BYTES = 1 << 20;
/** Longest wait of one live read (ms): how soon a stop, a flush or the clock is looked at. */
export const LIVE_WAIT_MS = 50;
/** Longest synchronous wait for a file's next batch before the take is awaited instead (ms). */
export const FILE_WAIT_MS = 20;
/** A file's take is awaited at least this often (ms), so that signals get through. */
export const AWAIT_EVERY_MS = 250;
/**
 * An empty read that waited this long proves a flush complete. The kernel hands over a partly
 * filled block once it was the open block for a whole retire period (10 ms,
 * capture-ffi/src/live.rs), i.e. at most two periods after its last packet, rounded up to
 * jiffies: 50 ms leaves a margin for any HZ.
 */
export const QUIET_MS = 50;
/**
 * A packet stamped this long after a flush request proves it complete: every packet captured
 * before it was handed over before it. The margin covers packets of several CPUs written to the
 * ring slightly out of time order.
 */
export const FLUSH_MARGIN_MS = 20;
/**
 * A flush resolves at the latest this long after the request (ms), even when the ring is so far
 * behind (a flood) that neither proof came: the run's end must not depend on the interface.
 */
export const FLUSH_MAX_MS = 1000;
/** How often the wall clock moves the observer's clock (ms). */
export const CLOCK_EVERY_MS = 200;

/** A flush waiting for its proof. */
interface FlushRequest {
  /** `performance.now()` at the request. */
  since: number;
  /** Packet time (epoch seconds) that proves it. */
  proofSec: number;
  done: () => void;
}

/** Reads a capture source into an observer; see the module documentation for the rules. */
export class CapturePump {
  readonly #src: PumpSource;
  readonly #sink: PumpSink;
  readonly #o: PumpOptions;
  readonly #batchBytes: number;
  #stopping = false;
  /** Set once the stop's own flush is proved (or at once without a drain). */
  #stopDone = false;
  #flushes: FlushRequest[] = [];
  #clock: PacketBatch | null = null;
  #ended = false;

  constructor(source: PumpSource, sink: PumpSink, opts: PumpOptions = {}) {
    this.#src = source;
    this.#sink = sink;
    this.#o = opts;
    this.#batchBytes = opts.batchBytes ?? BATCH_BYTES;
  }

  /**
   * Ends the loop: a live capture first reads what the kernel holds at the call (`drain` true,
   * the default: a flush; see the module documentation), a file or `drain` false ends after the
   * current read.
   */
  stop(drain = true): void {
    if (!drain || !this.#src.live) this.#stopDone = true;
    if (this.#stopping) return;
    this.#stopping = true;
    if (!this.#stopDone && !this.#ended) this.#request(() => this.#stopDone = true);
  }

  /** Whether `stop` was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Resolves once every packet captured before the call went through the observer. */
  flush(): Promise<void> {
    if (this.#ended || !this.#src.live) return Promise.resolve();
    return new Promise<void>((done) => this.#request(done));
  }

  #request(done: () => void): void {
    this.#flushes.push({
      since: performance.now(),
      proofSec: (Date.now() + FLUSH_MARGIN_MS) / 1000,
      done,
    });
  }

  /**
   * Runs until the end of the file, or until `stop()` (and its drain). A capture error ends it
   * and rejects (pending flushes resolve first); a truncated file is reported through `warn` and
   * ends like the end of the file.
   */
  async run(): Promise<void> {
    try {
      if (this.#src.live) await this.#runLive();
      else await this.#runFile();
    } finally {
      this.#ended = true;
      const pending = this.#flushes;
      this.#flushes = [];
      for (const f of pending) f.done();
    }
  }

  async #runLive(): Promise<void> {
    const src = this.#src, o = this.#o;
    const batch = new PacketBatch(this.#batchBytes);
    let lastClock = 0;
    while (!this.#stopDone) {
      const began = performance.now();
      const wait = LIVE_WAIT_MS;
      const n = await src.next(batch, wait);
      if (n > 0) {
        o.beforePush?.(batch);
        this.#sink.push(batch);
        o.afterPush?.();
        if (this.#flushes.length > 0) this.#proveByTime(lastStampSec(batch));
      } else {
        o.onEmpty?.();
        // this whole quiet wait came after the requests made before it began
        if (this.#flushes.length > 0 && wait >= QUIET_MS) this.#proveQuiet(began);
      }
      if (this.#flushes.length > 0) this.#proveByDeadline();
      if (o.wallClock) {
        const now = Date.now();
        if (now - lastClock >= CLOCK_EVERY_MS) {
          this.#sink.push(this.#clockRecord(now));
          lastClock = now;
        }
      }
    }
  }

  async #runFile(): Promise<void> {
    const src = this.#src, o = this.#o, bytes = this.#batchBytes;
    let lastTurn = performance.now();
    while (!this.#stopping) {
      let n: number;
      try {
        // a batch not ready yet is waited for here first (a wake-up from the library's thread
        // is fast; one through the event loop costs milliseconds), up to FILE_WAIT_MS
        n = performance.now() - lastTurn < AWAIT_EVERY_MS ? src.take(FILE_WAIT_MS, bytes) : 0;
        if (n === 0) {
          n = await src.takeAsync(200, bytes);
          lastTurn = performance.now();
        }
      } catch (e) {
        if (e instanceof CaptureError && e.code === Status.TRUNCATED) {
          o.warn?.(e.message);
          continue;
        }
        throw e;
      }
      if (n < 0) return;
      if (n === 0) {
        o.onEmpty?.();
        continue;
      }
      const batch = src.taken;
      o.beforePush?.(batch);
      this.#sink.push(batch);
      o.afterPush?.();
    }
  }

  #proveByTime(stampSec: number): void {
    const keep: FlushRequest[] = [];
    for (const f of this.#flushes) {
      if (stampSec >= f.proofSec) f.done();
      else keep.push(f);
    }
    this.#flushes = keep;
  }

  #proveQuiet(began: number): void {
    const keep: FlushRequest[] = [];
    for (const f of this.#flushes) {
      if (f.since <= began) f.done();
      else keep.push(f);
    }
    this.#flushes = keep;
  }

  #proveByDeadline(): void {
    const now = performance.now();
    const keep: FlushRequest[] = [];
    for (const f of this.#flushes) {
      if (now - f.since >= FLUSH_MAX_MS) f.done();
      else keep.push(f);
    }
    this.#flushes = keep;
  }

  /**
   * A batch holding one non-IP Ethernet record stamped `epochMs` (reused): the observer advances
   * its packet clock on every record, IP or not.
   */
  #clockRecord(epochMs: number): PacketBatch {
    let b = this.#clock;
    if (b === null) {
      b = this.#clock = new PacketBatch(64);
      const v = b.view;
      v.setUint32(REC_CAPLEN, 14, true);
      v.setUint32(REC_WIRE_LEN, 14, true);
      v.setUint16(REC_LINKTYPE, LINKTYPE_ETHERNET, true);
      v.setUint16(REC_HEADER_LEN + 12, 0x88b5, false); // local experimental EtherType: never IP
      b.count = 1;
    }
    b.view.setUint32(REC_TS_SEC, Math.floor(epochMs / 1000), true);
    b.view.setUint32(REC_TS_NSEC, Math.floor((epochMs % 1000) * 1e6), true);
    return b;
  }
}

/** Timestamp (epoch seconds) of the last record of a non-empty batch. */
function lastStampSec(batch: PacketBatch): number {
  let off = 0;
  for (let i = 1; i < batch.count; i++) off = batch.nextOffset(off);
  return batch.timestamp(off);
}

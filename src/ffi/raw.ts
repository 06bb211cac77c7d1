/**
 * Raw send of complete, already built IPv4/IPv6 packets, through `ps_raw_*` of `capture-ffi`
 * (the forge model). The bytes go out as given (the kernel only re-fills the IPv4 total length
 * and header checksum, which the builder computes the same way).
 *
 * Packets are copied into one batch buffer and cross the FFI boundary many at a time: `send`
 * takes a whole list, `queue` gathers packets from many callers and sends them together on the
 * next turn of the event loop.
 *
 * @example (Not run by `deno test --doc`: it needs CAP_NET_RAW and a packet to send.)
 * ```ts ignore
 * const raw = RawSender.open();
 * const [status] = raw.send([packetBytes]); // 0 sent, else minus errno
 * raw.close();
 * ```
 * @module
 */

import { libraryMessage, openProjectLibrary } from "./library.ts";
import { CaptureError, Status } from "./status.ts";

const SYMBOLS = {
  ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ps_raw_open: { parameters: ["buffer"], result: "i32" },
  ps_raw_send: { parameters: ["i64", "buffer", "u32", "u32", "buffer"], result: "i32" },
  ps_raw_close: { parameters: ["i64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Symbols | null = null;

/** The raw-send symbols of the project's library (src/ffi/library.ts finds and opens it). */
function symbols(): Symbols {
  lib ??= openProjectLibrary(SYMBOLS);
  return lib;
}

/** Default batch buffer: room for a few hundred typical forged packets. */
const DEFAULT_BATCH_BYTES = 256 * 1024;
/** Most packets per FFI call (the status array's size). */
const MAX_BATCH_PACKETS = 1024;

/** Sends of one queued packet before a full socket buffer counts as its failure. */
const MAX_TRIES = 5;

/** Linux errno values a caller may want to name. */
export const Errno = { EAGAIN: 11, ENOBUFS: 105, ENETUNREACH: 101, EAFNOSUPPORT: 97 } as const;

/** Sender of raw IPv4/IPv6 packets. Close it; closing twice is harmless. */
export class RawSender {
  #h: bigint;
  #s: Symbols;
  #buf: Uint8Array;
  #view: DataView;
  #status = new Int32Array(MAX_BATCH_PACKETS);
  #pending: { pkt: Uint8Array; resolve: (status: number) => void; tries: number }[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Packets handed to the kernel so far. */
  sent = 0;
  /** Packets the kernel refused so far. */
  failed = 0;

  private constructor(h: bigint, s: Symbols, batchBytes: number) {
    this.#h = h;
    this.#s = s;
    this.#buf = new Uint8Array(batchBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /**
   * Opens the raw sockets. Throws `CaptureError` with `Status.NOT_PERMITTED` without
   * CAP_NET_RAW, and a one-line message.
   */
  static open(batchBytes = DEFAULT_BATCH_BYTES): RawSender {
    const s = symbols();
    const out = new BigInt64Array(1);
    const st = s.ps_raw_open(out);
    if (st < 0) throw new CaptureError(st, libraryMessage(s));
    return new RawSender(out[0]!, s, batchBytes);
  }

  /**
   * Sends packets now, as few FFI calls as the buffer allows. Returns one status per packet:
   * 0 sent, else minus errno (e.g. `-Errno.ENETUNREACH`).
   */
  send(packets: readonly Uint8Array[]): Int32Array {
    const result = new Int32Array(packets.length);
    let i = 0;
    while (i < packets.length) {
      const start = i;
      let off = 0;
      while (i < packets.length && i - start < MAX_BATCH_PACKETS) {
        const p = packets[i]!;
        const need = (4 + p.length + 3) & ~3;
        if (need > this.#buf.length) {
          throw new CaptureError(Status.INVALID_ARGUMENT, `packet of ${p.length} bytes too big`);
        }
        if (off + need > this.#buf.length) break;
        this.#view.setUint32(off, p.length, true);
        this.#buf.set(p, off + 4);
        this.#buf.fill(0, off + 4 + p.length, off + need);
        off += need;
        i++;
      }
      const n = i - start;
      const r = this.#s.ps_raw_send(this.#h, this.#buf, off, n, this.#status);
      if (r < 0) throw new CaptureError(r, libraryMessage(this.#s));
      result.set(this.#status.subarray(0, n), start);
      this.sent += r;
      this.failed += n - r;
    }
    return result;
  }

  /**
   * Queues one packet; all packets queued in the same turn of the event loop go out together.
   * Resolves to its status (0 sent, else minus errno). A closed sender resolves to `-EBADF`.
   */
  queue(pkt: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.resolve(-9);
    return new Promise((resolve) => {
      this.#pending.push({ pkt, resolve, tries: 0 });
      if (this.#pending.length >= MAX_BATCH_PACKETS) this.flush();
      else this.#flushTimer ??= setTimeout(() => this.flush(), 0);
    });
  }

  /** Sends what `queue` gathered, now. */
  flush(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let statuses: Int32Array;
    try {
      statuses = this.send(batch.map((b) => b.pkt));
    } catch (e) {
      const code = e instanceof CaptureError ? e.code : Status.GENERIC;
      for (const b of batch) b.resolve(code);
      return;
    }
    let retry = false;
    batch.forEach((b, k) => {
      const st = statuses[k]!;
      // a full socket buffer empties within a millisecond or two: try such a packet again
      if ((st === -Errno.EAGAIN || st === -Errno.ENOBUFS) && b.tries < MAX_TRIES && !this.#closed) {
        b.tries++;
        this.#pending.push(b);
        retry = true;
      } else b.resolve(st);
    });
    if (retry) this.#flushTimer ??= setTimeout(() => this.flush(), 2);
  }

  /** Sends what is queued and closes the sockets. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    // packets still waiting for room give up now
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    for (const b of this.#pending) b.resolve(-Errno.EAGAIN);
    this.#pending = [];
    this.#s.ps_raw_close(this.#h);
  }
}

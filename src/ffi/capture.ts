/**
 * Packet sources (live interface, pcap/pcapng file) and the pcap writer, over the native library.
 *
 * (Not run by `deno test --doc`: it needs a capture file and the native library.)
 * ```ts ignore
 * const src = CaptureSource.openFile("trace.pcap");
 * const batch = new PacketBatch();
 * try {
 *   while (await src.next(batch, 1000) >= 0) {
 *     for (const off of batch.offsets()) handle(batch, off);
 *   }
 * } finally {
 *   src.close();
 * }
 * ```
 *
 * A truncated capture file delivers every complete record, then `next` throws a `CaptureError`
 * with code `Status.TRUNCATED` once (a caller may treat it as a warning), then returns -1.
 * Handles left open are closed when the program exits (the `unload` event), so a forgotten
 * `PcapWriter` is still flushed.
 * @module
 */

import { captureLibrary, type CaptureSymbols, libraryMessage } from "./library.ts";
import { DEFAULT_BATCH_BYTES, PacketBatch } from "./batch.ts";
import { CaptureError, Status } from "./status.ts";

export { PacketBatch } from "./batch.ts";
export { CaptureError, Status } from "./status.ts";

const encoder = new TextEncoder();

/** A NUL-terminated copy of `s` for a `const char*` argument. */
function cString(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) throw new CaptureError(Status.INVALID_ARGUMENT, "string contains NUL");
  return encoder.encode(s + "\0");
}

/** Throws the library's message for a failed call (with `handle`: see `libraryMessage`). */
function raise(lib: CaptureSymbols, status: number, context?: string, handle?: bigint): never {
  const msg = libraryMessage(lib, handle) || `error ${status}`;
  throw new CaptureError(status, context ? `${context}: ${msg}` : msg);
}

/** Something to close when the program exits. */
interface Closable {
  close(): void;
}
const openHandles = new Set<Closable>();
let exitHookInstalled = false;

function track(c: Closable): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    globalThis.addEventListener("unload", () => {
      for (const h of [...openHandles]) {
        try {
          h.close();
        } catch {
          // Exiting: nothing useful to do with a close error.
        }
      }
    });
  }
  openHandles.add(c);
}

/** A wait in ms for the library: -1 (no limit) for any negative value, at most 2^31-1. */
function clampWait(ms: number): number {
  return Math.max(-1, Math.min(ms, 0x7fffffff)) | 0;
}

/** Options of a live capture. */
export interface LiveOptions {
  /** Bytes kept per packet (default 65535). */
  snaplen?: number;
  /** Size of the kernel ring in MiB (default 32). */
  ringMiB?: number;
  /**
   * The kernel filter: "" (default) everything; "ip" IPv4 and IPv6 only; or a spec that keeps
   * only a run's own traffic, made by `runFilter` (see docs/architecture.md).
   */
  filter?: string;
}

/** What a measurement run's live capture keeps (`runFilter`). */
export interface RunFilter {
  /**
   * Ports and inclusive ranges `[low, high]`: a TCP or UDP packet passes when its source or its
   * destination port is one of them (so both directions of a connection to port 80 from any
   * ephemeral port). Empty: every port. At most 48 items.
   */
  ports: readonly (number | readonly [number, number])[];
  /** The transport protocols kept (default both). */
  protocols?: readonly ("tcp" | "udp")[];
  /** Keep ICMP and ICMPv6 error messages (unreachable, too big, time exceeded, parameter problem). Default true. */
  icmpErrors?: boolean;
}

function checkPort(p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    throw new CaptureError(Status.INVALID_ARGUMENT, `capture filter: bad port ${p}`);
  }
  return p;
}

/**
 * The filter spec of `LiveOptions.filter` for a run: e.g. `runFilter({ ports: [80, 443, 53,
 * [61000, 65535]] })` is `"tcp,udp;ports=80,443,53,61000-65535;icmp-errors"`. Beyond the ports,
 * the kernel also passes IPv4 fragments past the first (they carry no ports) and IPv6 packets
 * whose first next header is an extension header (it cannot look past it).
 */
export function runFilter(f: RunFilter): string {
  const protocols = f.protocols ?? ["tcp", "udp"];
  if (protocols.length === 0 && (f.icmpErrors === false || f.ports.length > 0)) {
    throw new CaptureError(
      Status.INVALID_ARGUMENT,
      "capture filter: ports need a protocol, and a filter without protocols keeps ICMP errors",
    );
  }
  const parts: string[] = [];
  if (protocols.length > 0) parts.push([...new Set(protocols)].join(","));
  if (f.ports.length > 0) {
    parts.push(
      "ports=" +
        f.ports.map((p) =>
          typeof p === "number" ? String(checkPort(p)) : `${checkPort(p[0])}-${checkPort(p[1])}`
        ).join(","),
    );
  }
  if (f.icmpErrors ?? true) parts.push("icmp-errors");
  return parts.join(";");
}

/** Packet counters of a source. */
export interface CaptureStats {
  /** Live: packets accepted by the socket filter (libpcap's ps_recv); file: packets read. */
  received: number;
  /** Live: packets the kernel dropped because the ring was full; file: 0. */
  dropped: number;
  /** Live: packets the interface dropped since the capture opened; file: 0. */
  ifDropped: number;
}

/** A source of packet batches: a live interface or a capture file. */
export class CaptureSource {
  readonly #lib: CaptureSymbols;
  #handle: bigint | undefined;
  /** Whether this is a live interface capture. */
  readonly live: boolean;
  /** The interface name or file path. */
  readonly name: string;

  private constructor(lib: CaptureSymbols, handle: bigint, live: boolean, name: string) {
    this.#lib = lib;
    this.#handle = handle;
    this.live = live;
    this.name = name;
    track(this);
  }

  /** Opens a live capture on interface `iface` (needs CAP_NET_RAW). */
  static openLive(iface: string, opts: LiveOptions = {}): CaptureSource {
    const lib = captureLibrary();
    const out = new BigInt64Array(1);
    const filter = opts.filter ?? "";
    const st = lib.ps_capture_open_live(
      cString(iface),
      opts.snaplen ?? 0,
      opts.ringMiB ?? 0,
      cString(filter),
      out,
    );
    if (st < 0) raise(lib, st);
    return new CaptureSource(lib, out[0]!, true, iface);
  }

  /** Opens a pcap or pcapng file. */
  static openFile(path: string): CaptureSource {
    const lib = captureLibrary();
    const out = new BigInt64Array(1);
    const st = lib.ps_capture_open_file(cString(path), out);
    if (st < 0) raise(lib, st);
    return new CaptureSource(lib, out[0]!, false, path);
  }

  #open(): bigint {
    if (this.#handle === undefined) {
      throw new CaptureError(Status.CLOSED_HANDLE, `capture ${this.name} is closed`);
    }
    return this.#handle;
  }

  /**
   * Fills `batch` and returns the number of records (also stored in `batch.count`): live, 0 if
   * nothing arrived within `timeoutMs`; file, -1 at the end (`timeoutMs` is ignored).
   */
  async next(batch: PacketBatch, timeoutMs: number): Promise<number> {
    if (!this.live) return this.nextSync(batch);
    const h = this.#open();
    const n = await this.#lib.ps_capture_next_live(
      h,
      batch.buf,
      batch.buf.length,
      Math.max(0, Math.min(timeoutMs, 0x7fffffff)) | 0,
    );
    return this.#result(batch, n, h);
  }

  /**
   * Like `next` for a file, without a promise: the library reads the file ahead on a thread of
   * its own, so a batch is usually ready. Waits up to `timeoutMs` for one (negative, the default:
   * as long as it takes; a pipe can be quiet) and returns 0 if none came. Every call must pass a
   * batch at least as large as the first call's.
   */
  nextSync(batch: PacketBatch, timeoutMs = -1): number {
    const h = this.#open();
    if (this.#primed !== 0) {
      throw new CaptureError(Status.INVALID_ARGUMENT, "a capture read ahead is read with take");
    }
    const n = this.#lib.ps_capture_next(h, batch.buf, batch.buf.length, clampWait(timeoutMs));
    return this.#result(batch, n, h);
  }

  /**
   * For a file: takes the next batch without copying it. The library reads the file ahead on a
   * thread of its own and lends its batches (`bytes` each, fixed by the first call); the one
   * taken is `this.taken` and may be read until the next `take`/`next` or `close`, never after.
   * Waits up to `timeoutMs` (negative, the default: as long as it takes) and returns the number
   * of records, 0 if none came, -1 at the end; a truncated file throws `TRUNCATED` once.
   */
  take(timeoutMs = -1, bytes = DEFAULT_BATCH_BYTES): number {
    const h = this.#open();
    if (this.#primed !== 0) return this.#lend(h, this.#unprime(), bytes);
    return this.#lend(
      h,
      this.#lib.ps_capture_take(h, bytes, clampWait(timeoutMs), this.#ptr),
      bytes,
    );
  }

  /**
   * `take`, waiting on Deno's blocking pool instead of this thread: the event loop turns while it
   * waits, and only then does it see signals (a loop of synchronous calls would hold SIGINT back).
   */
  async takeAsync(timeoutMs = -1, bytes = DEFAULT_BATCH_BYTES): Promise<number> {
    const h = this.#open();
    if (this.#primed !== 0) return this.#lend(h, this.#unprime(), bytes);
    const n = await this.#lib.ps_capture_take_wait(h, bytes, clampWait(timeoutMs), this.#ptr);
    return this.#lend(h, n, bytes);
  }

  /**
   * For a file that will be read with `take`: starts the library's read-ahead now, with batches
   * of `bytes` (what `take` must then pass), so that the first batch is read while the caller
   * sets up rather than when it first asks. Nothing is lost: a batch (or the end, or an error)
   * that is ready at once is what the next `take` returns.
   */
  readAhead(bytes = DEFAULT_BATCH_BYTES): void {
    const h = this.#open();
    if (this.#primed !== 0) return;
    this.#primed = this.#lib.ps_capture_take(h, bytes, 0, this.#ptr);
  }

  /** The result `readAhead` got (its batch, if any, still lent: `#ptr` holds its address). */
  #unprime(): number {
    const n = this.#primed;
    this.#primed = 0;
    return n;
  }

  #lend(h: bigint, n: number, bytes: number): number {
    if (n <= 0) {
      this.#taken.count = 0;
      if (n === 0) return 0;
      if (n === Status.EOF) return -1;
      raise(this.#lib, n, this.name, h);
    }
    // the library recycles a few buffers: one view each, made once
    const addr = this.#ptr[0]!;
    let batch = this.#views.get(addr);
    if (batch === undefined) {
      const p = Deno.UnsafePointer.create(addr);
      if (p === null) throw new CaptureError(Status.GENERIC, "capture library lent a null batch");
      batch = new PacketBatch(Deno.UnsafePointerView.getArrayBuffer(p, bytes));
      this.#views.set(addr, batch);
    }
    batch.count = n;
    this.#taken = batch;
    return n;
  }

  /** The batch of the last `take` (empty before the first); see `take` for how long it lives. */
  get taken(): PacketBatch {
    return this.#taken;
  }

  readonly #ptr = new BigUint64Array(1);
  /** What `readAhead`'s call returned, until `take` hands it out (0: nothing pending). */
  #primed = 0;
  readonly #views = new Map<bigint, PacketBatch>();
  #taken = new PacketBatch(64);

  #result(batch: PacketBatch, n: number, h: bigint): number {
    if (n >= 0) {
      batch.count = n;
      return n;
    }
    batch.count = 0;
    if (n === Status.EOF) return -1;
    raise(this.#lib, n, this.name, h);
  }

  /** Packet counters. */
  stats(): CaptureStats {
    const out = new BigUint64Array(3);
    const st = this.#lib.ps_capture_stats(this.#open(), out);
    if (st < 0) raise(this.#lib, st, this.name);
    return { received: Number(out[0]), dropped: Number(out[1]), ifDropped: Number(out[2]) };
  }

  /** Closes the source; closing twice does nothing. */
  close(): void {
    if (this.#handle === undefined) return;
    const h = this.#handle;
    this.#handle = undefined;
    openHandles.delete(this);
    // lent batches die with the handle: drop the views
    this.#views.clear();
    this.#taken = new PacketBatch(64);
    this.#lib.ps_capture_close(h);
  }
}

/**
 * Writes batches to a nanosecond pcap file. A pcap file has one link type: records of another
 * link type are skipped and counted in `skipped`.
 */
export class PcapWriter {
  readonly #lib: CaptureSymbols;
  #handle: bigint | undefined;
  /** The file path. */
  readonly path: string;
  /** Records written so far. */
  written = 0;
  /** Records skipped so far because their link type differs from the file's. */
  skipped = 0;

  private constructor(lib: CaptureSymbols, handle: bigint, path: string) {
    this.#lib = lib;
    this.#handle = handle;
    this.path = path;
    track(this);
  }

  /**
   * Creates (or truncates) `path`. `linktype` 0 (default) takes the first record's link type;
   * `snaplen` 0 (default) means 262144.
   */
  static open(path: string, linktype = 0, snaplen = 0): PcapWriter {
    const lib = captureLibrary();
    const out = new BigInt64Array(1);
    const st = lib.ps_pcap_writer_open(cString(path), linktype, snaplen, out);
    if (st < 0) raise(lib, st);
    return new PcapWriter(lib, out[0]!, path);
  }

  /** Writes the `batch.count` records of `batch`; returns how many were written. */
  write(batch: PacketBatch): number {
    if (this.#handle === undefined) {
      throw new CaptureError(Status.CLOSED_HANDLE, `pcap writer ${this.path} is closed`);
    }
    const n = this.#lib.ps_pcap_writer_write(
      this.#handle,
      batch.buf,
      batch.buf.length,
      batch.count,
    );
    if (n < 0) raise(this.#lib, n, this.path);
    this.written += n;
    this.skipped += batch.count - n;
    return n;
  }

  /** Flushes and closes the file; closing twice does nothing. */
  close(): void {
    if (this.#handle === undefined) return;
    const h = this.#handle;
    this.#handle = undefined;
    openHandles.delete(this);
    const st = this.#lib.ps_pcap_writer_close(h);
    if (st < 0) raise(this.#lib, st, this.path);
  }
}

/**
 * Sends TTL-limited probes on the raw-socket path and matches what comes back: an ICMP(v6)
 * time-exceeded (a router at that hop, with its quotation of the probe), a destination
 * unreachable, or the target's own answer (any TCP segment or UDP datagram from the probed
 * port back to the probe's port).
 *
 * Answers are read from a capture of their own on the run's interface (kernel filter: the probe
 * ports and ICMP errors) rather than from the run's observer: the observer turns packets into
 * flow records and keeps no quotation bytes, and a capture socket needs no ICMP socket per
 * family nor any change to the run's pump. Each probe has a source port of its own, so an
 * answer names its probe by (target, protocol, port).
 *
 * @module
 */

import { PacketBatch } from "../ffi/batch.ts";
import { CaptureSource, runFilter } from "../ffi/capture.ts";
import { RawSender } from "../ffi/raw.ts";
import { PacketView } from "../observer/packet.ts";
import { PARSE_OK, PARSE_OK_MALFORMED, parseRecord } from "../observer/parse.ts";
import { buildPacket, type PacketSpec } from "../wire/build.ts";
import { ICMP4_TIME_EXCEEDED, ICMP6_TIME_EXCEEDED, IcmpQuote, optionMap } from "../wire/icmp.ts";
import { canonicalIp } from "../wire/ip.ts";

/** What a quotation showed of the probe. */
export interface Quoted {
  /** ToS / traffic class byte. */
  tos: number;
  /** IPv4 reserved ("evil") flag. */
  evil: boolean;
  /** TCP flags (nine bits), -1 when not quoted (UDP, or 8 bytes of TCP). */
  flags: number;
  /** TCP options by kind (hex values), null when the whole TCP header is not quoted. */
  options: Map<number, string> | null;
}

/** One probe's answer. */
export interface Answer {
  /** `hop`: time exceeded; `unreachable`: destination unreachable (or another error); `target`. */
  kind: "hop" | "unreachable" | "target";
  /** The address that answered. */
  from: string;
  /** The quotation's fields (null for the target's own answer). */
  quote: Quoted | null;
}

/** Sends one probe and resolves to its answer, or null when none came in time. */
export interface ProbeIo {
  probe(spec: PacketSpec): Promise<Answer | null>;
}

/** Options of {@link Tracer.open}. */
export interface TracerOptions {
  /** How long to wait for a probe's answer (ms). */
  waitMs: number;
  /** Source ports of the probes (inclusive). */
  ports: readonly [number, number];
  /** Resolves when the next probe may go (the run's pacing); absent: no pacing. */
  pace?: () => Promise<void>;
}

interface Pending {
  resolve: (a: Answer | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

function keyOf(dst: string, proto: number, port: number): string {
  return `${dst}|${proto}|${port}`;
}

/** The probe path: a raw sender, a capture for the answers, and the probes in flight. */
export class Tracer implements ProbeIo, AsyncDisposable {
  readonly #raw: RawSender;
  readonly #cap: CaptureSource;
  readonly #pending = new Map<string, Pending>();
  readonly #opts: TracerOptions;
  #closed = false;
  #loop: Promise<void>;
  /** Probes sent. */
  sent = 0;

  private constructor(raw: RawSender, cap: CaptureSource, opts: TracerOptions) {
    this.#raw = raw;
    this.#cap = cap;
    this.#opts = opts;
    this.#loop = this.#receive();
  }

  /** Opens the raw sender and the capture on `iface`. Throws CaptureError (one line). */
  static open(iface: string, opts: TracerOptions): Tracer {
    const cap = CaptureSource.openLive(iface, {
      snaplen: 2048,
      ringMiB: 4,
      filter: runFilter({ ports: [[opts.ports[0], opts.ports[1]]], icmpErrors: true }),
    });
    let raw: RawSender;
    try {
      raw = RawSender.open();
    } catch (e) {
      cap.close();
      throw e;
    }
    return new Tracer(raw, cap, opts);
  }

  async probe(spec: PacketSpec): Promise<Answer | null> {
    if (this.#closed) return null;
    await this.#opts.pace?.();
    const l4 = spec.l4;
    const key = keyOf(canonicalIp(spec.dst), l4.proto === "tcp" ? 6 : 17, l4.sport);
    const answer = new Promise<Answer | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        resolve(null);
      }, this.#opts.waitMs);
      this.#pending.set(key, { resolve, timer });
    });
    this.sent++;
    const st = await this.#raw.queue(buildPacket(spec));
    if (st !== 0) this.#settle(key, null);
    return answer;
  }

  #settle(key: string, a: Answer | null): void {
    const p = this.#pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(key);
    p.resolve(a);
  }

  async #receive(): Promise<void> {
    const batch = new PacketBatch(1 << 20);
    const pkt = new PacketView();
    const q = new IcmpQuote();
    while (!this.#closed) {
      let n: number;
      try {
        n = await this.#cap.next(batch, 50);
      } catch {
        return;
      }
      for (let i = 0, off = 0; i < n; i++, off = batch.nextOffset(off)) {
        if (this.#pending.size === 0) break;
        const st = parseRecord(pkt, batch.buf, batch.view, off);
        if (st !== PARSE_OK && st !== PARSE_OK_MALFORMED) continue;
        this.#match(pkt, q);
      }
    }
  }

  #match(pkt: PacketView, q: IcmpQuote): void {
    const b = pkt.buf;
    if (pkt.proto === 1 || pkt.proto === 58) {
      if (pkt.icmpOff < 0) return;
      const v = pkt.ipVersion as 4 | 6;
      if (!q.parse(b, pkt.icmpOff, pkt.ipEnd, v) || q.sport < 0) return;
      const key = keyOf(q.dst(), q.proto, q.sport);
      if (!this.#pending.has(key)) return;
      const opts = q.tcpOptions();
      const timeExceeded = q.type === (v === 4 ? ICMP4_TIME_EXCEEDED : ICMP6_TIME_EXCEEDED);
      const from = pkt.srcAddr();
      this.#settle(key, {
        kind: timeExceeded ? "hop" : from === q.dst() ? "target" : "unreachable",
        from,
        quote: {
          tos: q.tos,
          evil: (q.fragWord & 0x8000) !== 0,
          flags: q.proto === 6 ? q.tcpFlags() : -1,
          options: q.proto === 6 && opts ? optionMap(opts) : null,
        },
      });
      return;
    }
    if ((pkt.proto === 6 && pkt.tcpOff >= 0) || (pkt.proto === 17 && pkt.udpOff >= 0)) {
      const l4 = pkt.proto === 6 ? pkt.tcpOff : pkt.udpOff;
      const dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
      const from = pkt.srcAddr();
      this.#settle(keyOf(from, pkt.proto, dport), { kind: "target", from, quote: null });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Answers every probe in flight with null, closes the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const key of [...this.#pending.keys()]) this.#settle(key, null);
    this.#raw.close();
    await this.#loop;
    this.#cap.close();
  }
}

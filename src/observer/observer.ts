/**
 * The observer: assigns packets of capture batches to flows and runs the chains over them, with
 * the original's flow semantics (pathspider/observer.py):
 *
 * - A flow is found by its forward id, else its reverse id (`rev` true); an ICMP error is keyed by
 *   its quotation, reversed. Ignored ids (vetoed by a `newFlow`) drop their packets until flush.
 * - A new record starts with `pkt_first`, then every chain's `newFlow` fields, then `pkt_last`,
 *   which every later packet updates (also while the flow is expiring).
 * - The packet clock advances in 1-second bins (`ceil(seconds)`); every bin passed completes the
 *   flows idle since `idleTimeout` seconds and emits the completed flows whose expiry bin it is.
 *   A flow completed (by a chain or idleness) is emitted in bin `ceil(clock + expiryTimeout)`,
 *   where the clock is the bin reached before the current advance, exactly as the original (so a
 *   flow that goes idle during a long gap only leaves at flush).
 * - `flush()` emits the expiring flows, then the active ones, and forgets the ignored ids.
 *
 * The observer does no I/O: it is fed batches and hands finished records to `emit`.
 *
 * @module
 */

import { TCP_RST } from "../wire/tcp.ts";
import type { Chain, FlowRecord } from "./chain.ts";
import {
  type NewFlowDispatch,
  newFlowDispatch,
  type PacketDispatch,
  packetDispatch,
} from "./dispatch.ts";
import { PacketView } from "./packet.ts";
import { PARSE_MALFORMED, PARSE_NONIP, PARSE_OK, PARSE_SHORT, parseRecord } from "./parse.ts";
import { ACTIVE, EXPIRING, FlowEntry, FlowTable, IdleBins, IGNORED, keyHash } from "./flowtable.ts";

/** A batch of capture records (see docs/architecture.md); `PacketBatch` satisfies it. */
export interface BatchLike {
  buf: Uint8Array;
  view: DataView;
  count: number;
}

/** Counters of what the observer has seen (the original's `_ct_*`, plus malformed). */
export interface ObserverCounters {
  /** Packets read. */
  packets: number;
  /** Packets that were not IP. */
  nonIp: number;
  /** IP packets without a usable flow key (truncated header, non-first fragment). */
  short: number;
  /** Packets with an invalid IP header (skipped) or a truncated transport header (counted). */
  malformed: number;
  /** Flows created. */
  flows: number;
  /** Flows vetoed by a chain. */
  ignored: number;
  /** Flow records emitted. */
  emitted: number;
}

/** Options of an observer. */
export interface ObserverOptions {
  /** Called with every finished flow record. */
  emit: (rec: FlowRecord) => void;
  /** Seconds without packets after which an active flow completes (default 30). */
  idleTimeout?: number;
  /** Seconds a completed flow waits for late packets before it is emitted (default 5). */
  expiryTimeout?: number;
  /**
   * Emit a TCP flow at once when its responder resets it, instead of after the expiry timeout
   * (default false, as the original). After a reset from the far end nothing more can come on
   * that connection from either side; `measure` uses this so that a refused connection's job
   * is not held for seconds.
   */
  resetIsFinal?: boolean;
}

/**
 * A function that returns a new object with the keys of `first` (plus `pkt_last`) in the same
 * order, every value null but the packet times. Records made this way have their final shape
 * from the start, instead of growing through ~30 hidden-class transitions per flow. Chains set
 * the same fields in `newFlow` for every flow (the chain contract), so the key order is the one
 * the original's dict would have.
 */
function recordFactory(first: FlowRecord): () => FlowRecord {
  const keys = Object.keys(first);
  if (!keys.includes("pkt_last")) keys.push("pkt_last");
  const body = keys.map((k) =>
    `${JSON.stringify(k)}: ${k === "pkt_first" || k === "pkt_last" ? "0.5" : "null"}`
  );
  const make = new Function(`return () => ({${body.join(", ")}});`)() as () => FlowRecord;
  // Chains later store numbers, booleans or strings where the record starts with null. Each first
  // such store would change the record's hidden class and throw away the optimised code of every
  // hook that saw it. Doing it once here, on a throwaway record, settles the fields' types before
  // any hook runs. (The packet times stay plain doubles, updated in place.)
  const scratch = make();
  for (const k of keys) {
    if (k === "pkt_first" || k === "pkt_last") continue;
    scratch[k] = 1;
    scratch[k] = "";
    scratch[k] = null;
  }
  return make;
}

/** Assigns packets to flows and runs chains; see the module documentation. */
export class Observer {
  /** What has been seen so far. */
  readonly counters: ObserverCounters = {
    packets: 0,
    nonIp: 0,
    short: 0,
    malformed: 0,
    flows: 0,
    ignored: 0,
    emitted: 0,
  };
  /** The chains, in the order their hooks run. */
  readonly chains: readonly Chain[];
  /** Record fields whose values are floats (`pkt_first`, `pkt_last` and the chains' own). */
  readonly floatFields: ReadonlySet<string>;

  private readonly pkt = new PacketView();
  private readonly table = new FlowTable();
  private readonly emitFn: (rec: FlowRecord) => void;
  private readonly idleTimeout: number;
  private readonly expiryTimeout: number;
  private readonly resetIsFinal: boolean;
  // one generated dispatcher per hook (see dispatch.ts)
  private readonly newFlowHooks: NewFlowDispatch;
  private readonly ip4Hooks: PacketDispatch;
  private readonly ip6Hooks: PacketDispatch;
  private readonly icmp4Hooks: PacketDispatch;
  private readonly icmp6Hooks: PacketDispatch;
  private readonly tcpHooks: PacketDispatch;
  private readonly udpHooks: PacketDispatch;
  /** Quantised packet clock (the original's `_ptq`); -0 keeps the field a double (PacketView). */
  private ptq = -0;
  private readonly idleBins = new IdleBins();
  private readonly expiryBins = new Map<number, FlowEntry[]>();
  private seq = 0;
  private cseq = 0;
  /** Creates a record with every field of the first flow already in place (see recordFactory). */
  private makeRecord: (() => FlowRecord) | null = null;

  constructor(chains: readonly Chain[], opts: ObserverOptions) {
    this.chains = chains;
    this.emitFn = opts.emit;
    this.idleTimeout = opts.idleTimeout ?? 30;
    this.expiryTimeout = opts.expiryTimeout ?? 5;
    this.resetIsFinal = opts.resetIsFinal ?? false;
    this.newFlowHooks = newFlowDispatch(chains);
    this.ip4Hooks = packetDispatch(chains, "ip4");
    this.ip6Hooks = packetDispatch(chains, "ip6");
    this.icmp4Hooks = packetDispatch(chains, "icmp4");
    this.icmp6Hooks = packetDispatch(chains, "icmp6");
    this.tcpHooks = packetDispatch(chains, "tcp");
    this.udpHooks = packetDispatch(chains, "udp");
    const ff = new Set(["pkt_first", "pkt_last"]);
    for (const c of chains) for (const f of c.floatFields ?? []) ff.add(f);
    this.floatFields = ff;
  }

  /** Number of flows held (active, expiring and ignored). */
  get held(): number {
    return this.table.size;
  }

  /** Processes every record of the batch. */
  push(batch: BatchLike): void {
    const buf = batch.buf;
    const dv = batch.view;
    const n = batch.count;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const caplen = dv.getUint32(off + 8, true); // REC_CAPLEN
      this.packet(buf, dv, off);
      off += (20 + caplen + 3) & ~3; // recordSize (literals on this path: see parse.ts)
    }
  }

  private packet(buf: Uint8Array, dv: DataView, off: number): void {
    const pkt = this.pkt;
    const c = this.counters;
    c.packets++;
    const status = parseRecord(pkt, buf, dv, off);
    // the clock advances with every packet, IP or not
    const next = Math.ceil(pkt.seconds);
    if (next > this.ptq) this.tick(next);
    if (status !== PARSE_OK) {
      if (status === PARSE_NONIP) {
        c.nonIp++;
        return;
      }
      if (status === PARSE_SHORT) {
        c.short++;
        return;
      }
      c.malformed++;
      if (status === PARSE_MALFORMED) return;
    }

    // the packet's forward id is the reverse one when it comes from an ICMP quotation
    const quoted = pkt.kQuoted;
    const fh = keyHash(pkt, quoted);
    let e = this.table.find(pkt, quoted, fh);
    let rev: boolean;
    let rh = 0;
    if (e === null) {
      rh = keyHash(pkt, !quoted);
      e = this.table.find(pkt, !quoted, rh);
      // found by its reverse id: reverse; a new flow: reverse only if both ids are equal
      rev = e !== null || this.sameKeys(pkt);
    } else {
      // forward and reverse ids equal: the original then reports every packet as reverse
      rev = this.sameKeys(pkt);
    }
    let rec: FlowRecord;
    if (e === null) {
      const make = this.makeRecord;
      if (make !== null) {
        rec = make();
        rec.pkt_first = pkt.seconds;
      } else rec = { pkt_first: pkt.seconds };
      if (!this.newFlowHooks(rec, pkt)) {
        const ig = this.table.insert(pkt, quoted, fh);
        ig.state = IGNORED;
        c.ignored++;
        return;
      }
      if (make === null) {
        // The first record grew field by field: move it into one of the factory's shape, so that
        // the packet hooks and the serialiser only ever see records of one hidden class (a
        // second one would make every field access of theirs polymorphic).
        const next = recordFactory(rec);
        this.makeRecord = next;
        const first = next();
        for (const k in rec) first[k] = rec[k];
        rec = first;
      }
      e = this.table.insert(pkt, quoted, fh);
      e.rec = rec;
      e.seq = this.seq++;
      c.flows++;
    } else {
      if (e.state === IGNORED) return;
      rec = e.rec!;
    }
    rec.pkt_last = pkt.seconds;
    if (e.state === ACTIVE) {
      const bin = Math.ceil(pkt.seconds + this.idleTimeout);
      if (bin > e.idleBin) this.idleBins.move(e, bin);
    }

    // hooks, with Python's `keep and fn(...)` short-circuit: the first false stops the packet
    let keep: boolean;
    if (pkt.ipVersion === 4) {
      keep = this.ip4Hooks(rec, pkt, rev);
      if (keep && pkt.icmpOff >= 0) keep = this.icmp4Hooks(rec, pkt, rev);
    } else {
      keep = this.ip6Hooks(rec, pkt, rev);
      if (keep && pkt.icmpOff >= 0) keep = this.icmp6Hooks(rec, pkt, rev);
    }
    if (keep) {
      if (pkt.tcpOff >= 0) keep = this.tcpHooks(rec, pkt, rev);
      else if (pkt.udpOff >= 0) keep = this.udpHooks(rec, pkt, rev);
    }
    if (rev && this.resetIsFinal && pkt.tcpOff >= 0 && (pkt.tcpFlags & TCP_RST) !== 0) {
      // reset by the responder: final, emitted now (see ObserverOptions.resetIsFinal)
      this.emitEntry(e);
    } else if (!keep) this.complete(e);
  }

  /** True when the packet's forward and reverse keys are the same bytes. */
  private sameKeys(p: PacketView): boolean {
    return p.ka0 === p.kb0 && p.ka1 === p.kb1 && p.ka2 === p.kb2 && p.ka3 === p.kb3 &&
      p.kPorts === p.kRevPorts;
  }

  /** Moves an active flow to the expiring table (the original's `_flow_complete`). */
  private complete(e: FlowEntry): void {
    if (e.state !== ACTIVE) return;
    this.idleBins.unlink(e);
    e.state = EXPIRING;
    e.cseq = this.cseq++;
    const bin = Math.ceil(this.ptq + this.expiryTimeout);
    const list = this.expiryBins.get(bin);
    if (list === undefined) this.expiryBins.set(bin, [e]);
    else list.push(e);
  }

  /** Advances the quantised packet clock to `next` (> ptq), processing every bin passed. */
  private tick(next: number): void {
    if (this.ptq === 0) {
      this.ptq = next;
      return;
    }
    const old = this.ptq;
    if (next - old <= 64) {
      for (let b = old + 1; b <= next; b++) this.processBin(b);
    } else {
      // a long gap: visit only the bins that hold something, plus the one the flows completed
      // during this advance expire in
      const bins = new Set<number>();
      for (const b of this.idleBins.keys()) if (b > old && b <= next) bins.add(b);
      for (const b of this.expiryBins.keys()) if (b > old && b <= next) bins.add(b);
      const exp = Math.ceil(old + this.expiryTimeout);
      if (exp > old && exp <= next) bins.add(exp);
      const sorted = [...bins].sort((a, b) => a - b);
      for (const b of sorted) this.processBin(b);
    }
    this.ptq = next;
  }

  private processBin(b: number): void {
    const idle = this.idleBins.take(b);
    for (let i = 0; i < idle.length; i++) this.complete(idle[i]!);
    const exp = this.expiryBins.get(b);
    if (exp !== undefined) {
      // the list may grow while we walk it (flows completed in this very bin)
      for (let i = 0; i < exp.length; i++) {
        const e = exp[i]!;
        if (e.state === EXPIRING) this.emitEntry(e);
      }
      this.expiryBins.delete(b);
    }
  }

  /** Emits a flow and drops it from the table and its idle bin (its expiry list checks DEAD). */
  private emitEntry(e: FlowEntry): void {
    const rec = e.rec!;
    this.idleBins.unlink(e);
    this.table.remove(e);
    e.rec = null;
    this.counters.emitted++;
    this.emitFn(rec);
  }

  /**
   * Emits every flow still held: the expiring ones (in the order they completed), then the active
   * ones (in the order they started), and forgets the ignored ids.
   */
  flush(): void {
    const all = this.table.entries();
    const expiring = all.filter((e) => e.state === EXPIRING).sort((a, b) => a.cseq - b.cseq);
    const active = all.filter((e) => e.state === ACTIVE).sort((a, b) => a.seq - b.seq);
    this.table.clear();
    this.idleBins.clear();
    this.expiryBins.clear();
    for (const e of expiring) this.emitRec(e);
    for (const e of active) this.emitRec(e);
  }

  private emitRec(e: FlowEntry): void {
    const rec = e.rec!;
    e.rec = null;
    this.counters.emitted++;
    this.emitFn(rec);
  }
}

/**
 * The flow table: flows keyed by the original's flow id (addresses, key protocol byte, up to four
 * port bytes), in a chained hash table over a power-of-two bucket array. Keys are numbers, never
 * strings: a lookup hashes the words the parser left in the packet view and compares them.
 *
 * @module
 */

import type { FlowRecord } from "./chain.ts";
import type { PacketView } from "./packet.ts";

/** Flow states, as the original's tables: active, expiring, ignored. */
export const ACTIVE = 0;
/** Completed, waiting for its expiry bin. */
export const EXPIRING = 1;
/** Vetoed by a chain's `newFlow`; its packets are dropped until the next flush. */
export const IGNORED = 2;
/** Removed from the table (emitted). */
export const DEAD = 3;

/** One flow: its key, state, record and timer bins. */
export class FlowEntry {
  next: FlowEntry | null = null;
  state = ACTIVE;
  rec: FlowRecord | null = null;
  /** Idle bin (the original's `_idle_bin`, kept out of the record); -0: a double from the start. */
  idleBin = -0;
  /**
   * Neighbours in the list of its idle bin (`IdleBins`). Intrusive links, so that a flow leaving
   * its bin early (completed, emitted) is unlinked at once instead of being held by a list until
   * the bin comes due: in `measure`, at thousands of flows per second, those leftovers were a
   * fifth of the heap.
   */
  idlePrev: FlowEntry | null = null;
  idleNext: FlowEntry | null = null;
  /** Order of creation (flush emits active flows in this order). */
  seq = 0;
  /** Order of completion (flush emits expiring flows in this order). */
  cseq = 0;
  constructor(
    readonly hash: number,
    readonly v6: boolean,
    readonly a0: number,
    readonly a1: number,
    readonly a2: number,
    readonly a3: number,
    readonly b0: number,
    readonly b1: number,
    readonly b2: number,
    readonly b3: number,
    readonly proto: number,
    readonly portLen: number,
    readonly ports: number,
  ) {}
}

// One entry built with doubles in every key field fixes their representation before real entries
// exist, so that optimised code never sees the entry shape change (see PacketView).
new FlowEntry(0, false, -0, -0, -0, -0, -0, -0, -0, -0, 0, 0, -0);

/** The head and tail of one idle bin's list. */
class BinList {
  head: FlowEntry | null = null;
  tail: FlowEntry | null = null;
}

/**
 * Active flows by idle bin: one doubly linked list per bin, in the order the flows entered it. A
 * flow is in at most one list (the bin of its last packet), and leaves it in O(1).
 */
export class IdleBins {
  #bins = new Map<number, BinList>();

  /** Moves `e` to the tail of bin `bin` (out of its previous bin, if any). */
  move(e: FlowEntry, bin: number): void {
    if (e.idleBin > 0) this.unlink(e);
    e.idleBin = bin;
    let list = this.#bins.get(bin);
    if (list === undefined) {
      list = new BinList();
      this.#bins.set(bin, list);
    }
    e.idlePrev = list.tail;
    e.idleNext = null;
    if (list.tail === null) list.head = e;
    else list.tail.idleNext = e;
    list.tail = e;
  }

  /** Takes `e` out of its bin's list (no-op when it is in none). */
  unlink(e: FlowEntry): void {
    const bin = e.idleBin;
    if (bin <= 0) return;
    const list = this.#bins.get(bin);
    if (list !== undefined) {
      if (e.idlePrev === null) list.head = e.idleNext;
      else e.idlePrev.idleNext = e.idleNext;
      if (e.idleNext === null) list.tail = e.idlePrev;
      else e.idleNext.idlePrev = e.idlePrev;
      if (list.head === null) this.#bins.delete(bin);
    }
    e.idlePrev = e.idleNext = null;
    // -0, not 0: the field stays a double (see FlowEntry)
    e.idleBin = -0;
  }

  /** Removes bin `bin` and returns its flows in order (empty when it holds none). */
  take(bin: number): FlowEntry[] {
    const list = this.#bins.get(bin);
    if (list === undefined) return [];
    this.#bins.delete(bin);
    const out: FlowEntry[] = [];
    for (let e = list.head; e !== null;) {
      const next = e.idleNext;
      e.idlePrev = e.idleNext = null;
      e.idleBin = -0;
      out.push(e);
      e = next;
    }
    return out;
  }

  /** The bins that hold flows. */
  keys(): IterableIterator<number> {
    return this.#bins.keys();
  }

  /** Forgets every bin (the flows keep stale links; they are dropped with the table). */
  clear(): void {
    this.#bins.clear();
  }
}

/**
 * The hash seed of this process, random: keys crafted to collide (spoofed packets that all land
 * in one bucket and turn every lookup into a walk of the whole chain) cannot be chosen without it.
 */
const [SEED = 0] = crypto.getRandomValues(new Int32Array(1));

/**
 * Mixes one key word into the state. Two multiplications with an xor-shift between them: the
 * word's top bit (the only one a multiplication moves without carries) is spread down by the
 * shift and then through carries that depend on the state, i.e. on the seed, so no difference
 * between two keys cancels the same way for every seed. (A single multiply-rotate step, as
 * before, let a chosen port word cancel any address: 20,000 crafted flows shared one bucket.)
 */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  h ^= h >>> 15;
  return Math.imul(h, 0x85ebca77);
}

/** Hash of the forward key (`rev` false) or of the reverse key (`rev` true) of the packet. */
export function keyHash(p: PacketView, rev: boolean): number {
  let h = SEED;
  if (p.ipVersion === 6) {
    // every word of both addresses: a fold of them first would collide for every seed alike
    if (rev) {
      h = mix(mix(mix(mix(h, p.kb0), p.kb1), p.kb2), p.kb3);
      h = mix(mix(mix(mix(h, p.ka0), p.ka1), p.ka2), p.ka3);
      h = mix(h, p.kRevPorts);
    } else {
      h = mix(mix(mix(mix(h, p.ka0), p.ka1), p.ka2), p.ka3);
      h = mix(mix(mix(mix(h, p.kb0), p.kb1), p.kb2), p.kb3);
      h = mix(h, p.kPorts);
    }
    h = mix(h, 0x60000 | (p.kProto << 8) | p.kPortLen);
  } else if (rev) {
    h = mix(mix(mix(h, p.kb0), p.ka0), p.kRevPorts);
    h = mix(h, (p.kProto << 8) | p.kPortLen);
  } else {
    h = mix(mix(mix(h, p.ka0), p.kb0), p.kPorts);
    h = mix(h, (p.kProto << 8) | p.kPortLen);
  }
  h ^= h >>> 16;
  // small integers stay unboxed in V8
  return h & 0x3fffffff;
}

/** A chained hash table of flow entries. */
export class FlowTable {
  private buckets: (FlowEntry | null)[] = new Array(1024).fill(null);
  private mask = 1023;
  /** Number of entries held. */
  size = 0;

  /** Finds the entry of the packet's forward (`rev` false) or reverse key. */
  find(p: PacketView, rev: boolean, hash: number): FlowEntry | null {
    let e: FlowEntry | null = this.buckets[hash & this.mask]!;
    const v6 = p.ipVersion === 6;
    if (rev) {
      while (e !== null) {
        if (
          e.hash === hash && e.a0 === p.kb0 && e.b0 === p.ka0 && e.ports === p.kRevPorts &&
          e.proto === p.kProto && e.portLen === p.kPortLen && e.v6 === v6 &&
          e.a1 === p.kb1 && e.a2 === p.kb2 && e.a3 === p.kb3 &&
          e.b1 === p.ka1 && e.b2 === p.ka2 && e.b3 === p.ka3
        ) return e;
        e = e.next;
      }
    } else {
      while (e !== null) {
        if (
          e.hash === hash && e.a0 === p.ka0 && e.b0 === p.kb0 && e.ports === p.kPorts &&
          e.proto === p.kProto && e.portLen === p.kPortLen && e.v6 === v6 &&
          e.a1 === p.ka1 && e.a2 === p.ka2 && e.a3 === p.ka3 &&
          e.b1 === p.kb1 && e.b2 === p.kb2 && e.b3 === p.kb3
        ) return e;
        e = e.next;
      }
    }
    return null;
  }

  /** Inserts a new entry for the packet's forward (`rev` false) or reverse key. */
  insert(p: PacketView, rev: boolean, hash: number): FlowEntry {
    const e = rev
      ? new FlowEntry(
        hash,
        p.ipVersion === 6,
        p.kb0,
        p.kb1,
        p.kb2,
        p.kb3,
        p.ka0,
        p.ka1,
        p.ka2,
        p.ka3,
        p.kProto,
        p.kPortLen,
        p.kRevPorts,
      )
      : new FlowEntry(
        hash,
        p.ipVersion === 6,
        p.ka0,
        p.ka1,
        p.ka2,
        p.ka3,
        p.kb0,
        p.kb1,
        p.kb2,
        p.kb3,
        p.kProto,
        p.kPortLen,
        p.kPorts,
      );
    const i = hash & this.mask;
    e.next = this.buckets[i]!;
    this.buckets[i] = e;
    if (++this.size > this.buckets.length) this.grow();
    return e;
  }

  /** Removes an entry (it must be in the table). */
  remove(e: FlowEntry): void {
    const i = e.hash & this.mask;
    let cur: FlowEntry | null = this.buckets[i]!;
    if (cur === e) {
      this.buckets[i] = e.next;
    } else {
      while (cur !== null && cur.next !== e) cur = cur.next;
      if (cur === null) return;
      cur.next = e.next;
    }
    e.next = null;
    e.state = DEAD;
    this.size--;
  }

  /**
   * Chain steps a lookup of every held key would take (a bucket of n entries costs 1 + 2 + ... +
   * n): what keys chosen to collide would cost, counted rather than timed (tests, bench).
   */
  probeCost(): number {
    let cost = 0;
    for (const head of this.buckets) {
      let n = 0;
      for (let e = head; e !== null; e = e.next) cost += ++n;
    }
    return cost;
  }

  /** Every entry, in no particular order. */
  entries(): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const head of this.buckets) {
      for (let e = head; e !== null; e = e.next) out.push(e);
    }
    return out;
  }

  /** Empties the table. */
  clear(): void {
    for (const head of this.buckets) {
      for (let e = head; e !== null; e = e.next) e.state = DEAD;
    }
    this.buckets = new Array(1024).fill(null);
    this.mask = 1023;
    this.size = 0;
  }

  private grow(): void {
    const old = this.buckets;
    const n = old.length * 2;
    const nb: (FlowEntry | null)[] = new Array(n).fill(null);
    const mask = n - 1;
    for (const head of old) {
      let e = head;
      while (e !== null) {
        const next = e.next;
        const j = e.hash & mask;
        e.next = nb[j]!;
        nb[j] = e;
        e = next;
      }
    }
    this.buckets = nb;
    this.mask = mask;
  }
}

// V8 treats a field written only by the constructor as constant and compiles lookups that rely
// on it; the first growth of a real table (at 1,024 flows) would then throw that code away.
// Replacing the bucket array of a throwaway table once, at load, settles it beforehand.
new FlowTable().clear();

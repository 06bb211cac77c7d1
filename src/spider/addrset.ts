/**
 * A set of IP addresses in typed arrays: the feeder remembers every target it has handed out
 * (the original skips a `dip` it has already queued), and a million address strings in a `Set`
 * would take some 60 MB of JavaScript heap. Here an IPv4 address takes 4 bytes and an IPv6 one 16
 * (open addressing, at most 3/4 full), outside the heap.
 *
 * @module
 */
import { parseIpInto } from "../wire/ip.ts";

/**
 * The hash seed of this process, random: target lists crafted so that every address lands in one
 * cluster of slots (10,000 addresses took 754 ms instead of 7 against the former FNV hash, whose
 * slots anyone could invert) cannot be made without it.
 */
const [SEED = 0] = crypto.getRandomValues(new Int32Array(1));

/** Hash of `src[off..off+words)`: each word mixed in by multiply, xor-shift, multiply. */
function hashKey(src: Uint32Array, off: number, words: number): number {
  let h = SEED;
  for (let i = 0; i < words; i++) {
    h = Math.imul(h ^ src[off + i]!, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
  }
  return h ^ (h >>> 16);
}

/** One open-addressing table of `words`-word keys; the all-zero key is kept aside. */
class Table {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;
  #zero = false;

  constructor(private readonly words: number) {
    this.#mask = 1023;
    this.#slots = new Uint32Array(1024 * words);
  }

  get size(): number {
    return this.#size + (this.#zero ? 1 : 0);
  }

  /** Adds the key in `k[0..words)`; true when it was not there yet. */
  add(k: Uint32Array): boolean {
    const w = this.words;
    let zero = true;
    for (let i = 0; i < w; i++) if (k[i] !== 0) zero = false;
    if (zero) {
      if (this.#zero) return false;
      this.#zero = true;
      return true;
    }
    if ((this.#size + 1) * 4 > (this.#mask + 1) * 3) this.#grow();
    if (!this.#insert(this.#slots, this.#mask, k, 0)) return false;
    this.#size++;
    return true;
  }

  /** Inserts `src[off..off+words)` into `slots`; false when it is there already. */
  #insert(slots: Uint32Array, mask: number, src: Uint32Array, off: number): boolean {
    const w = this.words;
    for (let s = hashKey(src, off, w) & mask;; s = (s + 1) & mask) {
      const base = s * w;
      let empty = true, same = true;
      for (let i = 0; i < w; i++) {
        const v = slots[base + i];
        if (v !== 0) empty = false;
        if (v !== src[off + i]) same = false;
      }
      if (same) return false;
      if (empty) {
        for (let i = 0; i < w; i++) slots[base + i] = src[off + i]!;
        return true;
      }
    }
  }

  /**
   * Slots a lookup of every held key visits (its distance from its hash's slot, plus one): what
   * keys chosen to collide would cost, counted rather than timed (tests, bench).
   */
  probeCost(): number {
    const w = this.words, slots = this.#slots, mask = this.#mask;
    let cost = 0;
    for (let s = 0; s <= mask; s++) {
      let empty = true;
      for (let i = 0; i < w; i++) if (slots[s * w + i] !== 0) empty = false;
      if (!empty) cost += ((s - hashKey(slots, s * w, w)) & mask) + 1;
    }
    return cost;
  }

  #grow(): void {
    const w = this.words, old = this.#slots;
    const mask = this.#mask * 2 + 1;
    const slots = new Uint32Array((mask + 1) * w);
    for (let off = 0; off < old.length; off += w) {
      let empty = true;
      for (let i = 0; i < w; i++) if (old[off + i] !== 0) empty = false;
      if (!empty) this.#insert(slots, mask, old, off);
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** A set of IPv4 and IPv6 addresses, compared by value (any spelling of an address is one). */
export class AddrSet {
  #v4 = new Table(1);
  #v6 = new Table(4);
  #key = new Uint32Array(4);
  #bytes = new Uint8Array(16);

  /** Addresses held. */
  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  /** Slots a lookup of every held address visits (see `Table.probeCost`). */
  probeCost(): number {
    return this.#v4.probeCost() + this.#v6.probeCost();
  }

  /** Adds `addr` (an IP literal); true when it was new. Throws for anything else. */
  add(addr: string): boolean {
    const k = this.#key, b = this.#bytes;
    const v = parseIpInto(addr, b);
    if (v === 0) throw new Error(`not an IP address: ${addr}`);
    const words = v === 4 ? 1 : 4;
    for (let i = 0; i < words; i++) {
      k[i] = ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>>
        0;
    }
    return v === 4 ? this.#v4.add(k) : this.#v6.add(k);
  }
}

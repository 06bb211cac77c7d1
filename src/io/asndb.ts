/**
 * An IP-to-AS table read from iptoasn.com's TSV files (`ip2asn-v4.tsv`, `ip2asn-v6.tsv`, or the
 * combined `ip2asn-combined.tsv`; plain or gzip-compressed): one range a line,
 * `range_start TAB range_end TAB AS_number TAB country_code TAB AS_description`, AS 0 meaning
 * "not routed". Lookups are a binary search over the ranges sorted by start.
 *
 * Memory: a range costs 12 bytes (IPv4) or 36 bytes (IPv6) in typed arrays plus its AS number;
 * the descriptions are kept once per AS (about 75,000 of them), not per range, so the whole
 * combined file (about 700,000 ranges) fits in some 20 MB.
 *
 * @module
 */
import { parseIpInto } from "../wire/ip.ts";
import { readLines } from "./lines.ts";

/** What a lookup finds. */
export interface AsnEntry {
  /** The AS number (never 0: "not routed" ranges are reported as no entry). */
  asn: number;
  /** Two-letter country code as the file gives it ("None" or "" when unknown). */
  country: string;
  /** The AS's description, e.g. "CLOUDFLARENET". */
  description: string;
}

/** Ranges of one family, growing while the file is read and sorted once at the end. */
class RangeTable {
  /** Words per address: 1 for IPv4, 4 for IPv6 (big-endian 32-bit words). */
  readonly words: number;
  starts: Uint32Array;
  ends: Uint32Array;
  asns: Uint32Array;
  count = 0;

  constructor(words: number) {
    this.words = words;
    this.starts = new Uint32Array(1024 * words);
    this.ends = new Uint32Array(1024 * words);
    this.asns = new Uint32Array(1024);
  }

  add(start: Uint32Array, end: Uint32Array, asn: number): void {
    if (this.count === this.asns.length) {
      const grow = (a: Uint32Array) => {
        const b = new Uint32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.asns = grow(this.asns);
    }
    this.starts.set(start, this.count * this.words);
    this.ends.set(end, this.count * this.words);
    this.asns[this.count++] = asn;
  }

  /** Sorts by start when the file was not in order (iptoasn's files are; a merge of them may not be). */
  sort(): void {
    const w = this.words;
    let sorted = true;
    for (let i = 1; i < this.count && sorted; i++) {
      if (compareAt(this.starts, (i - 1) * w, this.starts, i * w, w) > 0) sorted = false;
    }
    if (sorted) return;
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => compareAt(this.starts, a * w, this.starts, b * w, w));
    const s = new Uint32Array(this.count * w), e = new Uint32Array(this.count * w);
    const n = new Uint32Array(this.count);
    order.forEach((from, to) => {
      s.set(this.starts.subarray(from * w, from * w + w), to * w);
      e.set(this.ends.subarray(from * w, from * w + w), to * w);
      n[to] = this.asns[from]!;
    });
    this.starts = s, this.ends = e, this.asns = n;
  }

  /** The AS of the last range starting at or before `addr` that also ends at or after it; 0 if none. */
  find(addr: Uint32Array): number {
    const w = this.words;
    let lo = 0, hi = this.count - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(this.starts, mid * w, addr, 0, w) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || compareAt(this.ends, found * w, addr, 0, w) < 0) return 0;
    return this.asns[found]!;
  }
}

function compareAt(a: Uint32Array, ai: number, b: Uint32Array, bi: number, w: number): number {
  for (let k = 0; k < w; k++) {
    const x = a[ai + k]!, y = b[bi + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const bytes = new Uint8Array(16);

/** Parses an address into big-endian words; returns 4, 6 or 0 (not an address). */
function toWords(text: string, out: Uint32Array): 0 | 4 | 6 {
  const v = parseIpInto(text, bytes);
  if (v === 0) return 0;
  const n = v === 4 ? 1 : 4;
  for (let k = 0; k < n; k++) {
    out[k] = ((bytes[4 * k]! << 24) | (bytes[4 * k + 1]! << 16) | (bytes[4 * k + 2]! << 8) |
      bytes[4 * k + 3]!) >>> 0;
  }
  return v;
}

/** An IP-to-AS table; build it with {@link AsnDb.load} or {@link AsnDb.fromLines}. */
export class AsnDb {
  #v4 = new RangeTable(1);
  #v6 = new RangeTable(4);
  #info = new Map<number, { country: string; description: string }>();
  #a = new Uint32Array(4);
  #b = new Uint32Array(4);
  /** Lines that were not a range (malformed), skipped while loading. */
  skipped = 0;

  /** Number of ranges held (both families, "not routed" ones left out). */
  get size(): number {
    return this.#v4.count + this.#v6.count;
  }

  /** Adds one TSV line; returns false (and counts it) when it is not a range. */
  addLine(line: string): boolean {
    if (line === "" || line.charCodeAt(0) === 35) return true; // blank or a # comment
    const f = line.split("\t");
    const asn = Number(f[2]);
    if (f.length < 3 || !Number.isInteger(asn) || asn < 0 || asn > 0xffffffff) {
      this.skipped++;
      return false;
    }
    const v = toWords(f[0]!, this.#a);
    if (v === 0 || toWords(f[1]!, this.#b) !== v) {
      this.skipped++;
      return false;
    }
    if (asn === 0) return true; // "Not routed": the same as no range
    (v === 4 ? this.#v4 : this.#v6).add(this.#a, this.#b, asn);
    if (!this.#info.has(asn)) {
      this.#info.set(asn, { country: f[3] ?? "", description: f[4] ?? "" });
    }
    return true;
  }

  /** Builds a table from lines already read (tests, small tables). */
  static fromLines(lines: Iterable<string>): AsnDb {
    const db = new AsnDb();
    for (const l of lines) db.addLine(l);
    db.#finish();
    return db;
  }

  /** Reads one or more TSV files (plain or gzip), e.g. the v4 and the v6 file. */
  static async load(paths: string[]): Promise<AsnDb> {
    const db = new AsnDb();
    for (const path of paths) {
      for await (const line of readLines(path)) db.addLine(line);
    }
    db.#finish();
    return db;
  }

  #finish(): void {
    this.#v4.sort();
    this.#v6.sort();
  }

  /** The AS number of `addr`, or 0 when no range holds it (or it is not an address). */
  asnOf(addr: string): number {
    const v = toWords(addr, this.#a);
    if (v === 0) return 0;
    return (v === 4 ? this.#v4 : this.#v6).find(this.#a);
  }

  /** The AS entry of `addr`, or null when no routed range holds it. */
  lookup(addr: string): AsnEntry | null {
    const asn = this.asnOf(addr);
    if (asn === 0) return null;
    const info = this.#info.get(asn)!;
    return { asn, country: info.country, description: info.description };
  }
}

/**
 * `report --compare`: per target (dip, dp), its conditions in each run side by side.
 *
 * Memory is O(targets x runs) and kept compact: condition sets are interned (a run of a million
 * targets has a few dozen distinct sets), a target is one Map entry from a short key (see
 * {@link targetKey}) to its index, and the runs' set ids sit in one shared Uint32Array, `runs`
 * slots per target (0: absent from that run). Measured: 1 M targets from 2 vantage points peak
 * at 290 MiB RSS against 120 MiB without `--compare` (bench/report.ts, COMPARE=1).
 *
 * @module
 */
import { formatIp, parseIpInto } from "../wire/ip.ts";
import { conditionParts } from "./condition.ts";

/** A target whose condition sets differ between runs. */
export interface ChangedTarget {
  dip: string;
  dp: number | null;
  /** Each run's conditions (sorted), null where the run has no result for the target. */
  conditions: (string[] | null)[];
}

/** What a comparison found. */
export interface ComparisonSummary {
  /** Run labels, in order. */
  runs: string[];
  /** Distinct targets seen in any run. */
  targets: number;
  /** Targets with a result in every run. */
  inAll: number;
  /** Results for a target already seen in the same run (the later one counts). */
  duplicates: number;
  /** Targets whose condition sets differ (among the runs that have them), in first-seen order. */
  changed: ChangedTarget[];
  /** matrix[i][j]: targets in both runs i and j whose condition sets differ there. */
  matrix: number[][];
  /** matrix of targets present in both runs i and j (the denominators of `matrix`). */
  common: number[][];
  /**
   * Path dependence: targets whose connectivity is `works` in one run and `broken` in another,
   * and for each ordered pair of runs [broken in i, works in j] how many.
   */
  pathDependent: { targets: number; pairs: number[][] };
}

const addr = new Uint8Array(16);

/**
 * A target as a short key: its address and port as 16-bit characters (4 for IPv4, 9 for IPv6,
 * one more for the port), after a tag saying which; a flat string of 16-34 bytes instead of the
 * address text and port joined (a rope holding the parsed record's strings). Spellings of the
 * same IPv6 address give the same key. Null when `dip` is not an address.
 */
export function targetKey(dip: string, dp: number): string | null {
  const v = parseIpInto(dip, addr);
  if (v === 0) return null;
  const n = v === 4 ? 2 : 8;
  let key = String.fromCharCode((v === 4 ? 4 : 6) | (dp >= 0 ? 0x100 : 0));
  for (let i = 0; i < n; i++) key += String.fromCharCode((addr[2 * i]! << 8) | addr[2 * i + 1]!);
  return dp >= 0 ? key + String.fromCharCode(dp) : key;
}

/** The dip and dp of a {@link targetKey}. */
export function keyTarget(key: string): { dip: string; dp: number | null } {
  const tag = key.charCodeAt(0), n = (tag & 0xff) === 4 ? 2 : 8;
  for (let i = 0; i < n; i++) {
    const u = key.charCodeAt(1 + i);
    addr[2 * i] = u >> 8;
    addr[2 * i + 1] = u & 0xff;
  }
  return {
    dip: formatIp(addr, 0, n === 2 ? 4 : 16),
    dp: tag & 0x100 ? key.charCodeAt(1 + n) : null,
  };
}

/** Builds a comparison while results are read. */
export class Comparison {
  readonly #labels: string[] = [];
  readonly #setIds = new Map<string, number>();
  /** Interned sets, index = id - 1. */
  readonly #sets: string[][] = [];
  readonly #targets = new Map<string, number>();
  #slots = new Uint32Array(0);
  #width: number;
  duplicates = 0;

  /** `runs`: the run labels (one slot per run per target). */
  constructor(runs: string[]) {
    this.#labels = [...runs];
    this.#width = runs.length;
    this.#slots = new Uint32Array(1024 * this.#width);
  }

  /** Adds a run after construction (runs named by the results' `vantage` field); its index. */
  runIndex(label: string): number {
    const i = this.#labels.indexOf(label);
    if (i >= 0) return i;
    this.#labels.push(label);
    if (this.#labels.length > this.#width) this.#widen(this.#labels.length);
    return this.#labels.length - 1;
  }

  #widen(width: number): void {
    const n = this.#targets.size, old = this.#slots, w = this.#width;
    const next = new Uint32Array(Math.max(1024, n * 2) * width);
    for (let t = 0; t < n; t++) next.set(old.subarray(t * w, t * w + w), t * width);
    this.#slots = next;
    this.#width = width;
  }

  /** Records `rec`'s conditions as run `run`'s for its target; false if it names no target. */
  add(run: number, rec: Record<string, unknown>): boolean {
    if (typeof rec.dip !== "string") return false;
    const dp = typeof rec.dp === "number"
      ? rec.dp
      : typeof rec.dp === "string" && /^\d+$/.test(rec.dp)
      ? Number(rec.dp)
      : -1;
    const key = targetKey(rec.dip, dp);
    if (key === null) return false;
    let t = this.#targets.get(key);
    if (t === undefined) {
      t = this.#targets.size;
      this.#targets.set(key, t);
      if ((t + 1) * this.#width > this.#slots.length) {
        const next = new Uint32Array(this.#slots.length * 2);
        next.set(this.#slots);
        this.#slots = next;
      }
    }
    const conds = Array.isArray(rec.conditions)
      ? (rec.conditions.filter((c) => typeof c === "string") as string[]).sort()
      : [];
    const setKey = conds.join("\n");
    let id = this.#setIds.get(setKey);
    if (id === undefined) {
      this.#sets.push(conds);
      id = this.#sets.length;
      this.#setIds.set(setKey, id);
    }
    const slot = t * this.#width + run;
    if (this.#slots[slot] !== 0) this.duplicates++;
    this.#slots[slot] = id;
    return true;
  }

  /** The comparison's findings. */
  summary(): ComparisonSummary {
    const runs = this.#labels.length, w = this.#width;
    const square = () => Array.from({ length: runs }, () => new Array<number>(runs).fill(0));
    const matrix = square(), common = square(), pairs = square();
    // connectivity outcome of each interned set: 1 works, 2 broken, 0 other
    const outcome = this.#sets.map((set) => {
      for (const c of set) {
        const p = conditionParts(c);
        if (p.family !== "connectivity") continue;
        if (p.name.endsWith(".works")) return 1;
        if (p.name.endsWith(".broken")) return 2;
      }
      return 0;
    });
    const changed: ChangedTarget[] = [];
    let inAll = 0, pathDependent = 0;
    for (const [key, t] of this.#targets) {
      const base = t * w;
      let present = 0, differs = false, first = 0, works = false, broken = false;
      for (let i = 0; i < runs; i++) {
        const a = this.#slots[base + i]!;
        if (a === 0) continue;
        present++;
        if (first === 0) first = a;
        else if (a !== first) differs = true;
        const o = outcome[a - 1];
        if (o === 1) works = true;
        else if (o === 2) broken = true;
        const ci = common[i]!, mi = matrix[i]!;
        for (let j = i + 1; j < runs; j++) {
          const b = this.#slots[base + j]!;
          if (b === 0) continue;
          ci[j]!++, common[j]![i]!++;
          if (a !== b) mi[j]!++, matrix[j]![i]!++;
          const ob = outcome[b - 1];
          if (o === 2 && ob === 1) pairs[i]![j]!++;
          else if (o === 1 && ob === 2) pairs[j]![i]!++;
        }
      }
      if (present === runs) inAll++;
      if (works && broken) pathDependent++;
      if (differs) {
        const target = keyTarget(key);
        changed.push({
          dip: target.dip,
          dp: target.dp,
          conditions: Array.from({ length: runs }, (_, i) => {
            const id = this.#slots[base + i]!;
            return id === 0 ? null : this.#sets[id - 1]!;
          }),
        });
      }
    }
    return {
      runs: [...this.#labels],
      targets: this.#targets.size,
      inAll,
      duplicates: this.duplicates,
      changed,
      matrix,
      common,
      pathDependent: { targets: pathDependent, pairs },
    };
  }
}

/**
 * Stages between the feeder and the engine for scheduled campaigns: `--shards K --shard I`
 * (keep the jobs whose target hashes to shard I), `--seed S` (a pseudo-random order that depends
 * only on S and the input) and `--resume` (skip the targets an earlier run already wrote).
 *
 * The shard of a job depends only on its target address (canonical text, so `2001:DB8::1` and
 * `2001:db8::1` agree), hashed with a fixed function: K machines given the same list, each with
 * its own I, measure every target exactly once between them, whatever their seeds or the order
 * of their lists. The hash is fixed on purpose (unlike the flow table's per-process seeds):
 * two machines must agree on it.
 *
 * @module
 */
import type { FedJob } from "./feeder.ts";
import { canonicalIp } from "../wire/ip.ts";
import type { AddrSet } from "./addrset.ts";

/** What `measure` was asked to do beyond the plain run (provenance, pacing, resumption, signals). */
export interface ScheduleOptions {
  /** `--rate`: at most this many jobs started per second (src/spider/pacer.ts). */
  rate?: number;
  /** `--seed`: shuffle the jobs with this seed. */
  seed?: string;
  /** `--shards` (1: no split) and `--shard` (0-based). */
  shards: number;
  shard: number;
  /** `--resume`: skip the targets `--output` already holds, append the rest. */
  resume: boolean;
  /** `--metadata`: where to write the run's record. */
  metadata?: string;
  /** `--vantage`: the user's label of this vantage point. */
  vantage?: string;
  /** `--status-interval`: seconds between status lines when stderr is not a terminal; 0 off. */
  statusInterval: number;
  /** `--max-unobserved`: percent of flows unobserved above which the run exits 4. */
  maxUnobserved: number;
  /** `--asn-db`: iptoasn TSV files for the source's AS number. */
  asnDb: string[];
  /** `--public-ip`: the public address of each family, given. */
  publicIp: string[];
  /** `--stun`: a STUN server to discover the public address from. */
  stun?: string;
  /** `--verbose`: one line per step of the run on stderr. */
  verbose: boolean;
  /** The command line as given (for the metadata record). */
  argv: string[];
}

/** Schedule options of a plain run (nothing asked for). */
export function defaultSchedule(): ScheduleOptions {
  return {
    shards: 1,
    shard: 0,
    resume: false,
    statusInterval: 10,
    maxUnobserved: DEFAULT_MAX_UNOBSERVED,
    asnDb: [],
    publicIp: [],
    verbose: false,
    argv: [],
  };
}

/**
 * Default of `--max-unobserved`, percent. A healthy run observes every flow it made (the SYN
 * leaves through the observed interface even when nobody answers), so the few unobserved come
 * from a helper that cannot tell its local port or a capture that missed a packet; 5% leaves
 * room for those while a wrong interface (100% unobserved) or a capture losing much fails.
 */
export const DEFAULT_MAX_UNOBSERVED = 5;

/**
 * Jobs held at once to shuffle a list given with `--seed`. A list of up to this many jobs comes
 * out in a uniformly random order; a longer (or streamed) one through a window of this size: a
 * job leaves at a random moment once it is in the window, so on average it moves about this many
 * places, and no job comes out before the job `SHUFFLE_WINDOW` lines before it was read. At some
 * 300 bytes a job that is at most ~20 MB.
 */
export const SHUFFLE_WINDOW = 65_536;

/** FNV-1a over the text's UTF-16 code units, then murmur3's finaliser (every bit mixed). */
export function targetHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard (0 .. shards-1) of a target address. */
export function shardOf(dip: string, shards: number): number {
  return targetHash(canonicalIp(dip)) % shards;
}

/** Keeps the jobs of shard `shard` of `shards`; counts the others in `stats.otherShards`. */
export async function* keepShard(
  jobs: AsyncIterable<FedJob>,
  shards: number,
  shard: number,
  stats: { otherShards: number },
): AsyncGenerator<FedJob> {
  for await (const j of jobs) {
    if (shardOf(j.job.dip, shards) === shard) yield j;
    else stats.otherShards++;
  }
}

/**
 * Skips the jobs whose target is in `done` (an earlier run's results); counts them. A target
 * passed on is added to `done` (the feeder hands each target out once, so that changes nothing).
 */
export async function* skipDone(
  jobs: AsyncIterable<FedJob>,
  done: AddrSet,
  stats: { resumed: number },
): AsyncGenerator<FedJob> {
  for await (const j of jobs) {
    if (done.add(j.job.dip)) yield j;
    else stats.resumed++;
  }
}

/**
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32 from the seed's text: a fast
 * generator whose sequence depends only on the seed, the same on every machine.
 */
export class SeededRandom {
  #s = new Uint32Array(4);

  constructor(seed: string) {
    let x = targetHash(seed);
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32 random bits. */
  next(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  /** An integer in [0, n), n <= 2^32, without modulo bias (rejection). */
  below(n: number): number {
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    let r: number;
    do r = this.next(); while (r >= limit);
    return r % n;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The jobs in a pseudo-random order depending only on `seed` and the input: a window of
 * `window` jobs fills; then each job read takes the place of one drawn at random from the
 * window, which goes out; at the end the window is shuffled (Fisher-Yates) and emptied.
 */
export async function* shuffled(
  jobs: AsyncIterable<FedJob>,
  seed: string,
  window = SHUFFLE_WINDOW,
): AsyncGenerator<FedJob> {
  const rng = new SeededRandom(seed);
  const held: FedJob[] = [];
  for await (const j of jobs) {
    if (held.length < window) {
      held.push(j);
      continue;
    }
    const k = rng.below(window);
    const out = held[k]!;
    held[k] = j;
    yield out;
  }
  for (let i = held.length - 1; i > 0; i--) {
    const k = rng.below(i + 1);
    const t = held[i]!;
    held[i] = held[k]!;
    held[k] = t;
  }
  yield* held;
}

/** Counters of the schedule stages. */
export interface ScheduleStats {
  /** Jobs left to the other shards. */
  otherShards: number;
  /** Jobs skipped because the resumed output already held their target. */
  resumed: number;
}

/**
 * The feeder's jobs through the stages the options ask for: this shard's only, those not done
 * yet (`done`, from `--resume`), in the seed's order.
 */
export function scheduledJobs(
  jobs: AsyncIterator<FedJob>,
  o: Pick<ScheduleOptions, "seed" | "shards" | "shard">,
  stats: ScheduleStats,
  done?: AddrSet,
): AsyncIterator<FedJob> {
  if (o.shards <= 1 && done === undefined && o.seed === undefined) return jobs;
  let out: AsyncIterable<FedJob> = { [Symbol.asyncIterator]: () => jobs };
  if (o.shards > 1) out = keepShard(out, o.shards, o.shard, stats);
  if (done !== undefined) out = skipDone(out, done, stats);
  if (o.seed !== undefined) out = shuffled(out, o.seed);
  return out[Symbol.asyncIterator]();
}

/**
 * Keys crafted to collide under the flow table's and the feeder's former hashes, which had no
 * seed (shared by tests/unit/hash_seed_test.ts and bench/hash_collisions.ts). What an attacker
 * who reads the source could send: spoofed packets, or a target list handed to a run.
 */
import { PacketView } from "../../src/observer/packet.ts";

function oldMix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
}

/** The flow table's former hash of an IPv4 key (src, dst, 4 port bytes, protocol). */
export function oldFlowHash(src: number, dst: number, ports: number, proto: number): number {
  let h = 0x3c6ef372;
  h = oldMix(h, src);
  h = oldMix(h, dst);
  h = oldMix(h, ports);
  h = oldMix(h, (proto << 8) | 4);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/** An IPv4 TCP key in a packet view, as the parser leaves it. */
export interface Key4 {
  src: number;
  dst: number;
  ports: number;
}

/**
 * `n` IPv4 TCP flows to one host (`dst`) from spoofed sources whose former hashes are all equal:
 * the port word of each is chosen to cancel its source address in the former mixing, so the
 * whole table was one chain.
 */
export function craftedFlows(n: number, dst = 0xc6120002 | 0): Key4[] {
  const k = 0x5eed1234;
  const out: Key4[] = [];
  for (let i = 0; i < n; i++) {
    const src = (0xc6130000 + i) | 0;
    const h2 = oldMix(oldMix(0x3c6ef372, src), dst);
    out.push({ src, dst, ports: (k ^ h2) | 0 });
  }
  return out;
}

/** `n` IPv4 TCP flows to `dst` from random sources and ports. */
export function randomFlows(n: number, rand: () => number, dst = 0xc6120002 | 0): Key4[] {
  return Array.from({ length: n }, () => ({
    src: (rand() * 2 ** 32) | 0,
    dst,
    ports: (rand() * 2 ** 32) | 0,
  }));
}

/** A packet view holding key `k` (forward). */
export function viewOf(k: Key4, p = new PacketView()): PacketView {
  p.ipVersion = 4;
  p.ka0 = k.src;
  p.kb0 = k.dst;
  p.ka1 =
    p.ka2 =
    p.ka3 =
    p.kb1 =
    p.kb2 =
    p.kb3 =
      0;
  p.kProto = 6;
  p.kPortLen = 4;
  p.kPorts = k.ports;
  p.kRevPorts = ((k.ports << 16) | (k.ports >>> 16)) | 0;
  p.kQuoted = false;
  return p;
}

/** The multiplicative inverse of an odd `c` modulo 2^32. */
function inverse(c: number): number {
  let x = c;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(c, x));
  return x;
}

/** The feeder's former slot hash of an IPv4 address word. */
export function oldAddrHash(x: number): number {
  let h = Math.imul(0x811c9dc5 ^ x, 0x01000193);
  h ^= h >>> 15;
  return h >>> 0;
}

function dotted(x: number): string {
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

/**
 * `n` IPv4 addresses whose former hashes share their low 15 bits: the former hash inverted, so
 * every address started its probe in one of a handful of slots and the set's linear probing
 * walked ever longer clusters.
 */
export function craftedAddrs(n: number): string[] {
  const inv = inverse(0x01000193);
  const out: string[] = [];
  for (let i = 1; out.length < n; i++) {
    const want = ((i << 15) | 0x2a5a) >>> 0;
    // undo h ^= h >>> 15, then the multiplication and the offset
    let h = want ^ (want >>> 15);
    h ^= h >>> 30;
    const x = (Math.imul(h, inv) ^ 0x811c9dc5) >>> 0;
    if (x !== 0) out.push(dotted(x));
  }
  return out;
}

/** `n` random IPv4 addresses. */
export function randomAddrs(n: number, rand: () => number): string[] {
  return Array.from({ length: n }, () => dotted(((rand() * 2 ** 32) >>> 0) || 1));
}

/** A seeded PRNG (mulberry32), so that the random keys are the same every run. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

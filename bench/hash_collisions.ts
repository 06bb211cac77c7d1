/**
 * Hash-collision bench: the flow table (20,000 flows) and the feeder's duplicate-target set
 * (10,000 and 100,000 targets) fed keys crafted to collide under the former unseeded hashes
 * (tests/unit/hash_craft.ts) against random keys: ms for each (best of RUNS), and the ratio.
 *   .tools/bin/deno run -A bench/hash_collisions.ts [RUNS]   (default 5)
 */
import { FlowTable, keyHash } from "../src/observer/flowtable.ts";
import { AddrSet } from "../src/spider/addrset.ts";
import {
  craftedAddrs,
  craftedFlows,
  type Key4,
  prng,
  randomAddrs,
  randomFlows,
  viewOf,
} from "../tests/unit/hash_craft.ts";

const RUNS = Number(Deno.args[0] ?? 5);

/** Inserts every key, then looks each up once more (a second packet of each flow). */
function flows(keys: Key4[]): number {
  const t0 = performance.now();
  const t = new FlowTable();
  const p = viewOf(keys[0]!);
  for (const k of keys) {
    viewOf(k, p);
    const h = keyHash(p, false);
    if (t.find(p, false, h) === null) t.insert(p, false, h);
  }
  for (const k of keys) {
    viewOf(k, p);
    if (t.find(p, false, keyHash(p, false)) === null) throw new Error("lost a flow");
  }
  return performance.now() - t0;
}

function targets(addrs: string[]): number {
  const t0 = performance.now();
  const s = new AddrSet();
  for (const a of addrs) s.add(a);
  return performance.now() - t0;
}

function best(f: () => number): number {
  let b = Infinity;
  for (let i = 0; i < RUNS; i++) b = Math.min(b, f());
  return b;
}

const cases: [string, () => number, () => number][] = [
  [
    "flow table, 20,000 flows",
    () => flows(craftedFlows(20_000)),
    () => flows(randomFlows(20_000, prng(1))),
  ],
  [
    "target set, 10,000 targets",
    () => targets(craftedAddrs(10_000)),
    () => targets(randomAddrs(10_000, prng(2))),
  ],
  [
    "target set, 100,000 targets",
    () => targets(craftedAddrs(100_000)),
    () => targets(randomAddrs(100_000, prng(3))),
  ],
];
console.log(`hash collisions, best of ${RUNS} (ms; key generation included in neither)`);
for (const [name, crafted, random] of cases) {
  // keys are made outside the timed part: time only the structure
  const c = best(crafted), r = best(random);
  console.log(
    `${name.padEnd(30)} crafted ${c.toFixed(1).padStart(9)}  random ${r.toFixed(1).padStart(7)}  x${
      (c / r).toFixed(2)
    }`,
  );
}

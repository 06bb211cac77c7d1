/**
 * Keys crafted to collide under the former unseeded hashes cost about what random keys cost, in
 * lookups counted (probes), not time (the timings are in bench/hash_collisions.ts).
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { FlowTable, keyHash } from "../../src/observer/flowtable.ts";
import { AddrSet } from "../../src/spider/addrset.ts";
import {
  craftedAddrs,
  craftedFlows,
  type Key4,
  oldAddrHash,
  oldFlowHash,
  prng,
  randomAddrs,
  randomFlows,
  viewOf,
} from "./hash_craft.ts";

/** Cost bound: crafted keys may cost this many times what random keys cost, at most. */
const BOUND = 2;

function tableOf(keys: Key4[]): FlowTable {
  const t = new FlowTable();
  const p = viewOf(keys[0]!);
  for (const k of keys) {
    viewOf(k, p);
    const h = keyHash(p, false);
    if (t.find(p, false, h) === null) t.insert(p, false, h);
  }
  return t;
}

Deno.test("the crafted keys do collide under the former hashes", () => {
  const flows = craftedFlows(20_000);
  const first = oldFlowHash(flows[0]!.src, flows[0]!.dst, flows[0]!.ports, 6);
  ok(flows.every((k) => oldFlowHash(k.src, k.dst, k.ports, 6) === first));
  const addrs = craftedAddrs(1000).map((a) => a.split(".").reduce((x, b) => x * 256 + +b, 0));
  ok(addrs.every((x) => (oldAddrHash(x) & 0x7fff) === (oldAddrHash(addrs[0]!) & 0x7fff)));
});

Deno.test("20,000 flows crafted to collide cost the flow table at most 2x random ones", () => {
  const crafted = tableOf(craftedFlows(20_000));
  const random = tableOf(randomFlows(20_000, prng(1)));
  assertEquals([crafted.size, random.size], [20_000, 20_000]);
  const c = crafted.probeCost(), r = random.probeCost();
  // former hash: one chain, 200 million probes for 20,000 lookups
  ok(c <= BOUND * r, `crafted ${c} probes, random ${r}`);
});

Deno.test("100,000 targets crafted to collide cost the duplicate-target set at most 2x random ones", () => {
  const crafted = new AddrSet();
  for (const a of craftedAddrs(100_000)) crafted.add(a);
  const random = new AddrSet();
  for (const a of randomAddrs(100_000, prng(2))) random.add(a);
  assertEquals(crafted.size, 100_000);
  const c = crafted.probeCost(), r = random.probeCost();
  ok(c <= BOUND * r, `crafted ${c} probes, random ${r}`);
});

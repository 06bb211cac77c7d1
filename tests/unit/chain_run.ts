/**
 * Test helper: runs named chains over crafted packets and returns the flow records (flushed).
 *
 * @module
 */
import * as c from "./craft.ts";
import { Observer } from "../../src/observer/observer.ts";
import type { FlowRecord } from "../../src/observer/chain.ts";
import { makeChains } from "../../src/chains/registry.ts";

/** Records of `chains` over `pkts` (timestamps 1, 2, 3, ... when frames are given bare). */
export function runChains(
  chains: string[],
  pkts: (c.CraftedPacket | Uint8Array)[],
): FlowRecord[] {
  const recs: FlowRecord[] = [];
  const obs = new Observer(makeChains(chains), { emit: (r) => recs.push(r) });
  obs.push(c.batch(pkts.map((p, i) => p instanceof Uint8Array ? { ts: 1 + i, frame: p } : p)));
  obs.flush();
  return recs;
}

/** The first record of `runChains`; a test that expects one fails here when there is none. */
export function firstRecord(chains: string[], pkts: (c.CraftedPacket | Uint8Array)[]): FlowRecord {
  const [r] = runChains(chains, pkts);
  if (r === undefined) throw new Error(`no flow record from the ${chains.join(", ")} chains`);
  return r;
}

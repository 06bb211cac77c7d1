/**
 * The Internet-like target mix of the measure benches: per-target one-way delays of 10-300 ms and
 * 5% silent targets, 5% dropping ECN setup SYNs, 3% clearing ECT on replies, 2% setting CE, the
 * rest clean. The same seed gives the same list in every bench, so their figures compare.
 *
 * @module
 */
import type { Behaviour } from "../../tests/e2e/lib/behaviours.ts";
import { rng } from "../../examples/lib/synth.ts";

/** A testbed target of the mix. */
export interface BenchTarget {
  name: string;
  delayMs: number;
  behaviour: Behaviour[];
}

/** `n` targets of the mix, drawn from a generator seeded with `seed`. */
export function internetTargets(n: number, seed = 7): BenchTarget[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = rand();
    const behaviour: Behaviour[] = x < 0.05
      ? ["offline"]
      : x < 0.10
      ? ["drop-ecn-syn"]
      : x < 0.13
      ? ["clear-ect-rev"]
      : x < 0.15
      ? ["set-ce"]
      : ["clean"];
    return { name: `t${i}`, delayMs: Math.round(10 + rand() * 290), behaviour };
  });
}

/** Epoch ms of a result's time text `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
export function epochMs(t: string): number {
  return Date.parse(`${t.slice(0, 19).replace(" ", "T")}Z`) + Number(t.slice(20)) / 1000;
}

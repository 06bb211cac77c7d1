import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { burstOf, Pacer } from "../../src/spider/pacer.ts";
import {
  keepShard,
  SeededRandom,
  shardOf,
  shuffled,
  skipDone,
  targetHash,
} from "../../src/spider/schedule.ts";
import type { FedJob } from "../../src/spider/feeder.ts";
import { AddrSet } from "../../src/spider/addrset.ts";

async function* fed(dips: string[]): AsyncGenerator<FedJob> {
  let line = 0;
  for (const dip of dips) yield { job: { dip }, line: ++line };
}

async function dipsOf(it: AsyncIterable<FedJob>): Promise<string[]> {
  const out: string[] = [];
  for await (const j of it) out.push(j.job.dip);
  return out;
}

const TARGETS = Array.from({ length: 3000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);

Deno.test("shards split a list with no overlap and nothing missed, by target only", async () => {
  const K = 7;
  const seen = new Map<string, number>();
  const sizes: number[] = [];
  for (let shard = 0; shard < K; shard++) {
    const stats = { otherShards: 0 };
    const kept = await dipsOf(keepShard(fed(TARGETS), K, shard, stats));
    assertEquals(kept.length + stats.otherShards, TARGETS.length);
    sizes.push(kept.length);
    for (const d of kept) seen.set(d, (seen.get(d) ?? 0) + 1);
  }
  assertEquals(seen.size, TARGETS.length);
  assert([...seen.values()].every((n) => n === 1));
  // a fair split: each shard within 25% of the mean
  for (const n of sizes) assert(Math.abs(n - TARGETS.length / K) < TARGETS.length / K / 4, `${n}`);
  // any spelling of an address is in the same shard; the order of the list does not matter
  assertEquals(shardOf("2001:DB8:0:0::1", 5), shardOf("2001:db8::1", 5));
  const reversed = await dipsOf(keepShard(fed([...TARGETS].reverse()), K, 3, { otherShards: 0 }));
  assertEquals(
    reversed.sort(),
    (await dipsOf(keepShard(fed(TARGETS), K, 3, { otherShards: 0 }))).sort(),
  );
});

Deno.test("the target hash is fixed (two machines must agree): literal values", () => {
  // FNV-1a 32 then murmur3's fmix32, checked with an independent Python implementation
  assertEquals(targetHash(""), 0xab3e7c0b);
  assertEquals(targetHash("198.18.0.1"), 0x6182d330);
  assertEquals(targetHash("fd00::1"), 0xea6a526b);
  assertEquals(shardOf("198.18.0.1", 16), 0x6182d330 % 16);
});

Deno.test("a seed gives the same order every time; another seed another; nothing lost", async () => {
  const a = await dipsOf(shuffled(fed(TARGETS), "42", 500));
  const b = await dipsOf(shuffled(fed(TARGETS), "42", 500));
  const c = await dipsOf(shuffled(fed(TARGETS), "43", 500));
  assertEquals(a, b);
  assert(a.join() !== c.join());
  assert(a.join() !== TARGETS.join());
  assertEquals([...a].sort(), [...TARGETS].sort());
  // the window bounds how early a job can come out: never before the job `window` lines before it
  const pos = new Map(a.map((d, i) => [d, i]));
  for (let i = 500; i < TARGETS.length; i++) assert(pos.get(TARGETS[i]!)! >= i - 500);
  // a list shorter than the window is fully shuffled
  const small = await dipsOf(shuffled(fed(TARGETS.slice(0, 100)), "7"));
  assertEquals([...small].sort(), [...TARGETS.slice(0, 100)].sort());
  assert(small.join() !== TARGETS.slice(0, 100).join());
});

Deno.test("the seeded generator is uniform enough and unbiased in below()", () => {
  const r = new SeededRandom("1");
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.below(10)]++;
  for (const n of counts) assert(Math.abs(n - 10_000) < 500, `${counts}`);
});

Deno.test("resume skips the targets already written, whatever their spelling", async () => {
  const done = new AddrSet();
  done.add("fd00:0::1");
  done.add("198.18.0.2");
  const stats = { resumed: 0 };
  const left = await dipsOf(skipDone(fed(["198.18.0.1", "fd00::1", "198.18.0.2"]), done, stats));
  assertEquals(left, ["198.18.0.1"]);
  assertEquals(stats.resumed, 2);
});

Deno.test("the pacer never lets more than N starts into any one-second window", async () => {
  for (const rate of [3, 50, 1000]) {
    const starts: number[] = [];
    // the times the pacer grants (a taker's continuation may run a little later on a busy host)
    const pacer = new Pacer(rate, undefined, (t) => starts.push(t));
    // one and a half seconds' worth, taken by more takers than the rate serves at once: it is
    // the limit, not the takers, that paces
    let left = Math.ceil(rate * 1.5);
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (left > 0) {
        left--;
        await pacer.take();
      }
    }));
    starts.sort((x, y) => x - y);
    // every window [s, s + 1000) that begins at a start
    let worst = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (j < starts.length && starts[j]! < starts[i]! + 1000) j++;
      worst = Math.max(worst, j - i);
    }
    assert(worst <= rate, `rate ${rate}: ${worst} starts in one second`);
    assertEquals(starts.length, Math.ceil(rate * 1.5));
  }
});

Deno.test("the pacer's burst is a few milliseconds of the rate; cancel releases waiters", async () => {
  assertEquals([burstOf(1), burstOf(250), burstOf(1000), burstOf(10_000)], [1, 1, 4, 40]);
  const pacer = new Pacer(1);
  await pacer.take();
  let released = 0;
  const waiting = Array.from({ length: 3 }, () => pacer.take().then(() => released++));
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(released, 0);
  pacer.cancel();
  await Promise.all(waiting);
  assertEquals(released, 3);
  let threw = false;
  try {
    new Pacer(0.5);
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test("the engine takes a permit per job: a job's connections count as one start", async () => {
  const { Engine } = await import("../../src/spider/engine.ts");
  const { Merger } = await import("../../src/spider/merger.ts");
  const { readJobs } = await import("../../src/spider/feeder.ts");
  const { dscpPlugin } = await import("../../src/plugins/dscp.ts");
  const text = Array.from({ length: 25 }, (_, i) => JSON.stringify({ dip: `198.18.0.${i}` }));
  const starts = new Map<string, number[]>();
  let port = 30000;
  const results: unknown[] = [];
  let grants = 0;
  const pacer = new Pacer(10, undefined, () => grants++);
  const engine = new Engine({
    plugin: dscpPlugin,
    args: { connect: "tcp", timeout: 1, codepoint: 46 },
    workers: 50,
    outputFlows: false,
    jobs: readJobs(new Response(text.join("\n")).body!, { warn: () => {} }),
    write: (r) => results.push(r),
    connect: (_m, job, o) => {
      const t = starts.get(job.dip) ?? [];
      t.push(performance.now());
      starts.set(job.dip, t);
      return Promise.resolve({ sip: o.source, sp: port++, spdr_state: 0 });
    },
    apply: () => {},
    source: { v4: "198.18.100.1", v6: "fd00::1" },
    merger: new Merger({ flowTtlMs: 60_000 }),
    flowWaitMs: 10,
    observing: false,
    pacer,
  });
  await engine.run();
  assertEquals(results.length, 25);
  // both connections of every job were made (two per job), on one permit per job; the window
  // itself is checked on grant times above (a connection's own clock reads later, by however
  // long a busy host delays it, so it cannot show the bound exactly)
  assert([...starts.values()].every((t) => t.length === 2));
  assertEquals(grants, 25);
});

/**
 * `measure` under load: 1,000 distinct targets at `-w 500`, for a sync plugin (ecn) and a desync
 * one (dscp). Every job gives exactly one result and (almost) every flow is observed.
 * (Throughput is measured in bench/, not asserted here.)
 */
import assert from "node:assert/strict";
import { NET, run, Testbed } from "./lib/testbed.ts";
import { measure, warmUp } from "./measure_run.ts";

/** 1,000 target addresses answered by the server namespace (AnyIP: a local route for a /22). */
const BLOCK = "198.19.4.0/22";

function jobs(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    s += JSON.stringify({ dip: `198.19.${4 + (i >> 8)}.${i & 255}`, i }) + "\n";
  }
  return s;
}

async function withLoadTestbed(fn: (tb: Testbed) => Promise<void>) {
  const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v6: false }] });
  try {
    await run(["ip", "route", "add", "local", BLOCK, "dev", "lo"], {
      ns: tb.serverNs,
      check: true,
    });
    await run(["ip", "route", "add", BLOCK, "via", NET.server4], { ns: tb.routerNs, check: true });
    await warmUp(tb);
    await fn(tb);
  } finally {
    await tb.destroy();
  }
}

for (const plugin of ["ecn", "dscp"]) {
  Deno.test(`measure ${plugin} gives exactly 1,000 results for 1,000 jobs at -w 500`, async () => {
    await withLoadTestbed(async (tb) => {
      const out = await measure(tb, ["-w", "500", plugin], jobs(1000), 300_000);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.results.length, 1000, out.stderr);
      assert.equal(new Set(out.results.map((r) => r.i)).size, 1000);
      const m = out.stderr.match(/(\d+) unobserved flows, (\d+) kernel drops/);
      assert.ok(m, out.stderr);
      // at most 0.1% of the 2,000 flows
      assert.ok(Number(m[1]) <= 2, out.stderr);
      const works = out.results.filter((r) => r.conditions?.[0]?.endsWith("connectivity.works"));
      assert.ok(works.length >= 990, `${works.length} of 1000 work: ${out.stderr}`);
    });
  });
}

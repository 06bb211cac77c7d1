/**
 * Scheduled runs (issue 12) on the testbed: shards that split a list without overlap or gaps,
 * a seeded order, a paced run.
 */
import assert from "node:assert/strict";
import { run, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, PATHSPIDER, warmUp } from "./measure_run.ts";

const NAMES = Array.from({ length: 8 }, (_, i) => `t${i}`);

async function withTestbed(fn: (tb: Testbed) => Promise<void>) {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: NAMES.map((name) => ({ name })),
  });
  try {
    await warmUp(tb);
    await fn(tb);
  } finally {
    await tb.destroy();
  }
}

Deno.test("scheduled runs: shards, seed and rate on real measurements", async (t) => {
  await withTestbed(async (tb) => {
    const jobs = jobsFor(tb);
    const all = jobs.trim().split("\n").map((l) => JSON.parse(l).dip as string).sort();
    assert.equal(all.length, 16);

    await t.step("three shards measure every target once between them", async () => {
      const seen: string[] = [];
      for (let shard = 0; shard < 3; shard++) {
        const out = await measure(tb, [
          "dscp",
          "--connect",
          "tcp",
          "--timeout",
          "2",
          "--shards",
          "3",
          "--shard",
          String(shard),
        ], jobs);
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stderr, /jobs left to other shards/);
        for (const r of out.results) {
          assert.deepEqual(r.conditions?.[0], "dscp.46.connectivity.works", JSON.stringify(r));
          seen.push(r.dip);
        }
      }
      assert.deepEqual(seen.sort(), all);
    });

    await t.step("a seed gives one order, the same each time; every job measured", async () => {
      const orders: string[][] = [];
      for (const seed of ["7", "7"]) {
        // one worker: results come out in the order the jobs were taken
        const out = await measure(
          tb,
          ["-w", "1", "dscp", "--connect", "tcp", "--timeout", "2", "--seed", seed],
          jobs,
        );
        assert.equal(out.code, 0, out.stderr);
        orders.push(out.results.map((r) => r.dip));
      }
      assert.deepEqual(orders[0], orders[1]);
      assert.deepEqual([...orders[0]].sort(), all);
      assert.notDeepEqual(orders[0], jobs.trim().split("\n").map((l) => JSON.parse(l).dip));
    });

    await t.step("--rate 4: no second holds more than 4 job starts", async () => {
      const out = await measure(
        tb,
        ["-w", "50", "dscp", "--connect", "tcp", "--timeout", "2", "--rate", "4", "--output-flows"],
        jobs,
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.results.length, 16);
      // a job starts with its first connection: the earliest spdr_start of its flows
      const starts = out.results.map((r) =>
        Math.min(
          ...(r.flow_results as { spdr_start: string }[]).map((f) =>
            Date.parse(f.spdr_start.replace(" ", "T") + "Z") +
            Number(f.spdr_start.slice(-3)) / 1000
          ),
        )
      ).sort((a, b) => a - b);
      for (let i = 4; i < starts.length; i++) {
        assert.ok(starts[i] - starts[i - 4] >= 999, `${i}: ${starts[i] - starts[i - 4]} ms`);
      }
    });

    await t.step("-i lo while the traffic leaves by another interface exits 4, not 0", async () => {
      await tb.exec(["ip", "link", "set", "lo", "up"]);
      const r = await run(
        [
          "ip",
          "netns",
          "exec",
          tb.clientNs,
          PATHSPIDER,
          "measure",
          "-i",
          "lo",
          "dscp",
          "--connect",
          "tcp",
          "--timeout",
          "2",
        ],
        { stdin: jobs, timeoutMs: 120_000 },
      );
      assert.equal(r.code, 4, r.stderr);
      const last = r.stderr.trim().split("\n").at(-1)!;
      assert.match(
        last,
        /^pathspider: measured, but the data cannot be trusted \(exit 4\): 100% of the flows \(32 of 32\) were not observed, more than --max-unobserved 5%/,
      );
      // every job still has its result
      assert.equal(r.stdout.trim().split("\n").length, 16);
      // and with the limit raised to 100% the same run is trusted
      const lax = await run(
        [
          "ip",
          "netns",
          "exec",
          tb.clientNs,
          PATHSPIDER,
          "measure",
          "-i",
          "lo",
          "dscp",
          "--connect",
          "tcp",
          "--max-unobserved",
          "100",
        ],
        { stdin: jobs, timeoutMs: 120_000 },
      );
      assert.equal(lax.code, 0, lax.stderr);
    });

    await t.step(
      "status lines when stderr is not a terminal; --verbose logs each step",
      async () => {
        const out = await measure(
          tb,
          [
            "--verbose",
            "--rate",
            "5",
            "--status-interval",
            "1",
            "dscp",
            "--connect",
            "tcp",
            "--timeout",
            "2",
          ],
          jobs,
        );
        assert.equal(out.code, 0, out.stderr);
        const lines = out.stderr.trim().split("\n");
        const status = lines.filter((l) => l.startsWith("pathspider: status: "));
        // 16 jobs at 5 a second: about three seconds, so two or more lines
        assert.ok(status.length >= 2, out.stderr);
        for (const l of status) {
          assert.match(
            l,
            /^pathspider: status: \d+ jobs, [\d.]+ jobs\/s, \d+ unobserved flows, \d+ kernel drops, ETA unknown$/,
          );
        }
        for (
          const step of [
            /^pathspider: measure dscp on veth-c: model desync, connect tcp, timeout 2 s, 100 workers, at most 5 jobs\/s$/,
            /^pathspider: capture opened on veth-c: chains basic dscp tcp dns, ring \d+ MiB, filter tcp ports \d+-\d+ and ICMP errors/,
            /^pathspider: input: standard input$/,
            /^pathspider: source addresses: IPv4 198\.18\.0\.2, IPv6 fd00:c::2$/,
            /^pathspider: engine done: 16 jobs taken, 16 results, 32 flows \(0 unobserved\)$/,
            /^pathspider: capture on veth-c closed; 0 kernel drops$/,
          ]
        ) assert.ok(lines.some((l) => step.test(l)), `${step} in\n${out.stderr}`);
        // nothing but one-line messages: no stack traces
        assert.ok(!out.stderr.includes("    at "));
      },
    );
  });
});

/**
 * Scheduled runs (issue 12) on the testbed: shards that split a list without overlap or gaps,
 * a seeded order, a paced run.
 */
import assert from "node:assert/strict";
import { Background, run, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, PATHSPIDER, type Result, warmUp } from "./measure_run.ts";

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
        // one worker takes the jobs one after the other, so their first connections start in
        // the order they were taken (results are written as their flows come, in any order)
        const out = await measure(
          tb,
          [
            "-w",
            "1",
            "dscp",
            "--connect",
            "tcp",
            "--timeout",
            "2",
            "--seed",
            seed,
            "--output-flows",
          ],
          jobs,
        );
        assert.equal(out.code, 0, out.stderr);
        const started = out.results.map((r) => ({ dip: r.dip, at: firstStart(r) }));
        orders.push(started.sort((a, b) => a.at - b.at).map((s) => s.dip));
      }
      assert.deepEqual(orders[0], orders[1]);
      assert.deepEqual([...orders[0]!].sort(), all);
      assert.notDeepEqual(orders[0], jobs.trim().split("\n").map((l) => JSON.parse(l).dip));
    });

    await t.step("--rate 4 paces the starts of real connections", async () => {
      const out = await measure(
        tb,
        ["-w", "50", "dscp", "--connect", "tcp", "--timeout", "2", "--rate", "4", "--output-flows"],
        jobs,
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.results.length, 16);
      // a job starts with its first connection: the earliest spdr_start of its flows
      const starts = out.results.map(firstStart).sort((a, b) => a - b);
      // the one-second windows are checked exactly on the pacer's grant times (unit test); a
      // connection's own clock reads later by however long a busy host delays it, so here only
      // that the pacing is wired: 16 jobs at 4 a second take 3 s from first to last start
      // (unpaced, -w 50 starts them all within milliseconds)
      const span = starts[starts.length - 1]! - starts[0]!;
      assert.ok(span >= 2500, `16 jobs at --rate 4 started within ${span} ms`);
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

    await t.step(
      "kill -9 half way, then the same command with --resume: one result per job",
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "psresume-" });
        try {
          const input = `${dir}/jobs.ndjson`, output = `${dir}/results.ndjson`;
          await Deno.writeTextFile(input, jobs);
          const args = [
            PATHSPIDER,
            "measure",
            "-i",
            tb.clientIface,
            "--rate",
            "4",
            "--input",
            input,
            "--output",
            output,
            "--resume",
            "dscp",
            "--connect",
            "tcp",
            "--timeout",
            "2",
          ];
          const lines = async () => {
            try {
              return (await Deno.readTextFile(output)).split("\n").filter((l) => l !== "").length;
            } catch {
              return 0;
            }
          };
          const first = new Background(args, { ns: tb.clientNs });
          for (let i = 0; i < 200 && await lines() < 5; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          const st = await first.stop("SIGKILL");
          assert.equal(st.signal, "SIGKILL");
          assert.match(first.stderr, /resuming .*: no such file yet, measuring every job/);
          const kept = await lines();
          assert.ok(kept >= 5 && kept < 16, `${kept} results before the kill`);
          // what a crash in the middle of a write leaves: a line without its line feed
          await Deno.writeTextFile(output, '{"dip":"198.19.0.', { append: true });
          const again = await run(["ip", "netns", "exec", tb.clientNs, ...args], {
            timeoutMs: 120_000,
          });
          assert.equal(again.code, 0, again.stderr);
          assert.match(
            again.stderr,
            new RegExp(
              `resuming ${output}: ${kept} results kept, a torn last line of 17 bytes dropped`,
            ),
          );
          assert.match(again.stderr, new RegExp(`, ${kept} jobs already in the output`));
          const text = await Deno.readTextFile(output);
          assert.ok(text.endsWith("\n"));
          const dips = text.trim().split("\n").map((l) => JSON.parse(l).dip as string);
          assert.equal(dips.length, 16);
          assert.deepEqual([...dips].sort(), all);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("--metadata: one record of the run, also when interrupted", async () => {
      const dir = await Deno.makeTempDir({ prefix: "psmeta-" });
      try {
        const meta = `${dir}/run.metadata.json`;
        const out = await measure(
          tb,
          ["--metadata", meta, "--vantage", "lab-1", "--seed", "3", "ecn", "--timeout", "2"],
          jobs,
        );
        assert.equal(out.code, 0, out.stderr);
        const m = JSON.parse(await Deno.readTextFile(meta));
        assert.equal(m.tool, "pathspider");
        assert.match(m.version, /^\d+\.\d+\.\d+$/);
        // the source tree is a git checkout: the commit comes from it
        assert.equal(m.commit_from, "git");
        assert.match(m.commit, /^[0-9a-f]{40}(-dirty)?$/);
        assert.deepEqual(m.command_line.slice(0, 3), ["measure", "-i", tb.clientIface]);
        assert.equal(m.plugin, "ecn");
        assert.deepEqual(m.plugin_options, { connect: "http", timeout: 2 });
        assert.equal(m.vantage, "lab-1");
        assert.equal(m.interface, tb.clientIface);
        assert.ok(m.addresses.includes("198.18.0.2/24"), JSON.stringify(m.addresses));
        assert.deepEqual(m.sip, { v4: "198.18.0.2", v6: "fd00:c::2" });
        assert.equal(m.kernel, Deno.osRelease());
        // ecn changes tcp_ecn during the run and puts it back
        assert.equal(typeof m.sysctls.before["net.ipv4.tcp_ecn"], "string");
        assert.deepEqual(m.sysctls.after, m.sysctls.before);
        assert.ok(m.start < m.end && m.start.endsWith("Z"), `${m.start} ${m.end}`);
        assert.equal(m.seed, "3");
        assert.deepEqual([m.shards, m.shard, m.rate], [1, 0, null]);
        assert.equal(m.counts.jobs, 16);
        assert.equal(m.counts.results, 16);
        assert.equal(m.counts.flows, 32);
        assert.deepEqual([m.counts.skipped, m.counts.kernel_drops], [0, 0]);
        assert.deepEqual([m.exit_status, m.interrupted_by, m.error], [0, null, null]);

        // interrupted: SIGINT half way; the record says so
        const input = `${dir}/jobs.ndjson`;
        await Deno.writeTextFile(input, jobs);
        const bg = new Background([
          PATHSPIDER,
          "measure",
          "-i",
          tb.clientIface,
          "--rate",
          "2",
          "--input",
          input,
          "--metadata",
          meta,
          "dscp",
          "--connect",
          "tcp",
        ], { ns: tb.clientNs });
        await bg.waitFor((_e, stdout) => stdout.split("\n").length > 3, 20_000);
        const st = await bg.stop("SIGINT", 20_000);
        assert.equal(st.code, 130, bg.stderr);
        const i = JSON.parse(await Deno.readTextFile(meta));
        assert.deepEqual([i.exit_status, i.interrupted_by], [130, "SIGINT"]);
        assert.ok(i.counts.results >= 3 && i.counts.results < 16, JSON.stringify(i.counts));
        assert.equal(i.counts.results, bg.stdout.trim().split("\n").length);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
});

/** When a job's first connection started (ms), from its flows' `spdr_start`. */
function firstStart(r: Result): number {
  return Math.min(
    ...(r.flow_results as { spdr_start: string }[]).map((f) =>
      Date.parse(f.spdr_start.replace(" ", "T") + "Z") + Number(f.spdr_start.slice(-3)) / 1000
    ),
  );
}

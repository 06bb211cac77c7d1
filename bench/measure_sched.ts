/**
 * Scheduled-run bench (issue 12) on the Internet-like testbed of bench/measure.ts (per-target
 * delays 10-300 ms, 5% silent, a few ECN middleboxes), ours only:
 *  - scale: `measure -w 2000` for dscp and ecn: wall time, jobs/s and peak RSS;
 *  - `--rate R`: the worst one-second window of job starts (a job's first spdr_start) against R,
 *    and the mean rate reached;
 *  - the cost of status lines: the same dscp run with --status-interval 1 against 0.
 *   deno run -A bench/measure_sched.ts [N]     N targets (default 4000, the testbed's most: 8,000 jobs over IPv4+IPv6)
 * Env: WORKERS (2000), RATE (1000), PARTS ("scale rate status"). Results in
 * bench/out/measure_sched.txt. Needs root. Not a test: timings vary with the host.
 *
 * @module
 */
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";
import { epochMs, internetTargets } from "./lib/internet_targets.ts";
import { timedMeasure } from "./lib/timed_measure.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const N = Number(Deno.args[0] ?? 4000);
const WORKERS = Deno.env.get("WORKERS") ?? "2000";
const RATE = Number(Deno.env.get("RATE") ?? 1000);
const PARTS = (Deno.env.get("PARTS") ?? "scale rate status").split(/[ ,]+/);
const PREFIX = "psbs";

const targets = internetTargets(N);

await Deno.mkdir(OUT, { recursive: true });
await cleanupStale(PREFIX);
const t0 = performance.now();
console.error(`bench: building a testbed of ${N} targets (delays 10-300 ms, 5% silent)`);
const tb = await Testbed.create({ prefix: PREFIX, targets, servers: ["http"] });
console.error(`bench: testbed built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const lines: string[] = [];
const say = (l: string) => {
  console.error(l);
  lines.push(l);
};
try {
  const jobs = tb.targets.flatMap((t) =>
    [t.v4, t.v6].map((dip) =>
      JSON.stringify({ dip, dp: 80, domain: t.domain })
    )
  ).join("\n") + "\n";
  const jobsN = N * 2;
  const base = [`${ROOT}bin/pathspider`, "measure", "-i", tb.clientIface];
  const run = (argv: string[], name: string) =>
    timedMeasure(tb, argv, jobs, {
      timeFile: `${OUT}/measure_sched-time.txt`,
      outFile: `${OUT}/measure_sched-${name}.ndjson`,
    }, 1_800_000);
  say(`${jobsN} jobs (${N} targets x IPv4/IPv6), delays 10-300 ms, 5% silent`);
  if (PARTS.includes("scale")) {
    for (const plugin of ["dscp", "ecn"]) {
      const argv = [...base, "-w", WORKERS, "--status-interval", "0", plugin];
      const m = await run(argv, `${plugin}-w${WORKERS}`);
      say(
        `scale ${plugin} -w ${WORKERS}: ${m.wall.toFixed(1)} s, ${(jobsN / m.wall).toFixed(0)} ` +
          `jobs/s, cpu ${m.cpu.toFixed(1)} s, peak RSS ${m.rssMiB.toFixed(0)} MiB, ` +
          `${m.results.size} results; ${m.summary}`,
      );
    }
  }
  if (PARTS.includes("rate")) {
    const argv = [
      ...base,
      "-w",
      WORKERS,
      "--rate",
      String(RATE),
      "--status-interval",
      "0",
      "dscp",
      "--output-flows",
    ];
    const m = await run(argv, `rate${RATE}`);
    const text = await Deno.readTextFile(`${OUT}/measure_sched-rate${RATE}.ndjson`);
    const starts = text.trim().split("\n").map((l) => {
      const r = JSON.parse(l);
      return Math.min(...r.flow_results.map((f: { spdr_start: string }) => epochMs(f.spdr_start)));
    }).sort((a, b) => a - b);
    let worst = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (j < starts.length && starts[j]! < starts[i]! + 1000) j++;
      worst = Math.max(worst, j - i);
    }
    const span = (starts.at(-1)! - starts[0]!) / 1000;
    say(
      `--rate ${RATE} -w ${WORKERS} dscp: worst one-second window ${worst} job starts ` +
        `(limit ${RATE}); mean ${((starts.length - 1) / span).toFixed(1)} starts/s over ` +
        `${span.toFixed(1)} s; wall ${m.wall.toFixed(1)} s, peak RSS ${m.rssMiB.toFixed(0)} MiB`,
    );
  }
  if (PARTS.includes("status")) {
    for (const round of [1, 2]) {
      for (const interval of ["0", "1"]) {
        const argv = [...base, "-w", WORKERS, "--status-interval", interval, "dscp"];
        const m = await run(argv, `status${interval}`);
        say(
          `status lines every ${interval === "0" ? "never" : "1 s"} (round ${round}): wall ` +
            `${m.wall.toFixed(1)} s, cpu ${m.cpu.toFixed(2)} s, peak RSS ${
              m.rssMiB.toFixed(0)
            } MiB`,
        );
      }
    }
  }
} finally {
  await tb.destroy();
}
await Deno.writeTextFile(`${OUT}/measure_sched.txt`, lines.join("\n") + "\n");
console.log(lines.join("\n"));

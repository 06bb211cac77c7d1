/**
 * Where a scale run's time goes (issue 12): `measure -w W dscp|ecn` on the
 * Internet-like testbed of bench/measure_sched.ts (per-target delays 10-300 ms, forward path only,
 * 5% silent), each plugin ROUNDS times over one testbed, and per run:
 *  - wall, CPU seconds and peak RSS (/usr/bin/time); jobs/s over the whole run;
 *  - the steady state: jobs started per second from the first job start to the last (the feeder
 *    runs dry there), and the tail: from the last job start to the end of the process;
 *  - per job (medians, p95, from each result's `time`): hold = first connection start to last
 *    connection end (a worker is busy that long), wait = last connection end to the result
 *    reaching our pipe;
 *  - worker occupancy: the sum of holds over W workers x the time from the first connection start
 *    to the last connection end (1.0: every worker busy all along);
 *  - how long the process ran after its last connection ended (the end-of-run flush and exit).
 *   deno run -A bench/measure_timeline.ts [N]    N targets (default 4000: 8,000 jobs over v4+v6)
 * Env: WORKERS (2000), ROUNDS (3), PLUGINS ("dscp ecn"), BIN (the launcher to time; default this
 * tree's bin/pathspider; several, space-separated, take turns). Results in
 * bench/out/measure_timeline.txt. Needs root. Not a test: timings vary with the host.
 *
 * @module
 */
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";
import { epochMs, internetTargets } from "./lib/internet_targets.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const N = Number(Deno.args[0] ?? 4000);
const WORKERS = Deno.env.get("WORKERS") ?? "2000";
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const PLUGINS = (Deno.env.get("PLUGINS") ?? "dscp ecn").split(/[ ,]+/).filter(Boolean);
const BINS = (Deno.env.get("BIN") ?? `${ROOT}bin/pathspider`).split(/ +/).filter(Boolean);
const PREFIX = "psbt";

const targets = internetTargets(N);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

interface Timeline {
  wall: number;
  cpu: number;
  rssMiB: number;
  results: number;
  steadyRate: number;
  steadySpan: number;
  tail: number;
  /** From the last connection's end to the process's exit (s). */
  exitAfter: number;
  holdMed: number;
  holdP95: number;
  waitMed: number;
  waitP95: number;
  occupancy: number;
  firstStartDelay: number;
}

async function timedRun(tb: Testbed, argv: string[], jobs: string): Promise<Timeline> {
  const timeFile = `${OUT}/measure_timeline-time.txt`;
  const [exe = "", ...args] = tb.clientArgv([
    "/usr/bin/time",
    "-f",
    "%e %U %S %M",
    "-o",
    timeFile,
    ...argv,
  ]);
  const launched = Date.now();
  const child = new Deno.Command(exe, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  const feeding = w.write(new TextEncoder().encode(jobs)).then(() => w.close());
  // each result line with the moment it reached the pipe (epoch ms, the clock of spdr_start)
  const arrivals: { line: string; at: number }[] = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const b of child.stdout) {
      const at = Date.now();
      rest += dec.decode(b, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) if (line) arrivals.push({ line, at });
    }
  })();
  const errText = new Response(child.stderr).text();
  const [status] = await Promise.all([child.status, feeding, reading]);
  const ended = Date.now();
  const stderr = await errText;
  if (!status.success && status.code !== 3) {
    throw new Error(`measure exited ${status.code}: ${stderr.trim().split("\n").pop()}`);
  }
  const times = ((await Deno.readTextFile(timeFile)).trim().split("\n").pop() ?? "").split(" ")
    .map(Number);
  const [wall = NaN, user = NaN, sys = NaN, rss = NaN] = times;
  const starts: number[] = [];
  const holds: number[] = [];
  const waits: number[] = [];
  let lastEnd = 0;
  for (const { line, at } of arrivals) {
    const r = JSON.parse(line);
    const s = epochMs(r.time.from);
    const e = epochMs(r.time.to);
    lastEnd = Math.max(lastEnd, e);
    starts.push(s);
    holds.push(e - s);
    waits.push(at - e);
  }
  starts.sort((a, b) => a - b);
  const first = starts[0]!;
  const last = starts[starts.length - 1]!;
  const steadySpan = (last - first) / 1000;
  const busy = holds.reduce((a, b) => a + b, 0) / 1000;
  return {
    wall,
    cpu: user + sys,
    rssMiB: rss / 1024,
    results: arrivals.length,
    steadyRate: (starts.length - 1) / steadySpan,
    steadySpan,
    tail: (ended - last) / 1000,
    exitAfter: (ended - lastEnd) / 1000,
    holdMed: quantile(holds, 0.5) / 1000,
    holdP95: quantile(holds, 0.95) / 1000,
    waitMed: quantile(waits, 0.5) / 1000,
    waitP95: quantile(waits, 0.95) / 1000,
    occupancy: busy / (Number(WORKERS) * (lastEnd - first) / 1000),
    firstStartDelay: (first - launched) / 1000,
  };
}

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
  say(`${jobsN} jobs (${N} targets x IPv4/IPv6), delays 10-300 ms, 5% silent, -w ${WORKERS}`);
  const f = (x: number, d = 1) => x.toFixed(d);
  const all = new Map<string, Timeline[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const plugin of PLUGINS) {
      for (const bin of BINS) {
        const argv = [
          bin,
          "measure",
          "-i",
          tb.clientIface,
          "-w",
          WORKERS,
          "--status-interval",
          "0",
        ];
        const m = await timedRun(tb, [...argv, plugin], jobs);
        const key = `${plugin} ${bin}`;
        all.set(key, [...(all.get(key) ?? []), m]);
        say(
          `${plugin} ${bin} round ${round}: wall ${f(m.wall)} s, ${f(jobsN / m.wall, 0)} jobs/s, ` +
            `cpu ${f(m.cpu)} s, rss ${f(m.rssMiB, 0)} MiB, ${m.results} results; first start ` +
            `${f(m.firstStartDelay, 2)} s after launch; steady ${f(m.steadyRate, 0)} starts/s ` +
            `over ${f(m.steadySpan)} s; tail ${f(m.tail)} s (exit ${
              f(m.exitAfter, 2)
            } s after the last connection); hold med ${f(m.holdMed, 2)} ` +
            `p95 ${f(m.holdP95, 2)} s; flow wait med ${f(m.waitMed, 2)} p95 ${
              f(m.waitP95, 2)
            } s; ` +
            `occupancy ${f(m.occupancy, 2)}`,
        );
      }
    }
  }
  for (const [key, ms] of all) {
    const med = (g: (m: Timeline) => number) => quantile(ms.map(g), 0.5);
    say(
      `median of ${ms.length}, ${key}: wall ${f(med((m) => m.wall))} s, ` +
        `${f(med((m) => jobsN / m.wall), 0)} jobs/s, steady ${f(med((m) => m.steadyRate), 0)} ` +
        `starts/s, tail ${f(med((m) => m.tail))} s, cpu ${f(med((m) => m.cpu))} s, rss ` +
        `${f(med((m) => m.rssMiB), 0)} MiB`,
    );
  }
} finally {
  await tb.destroy();
}
await Deno.writeTextFile(`${OUT}/measure_timeline.txt`, lines.join("\n") + "\n");
console.log(lines.join("\n"));

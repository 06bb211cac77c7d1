/**
 * Measure benchmark on an Internet-like testbed: N targets (default 1000, each over IPv4 and
 * IPv6) behind a router that delays each target's path by 10-300 ms, keeps 5% of them silent
 * and plays a few ECN middleboxes. Runs `measure ecn` and `measure dscp` (PLUGINS="ecn dscp")
 * with ours and with the original PATHspider (TOOLS="ours original"; each with its default worker
 * count, then both with 100 workers unless QUICK=1; MODES, e.g. "w20 w100 w500", and DSCP_CODEPOINT
 * below), and reports
 * wall time, jobs/s, CPU, peak RSS and how often
 * both give the same conditions for a job.
 *   deno run -A bench/measure.ts [N]       results in bench/out/measure.{txt,json}; needs root
 *
 * @module
 */
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";
import { internetTargets } from "./lib/internet_targets.ts";
import { type TimedMeasure, timedMeasure } from "./lib/timed_measure.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const PEER = Deno.env.get("PEER") ?? `${ROOT}../shared/peer/pspdr-peer`;
const N = Number(Deno.args[0] ?? 1000);
const PREFIX = "psbm";

const targets = internetTargets(N);

interface Run extends TimedMeasure {
  tool: string;
  plugin: string;
  workers: string;
}

async function measure(
  tb: Testbed,
  tool: string,
  plugin: string,
  argv: string[],
  jobs: string,
): Promise<Run> {
  const w = argv.includes("-w") ? argv[argv.indexOf("-w") + 1]! : "default";
  const m = await timedMeasure(tb, argv, jobs, {
    timeFile: `${OUT}/measure-time.txt`,
    outFile: `${OUT}/measure-${plugin}-${tool}-w${w}.ndjson`,
  }, 1_200_000);
  return { tool, plugin, workers: w, ...m };
}

await Deno.mkdir(OUT, { recursive: true });
await cleanupStale(PREFIX);
console.error(`bench: building a testbed of ${N} targets (delays 10-300 ms, 5% silent)`);
const tb = await Testbed.create({ prefix: PREFIX, targets, servers: ["http"] });
const runs: Run[] = [];
try {
  const jobs = tb.targets.flatMap((t) =>
    [t.v4, t.v6].map((dip) =>
      JSON.stringify({ dip, dp: 80, domain: t.domain })
    )
  ).join("\n") + "\n";
  const ours = [`${ROOT}bin/pathspider`, "measure", "-i", tb.clientIface];
  const orig = [PEER, "measure", "-i", tb.clientIface];
  const plans: [string, string, string[]][] = [];
  // MODES: "default" (each tool at its default workers) and/or "wN" (both at N workers, e.g.
  // "w100 w500"); QUICK=1 means "default" only, the default is "default w100". DSCP_CODEPOINT=N
  // gives both tools the same codepoint, so that their dscp conditions can be compared (the
  // defaults differ: 46 here, 48 in the original's code).
  const modes = (Deno.env.get("MODES") ?? (Deno.env.get("QUICK") ? "default" : "default w100"))
    .split(/[ ,]+/).filter(Boolean);
  for (const m of modes) {
    if (m !== "default" && !/^w[1-9][0-9]*$/.test(m)) {
      throw new Error(`MODES: "${m}" is neither "default" nor "w" and a worker count`);
    }
  }
  for (const plugin of (Deno.env.get("PLUGINS") ?? "ecn dscp").split(/[ ,]+/).filter(Boolean)) {
    const cp = Deno.env.get("DSCP_CODEPOINT");
    const extra = plugin === "dscp" && cp ? ["--codepoint", cp] : [];
    for (const m of modes) {
      const w = m === "default" ? [] : ["-w", m.slice(1)];
      plans.push(["ours", plugin, [...ours, ...w, plugin, ...extra]]);
      plans.push(["original", plugin, [...orig, ...w, plugin, ...extra]]);
    }
  }
  const tools = (Deno.env.get("TOOLS") ?? "ours original").split(/[ ,]+/);
  for (const [tool, plugin, argv] of plans) {
    if (!tools.includes(tool)) continue;
    if (tool === "original" && !(await Deno.stat(PEER).catch(() => null))) continue;
    console.error(`bench: ${argv.join(" ")} < ${N * 2} jobs`);
    runs.push(await measure(tb, tool, plugin, argv, jobs));
  }
} finally {
  await tb.destroy();
}

const jobsN = N * 2;
const lines = [
  `measure, ${jobsN} jobs (${N} targets x IPv4/IPv6), delays 10-300 ms, 5% silent`,
  `${"plugin".padEnd(6)} ${"tool".padEnd(10)} ${"workers".padEnd(8)} ${"wall".padStart(8)} ${
    "jobs/s".padStart(8)
  } ${"cpu".padStart(8)} ${"rss MiB".padStart(8)} ${"results".padStart(8)}`,
  ...runs.map((r) =>
    `${r.plugin.padEnd(6)} ${r.tool.padEnd(10)} ${r.workers.padEnd(8)} ${
      r.wall.toFixed(1).padStart(7)
    }s ${(jobsN / r.wall).toFixed(1).padStart(8)} ${r.cpu.toFixed(1).padStart(7)}s ${
      r.rssMiB.toFixed(0).padStart(8)
    } ${String(r.results.size).padStart(8)}`
  ),
];
for (const p of new Set(runs.map((r) => r.plugin))) {
  for (const w of new Set(runs.map((r) => r.workers))) {
    const a = runs.find((r) => r.plugin === p && r.tool === "ours" && r.workers === w);
    const b = runs.find((r) => r.plugin === p && r.tool === "original" && r.workers === w);
    if (!a || !b) continue;
    let same = 0;
    for (const [k, v] of a.results) if (b.results.get(k) === v) same++;
    lines.push(
      `${p}, workers ${w}: same conditions for ${same}/${jobsN} jobs; ours ${
        (b.wall / a.wall).toFixed(1)
      }x the original's speed`,
    );
  }
}
for (const r of runs) lines.push(`${r.plugin} ${r.tool} (${r.workers}): ${r.summary}`);
const text = lines.join("\n") + "\n";
await Deno.writeTextFile(`${OUT}/measure.txt`, text);
await Deno.writeTextFile(
  `${OUT}/measure.json`,
  JSON.stringify(runs.map((r) => ({ ...r, results: r.results.size })), null, 2),
);
console.log(text);

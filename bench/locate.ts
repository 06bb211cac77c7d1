/**
 * Locate benchmark: `measure dscp --locate all` over N targets (default 1000, IPv4) on the
 * delayed network of the benches (each target's path delayed 10-300 ms by the testbed's delay
 * element) with three routers, every target discrepant: DSCP bleached at router 1 (40%),
 * remarked at router 2 (40%), or EF dropped at router 2 (20%, located as a drop after silent
 * hops). Reports the wall time of the run with --locate and without it (the difference is the
 * locating; -w jobs are traced at once, probes paced at 500/s or --rate), the probes per located
 * job (median, worst) from the run's summary line, and whether any job's conditions changed.
 *
 *   deno run -A bench/locate.ts [N]      results in bench/out/locate.{txt,json}; needs root
 *
 * @module
 */
import type { Behaviour } from "../tests/e2e/lib/testbed.ts";
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const PATHSPIDER = `${ROOT}bin/pathspider`;
const N = Number(Deno.args[0] ?? 1000);
const PREFIX = "psbl";

let seed = 42;
function rand(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}

function target(i: number) {
  const r = rand();
  const at: Record<number, Behaviour[]> = r < 0.4
    ? { 1: ["bleach-dscp"] }
    : r < 0.8
    ? { 2: ["remark-dscp"] }
    : { 2: ["drop-dscp46"] };
  return { name: `t${i}`, v6: false, delayMs: Math.round(10 + rand() * 290), behaviourAt: at };
}

async function timed(tb: Testbed, args: string[], jobs: string) {
  const t0 = performance.now();
  const r = await tb.exec([PATHSPIDER, "measure", "-i", tb.clientIface, ...args], tb.clientNs, {
    stdin: jobs,
    timeoutMs: 1_800_000,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`measure failed (${r.code}): ${r.stderr.slice(-500)}`);
  const lines = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return { wall, lines, stderr: r.stderr };
}

await cleanupStale(PREFIX);
await Deno.mkdir(OUT, { recursive: true });
console.error(`bench: building a testbed of ${N} targets behind 3 routers (delays 10-300 ms)`);
const tb = await Testbed.create({
  prefix: `${PREFIX}${Deno.pid % 1000}`,
  routers: 3,
  servers: ["http"],
  targets: Array.from({ length: N }, (_, i) => target(i + 1)),
});
try {
  const jobs = tb.targets.map((t) => JSON.stringify({ dip: t.v4, dp: 80 }) + "\n").join("");
  const common = ["-w", "100", "--quiet"];
  const plain = await timed(tb, [...common, "dscp", "--timeout", "2"], jobs);
  const loc = await timed(tb, [...common, "--locate", "all", "dscp", "--timeout", "2"], jobs);
  // 500 jobs traced at once (-w) and probes at 2000/s instead of the default 500/s (--rate also
  // bounds job starts per second)
  const fast = await timed(
    tb,
    ["-w", "500", "--quiet", "--rate", "2000", "--locate", "all", "dscp", "--timeout", "2"],
    jobs,
  );
  // locating must not change what was measured: conditions per target alike in both runs
  const conds = (lines: Record<string, unknown>[]) =>
    new Map(lines.map((l) => [l.dip, JSON.stringify([...(l.conditions as string[])].sort())]));
  const before = conds(plain.lines), after = conds(loc.lines);
  const changed = [...before].filter(([k, v]) => after.get(k) !== v).length;
  const m = loc.stderr.match(
    /located (\d+) jobs with (\d+) probes \(per job: median (\d+), worst (\d+)\)/,
  );
  const found = loc.lines.filter((l) => Array.isArray(l.located) && l.located.length > 0).length;
  const drops = loc.lines.filter((l) => l.located?.some((e: { what: string }) => e.what === "drop"))
    .length;
  const res = {
    targets: N,
    wallPlain: plain.wall,
    wallLocate: loc.wall,
    locateSeconds: loc.wall - plain.wall,
    located: Number(m?.[1]),
    probes: Number(m?.[2]),
    medianProbes: Number(m?.[3]),
    worstProbes: Number(m?.[4]),
    withEntries: found,
    drops,
    wallLocateRate2000: fast.wall,
    conditionsChanged: changed,
  };
  const text = [
    `measure dscp --locate all, ${N} IPv4 targets, 3 routers, delays 10-300 ms, -w 100`,
    `  wall without --locate: ${plain.wall.toFixed(1)} s; with: ${loc.wall.toFixed(1)} s ` +
    `(locating: ${(loc.wall - plain.wall).toFixed(1)} s)`,
    `  with -w 500 --rate 2000 (500 traces at once, probes at 2000/s): ${fast.wall.toFixed(1)} s`,
    `  jobs whose conditions differ with --locate: ${changed}`,
    `  located ${res.located} jobs (${found} with entries, ${drops} drops), ${res.probes} probes; ` +
    `per job median ${res.medianProbes}, worst ${res.worstProbes}`,
  ].join("\n");
  console.log(text);
  await Deno.writeTextFile(`${OUT}/locate.txt`, text + "\n");
  await Deno.writeTextFile(`${OUT}/locate.json`, JSON.stringify(res, null, 2) + "\n");
} finally {
  await tb.destroy();
}

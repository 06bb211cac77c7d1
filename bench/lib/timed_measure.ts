/**
 * One timed `measure` run in a testbed's client namespace, for the benches that compare ours
 * with the original (bench/measure.ts, bench/forge.ts): wall time, CPU seconds and peak RSS from
 * /usr/bin/time, each job's sorted conditions, and the tool's last summary line.
 * @module
 */
import type { Testbed } from "../../tests/e2e/lib/testbed.ts";

/** What one run measured. */
export interface TimedMeasure {
  wall: number;
  cpu: number;
  rssMiB: number;
  /** Each job's conditions, sorted and joined, keyed by `dip dp`. */
  results: Map<string, string>;
  /** The last stderr line that is not Python logging (the original) or our summary. */
  summary: string;
}

/**
 * Runs `argv` (a `measure` command line) with `jobs` on stdin; its stdout is kept in
 * `outFile`. `timeFile` is scratch space for /usr/bin/time.
 */
export async function timedMeasure(
  tb: Testbed,
  argv: string[],
  jobs: string,
  files: { timeFile: string; outFile: string },
  timeoutMs: number,
): Promise<TimedMeasure> {
  // the original only notices the end of its input when a packet arrives: keep a little traffic
  const pinger = tb.spawn(["ping", "-q", "-i", "0.2", "198.18.0.1"]);
  const r = await tb.exec(
    ["/usr/bin/time", "-f", "%e %U %S %M", "-o", files.timeFile, ...argv],
    tb.clientNs,
    { stdin: jobs, timeoutMs },
  );
  await pinger.stop("SIGINT");
  const [wall, user, sys, rss] = (await Deno.readTextFile(files.timeFile)).trim().split("\n")
    .pop()!.split(" ").map(Number);
  if (wall === undefined || user === undefined || sys === undefined || rss === undefined) {
    throw new Error(`${files.timeFile}: no "wall user sys rss" line`);
  }
  const results = new Map<string, string>();
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const j = JSON.parse(line);
    results.set(`${j.dip} ${j.dp}`, [...(j.conditions ?? [])].sort().join(" "));
  }
  await Deno.writeTextFile(files.outFile, r.stdout);
  const summary = r.stderr.trim().split("\n").filter((l) => !/^INFO|^DEBUG|^WARNING/.test(l))
    .pop() ?? "";
  return { wall, cpu: user + sys, rssMiB: rss / 1024, results, summary };
}

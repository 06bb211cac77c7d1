/**
 * Throughput of `measure` on a fast testbed: N distinct IPv4 targets (default 1000) answered by
 * nginx in the server namespace (an AnyIP /22), no delay, no middlebox. Each argument is one run:
 * `ours` or `peer` (the original PATHspider), then the measure arguments. Prints, per run, the
 * wall time (process start to exit), jobs/s, the conditions' connectivity counts and how many
 * flows were not observed.
 *
 *   deno run -A bench/measure_load.ts [N] "ours -w 500 ecn" "ours -w 500 dscp" "peer -w 500 ecn"
 *
 * Needs root. The original only notices the end of its input when a packet arrives, so a ping
 * runs during its runs.
 * @module
 */
import { NET, run, Testbed } from "../tests/e2e/lib/testbed.ts";
import { warmUp } from "../tests/e2e/measure_run.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PEER = Deno.env.get("PEER") ?? `${ROOT}../shared/peer/pspdr-peer`;
const args = [...Deno.args];
const N = /^\d+$/.test(args[0] ?? "") ? Number(args.shift()) : 1000;
if (N > 1024) throw new Error("at most 1024 targets (one /22)");
const runs = args.length > 0 ? args : ["ours -w 500 ecn", "ours -w 500 dscp"];

const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v6: false }] });
try {
  await run(["ip", "route", "add", "local", "198.19.4.0/22", "dev", "lo"], {
    ns: tb.serverNs,
    check: true,
  });
  await run(["ip", "route", "add", "198.19.4.0/22", "via", NET.server4], {
    ns: tb.routerNs,
    check: true,
  });
  await warmUp(tb);
  let jobs = "";
  for (let i = 0; i < N; i++) {
    jobs += JSON.stringify({ dip: `198.19.${4 + (i >> 8)}.${i & 255}`, dp: 80 }) + "\n";
  }
  await Deno.writeTextFile(`${tb.dir}/jobs.ndjson`, jobs);
  for (const spec of runs) {
    const [tool, ...rest] = spec.split(" ");
    const bin = tool === "peer" ? PEER : `${ROOT}bin/pathspider`;
    const out = `${tb.dir}/out.ndjson`;
    const ping = tool === "peer" ? tb.spawn(["ping", "-q", "-i", "0.2", NET.routerClient4]) : null;
    const t0 = performance.now();
    const r = await run([
      "ip",
      "netns",
      "exec",
      tb.clientNs,
      bin,
      "measure",
      "-i",
      tb.clientIface,
      "--input",
      `${tb.dir}/jobs.ndjson`,
      "--output",
      out,
      ...rest,
    ], { timeoutMs: 1_800_000 });
    const secs = (performance.now() - t0) / 1000;
    await ping?.stop("SIGTERM", 1000);
    const results = (await Deno.readTextFile(out)).split("\n").filter(Boolean).map((l) =>
      JSON.parse(l)
    );
    const counts: Record<string, number> = {};
    for (const res of results) {
      for (const c of res.conditions ?? []) {
        if (/connectivity|not_observed/.test(c)) counts[c] = (counts[c] ?? 0) + 1;
      }
    }
    console.log(
      `${spec}: exit ${r.code}, ${results.length} results for ${N} jobs in ${secs.toFixed(2)} s ` +
        `= ${(N / secs).toFixed(1)} jobs/s; ${JSON.stringify(counts)}`,
    );
    const summary = r.stderr.trim().split("\n").filter((l) => l.startsWith("pathspider:")).pop();
    if (summary) console.log(`  ${summary}`);
  }
} finally {
  await tb.destroy();
}

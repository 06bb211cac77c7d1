/**
 * The measure demo (`make demo`): builds a network-namespace testbed whose router plays
 * middleboxes for some targets, runs `pathspider measure ecn` and `measure dscp` from the client
 * namespace against every target over IPv4 and IPv6, prints the results and tears it all down.
 * Needs root. `deno run -A examples/demo-measure.ts`
 *
 * @module
 */
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PREFIX = "psdemo";

await cleanupStale(PREFIX);
console.error("demo: building the testbed (client, router with nftables middleboxes, servers)");
const tb = await Testbed.create({
  prefix: PREFIX,
  targets: [
    { name: "clean" },
    { name: "ecn-syn-dropped", behaviour: ["drop-ecn-syn"] },
    { name: "ect-cleared-on-replies", behaviour: ["clear-ect-rev"] },
    { name: "ef-dropped", behaviour: ["drop-dscp46"] },
    { name: "replies-remarked", behaviour: ["remark-replies"] },
    { name: "offline", behaviour: ["offline"] },
  ],
});
let failed = false;
try {
  const jobs = tb.targets.flatMap((t) =>
    [t.v4, t.v6].map((dip) =>
      JSON.stringify({ dip, dp: 80, domain: t.domain })
    )
  ).join("\n") + "\n";
  for (const plugin of ["ecn", "dscp"]) {
    const argv = ["measure", "-i", tb.clientIface, plugin, "--timeout", "2"];
    console.log(`\n$ pathspider ${argv.join(" ")} < jobs.ndjson   (${tb.targets.length * 2} jobs)`);
    const r = await tb.exec([`${ROOT}bin/pathspider`, ...argv], tb.clientNs, {
      stdin: jobs,
      timeoutMs: 120_000,
    });
    if (r.code !== 0) {
      failed = true;
      console.log(`measure ${plugin} failed (exit ${r.code}): ${r.stderr.trim()}`);
      continue;
    }
    const results = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    for (const t of tb.targets) {
      for (const res of results.filter((x) => x.domain === t.domain)) {
        const path = `${t.name} (${t.behaviour.join(", ")})`;
        console.log(`  ${res.dip.padEnd(11)} ${path.padEnd(38)} ${res.conditions.join(" ")}`);
      }
    }
    console.log(`  ${r.stderr.trim().split("\n").pop()}`);
  }
} finally {
  await tb.destroy();
  console.error("demo: testbed removed");
}
if (failed) Deno.exit(1);

/**
 * `measure` then `report`, end to end: two runs of `measure ecn` in the testbed, the second with
 * a middlebox that drops ECN SYNs added on one target's path, each with `--metadata` beside its
 * results (gzip for the second); `report` picks the metadata up, orders the runs by their start,
 * and `--compare` lists exactly the target whose path changed.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { run, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, PATHSPIDER, warmUp } from "./measure_run.ts";

async function report(args: string[]) {
  const r = await run([PATHSPIDER, "report", ...args], { timeoutMs: 60_000 });
  assertEquals(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("report reads measure's results and metadata and finds the changed path", async () => {
  const tb = await Testbed.create({
    targets: [{ name: "clean" }, { name: "later-dropped" }, {
      name: "offline",
      behaviour: ["offline"],
    }],
  });
  const dir = await Deno.makeTempDir();
  try {
    await warmUp(tb);
    const jobs = jobsFor(tb).replaceAll('"name"', '"dp":80,"name"');
    const first = await measure(tb, [
      "--metadata",
      `${dir}/monday.metadata.json`,
      "--vantage",
      "lab",
      "ecn",
      "--timeout",
      "2",
    ], jobs);
    assert(first.code === 0 || first.code === 4, first.stderr);
    await Deno.writeTextFile(`${dir}/monday.ndjson`, first.stdout);
    // the second run: ECN SYNs to one target are dropped on the way from now on
    const t = tb.target("later-dropped");
    await tb.addTargetRules({
      // as the drop-ecn-syn behaviour: nftables calls ECE "ecn"
      "later-dropped": (f, a) => [`${f} daddr ${a} tcp flags & (syn|ecn|cwr) == syn|ecn|cwr drop`],
    });
    const second = await measure(tb, [
      "--metadata",
      `${dir}/tuesday.metadata.json`,
      "--vantage",
      "lab",
      "ecn",
      "--timeout",
      "2",
    ], jobs);
    assert(second.code === 0 || second.code === 4, second.stderr);
    const gz = new Blob([second.stdout]).stream().pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(`${dir}/tuesday.ndjson.gz`, gz);

    // given in the wrong order: the metadata's start puts Monday first
    const j = JSON.parse(
      await report(["--json", `${dir}/tuesday.ndjson.gz`, `${dir}/monday.ndjson`]),
    );
    assertEquals(j.jobs, 12);
    assertEquals(j.files.map((f: { path: string }) => f.path), [
      `${dir}/monday.ndjson`,
      `${dir}/tuesday.ndjson.gz`,
    ]);
    assertEquals(j.files[0].metadata.vantage, "lab");
    assertEquals(j.files[0].metadata.counts.jobs, 6);
    assertEquals(j.series[0].conditions["ecn.connectivity.works"], 4);
    assertEquals(j.series[0].conditions["ecn.connectivity.offline"], 2);
    assertEquals(j.series[1].conditions["ecn.connectivity.works"], 2);
    assertEquals(j.series[1].conditions["ecn.connectivity.broken"], 2);

    const c = JSON.parse(
      await report(["--json", "--compare", `${dir}/monday.ndjson`, `${dir}/tuesday.ndjson.gz`]),
    );
    assertEquals(
      c.changed.map((x: { dip: string }) => x.dip).sort(),
      [t.v4, t.v6].sort(),
    );
    assertEquals(c.compare.path_dependent.targets, 2);
    const text = await report([`${dir}/monday.ndjson`, "--by", "vantage"]);
    assert(text.includes("lab: 6 results"), text);
  } finally {
    await tb.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

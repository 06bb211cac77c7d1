/**
 * `pathspider report` against hand counts of real runs: tests/report/fixtures holds the results
 * of `measure ecn` and `measure dscp --codepoint 46` (with --output-flows) by ours and by the
 * original PATHspider 2.0.1 against the same testbed (regenerate with fixtures/make.ts). The
 * expected numbers below were counted by hand from those files, not computed by the code under
 * test.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { conditionParts } from "../../src/report/condition.ts";
import { asnOfResult, prefixOf } from "../../src/report/group.ts";
import { keyTarget, targetKey } from "../../src/report/compare.ts";

const FIX = new URL("../report/fixtures/", import.meta.url).pathname;
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function report(args: string[], stdin?: Uint8Array): Promise<Run> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "report", ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  const child = cmd.spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function reportJson(args: string[], stdin?: Uint8Array) {
  const r = await report([...args, "--json"], stdin);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

Deno.test("conditionParts finds plugin, family (skipping codepoints), name and value", () => {
  assertEquals(conditionParts("ecn.connectivity.works"), {
    plugin: "ecn",
    family: "connectivity",
    name: "ecn.connectivity.works",
    value: null,
  });
  assertEquals(conditionParts("dscp.46.replymark:0"), {
    plugin: "dscp",
    family: "replymark",
    name: "dscp.46.replymark",
    value: "0",
  });
  assertEquals(conditionParts("dscp.46.connectivity.broken").family, "connectivity");
  assertEquals(conditionParts("mss.option.local.value:1460").family, "option");
  assertEquals(conditionParts("ecn.ipmark.ect0.seen").family, "ipmark");
  assertEquals(conditionParts("pathspider.missed_flows:2").name, "pathspider.missed_flows");
  assertEquals(conditionParts("x.0x2e").family, "");
});

Deno.test("report counts our ecn run as counted by hand", async () => {
  const j = await reportJson([`${FIX}ours_ecn.ndjson`]);
  assertEquals(j.jobs, 12);
  assertEquals(j.skipped, 0);
  assertEquals(j.conditions, {
    "ecn.connectivity.works": 8,
    "ecn.connectivity.broken": 2,
    "ecn.connectivity.offline": 2,
    "ecn.negotiation.succeeded": 8,
    "ecn.ipmark.ect0.seen": 6,
    "ecn.ipmark.ect0.not_seen": 2,
    "ecn.ipmark.ect1.not_seen": 8,
    "ecn.ipmark.ce.not_seen": 8,
  });
  // broken: the ECN SYN times out (one connection each of 2 targets); offline: both of 2 targets
  assertEquals(j.quality.timeout_results, 4);
  assertEquals(j.quality.timeout_flows, 6);
  assertEquals(j.quality.with_flow_results, 12);
  assertEquals(j.quality.missed_flows_results, 0);
  assertEquals(Object.keys(j.families.ecn), ["connectivity", "negotiation", "ipmark"]);
});

Deno.test("report counts the original's ecn and dscp runs as counted by hand", async () => {
  const ecn = await reportJson([`${FIX}orig_ecn.ndjson`]);
  assertEquals(ecn.jobs, 12);
  assertEquals(ecn.conditions, {
    "ecn.connectivity.works": 10,
    "ecn.connectivity.offline": 2,
    "ecn.negotiation.succeeded": 8,
    "ecn.negotiation.failed": 2,
    "ecn.ipmark.ect0.seen": 6,
    "ecn.ipmark.ect0.not_seen": 4,
    "ecn.ipmark.ect1.not_seen": 10,
    "ecn.ipmark.ce.not_seen": 10,
    "pathspider.not_observed": 2,
    "pathspider.missed_flows:2": 2,
  });
  assertEquals(ecn.quality.not_observed, 2);
  assertEquals(ecn.quality.missed_flows_results, 2);
  assertEquals(ecn.quality.missed_flows, 4);
  // the original reports a failed connection (state 1), never a timeout, for these targets
  assertEquals(ecn.quality.timeout_flows, 0);
  const dscp = await reportJson([`${FIX}orig_dscp.ndjson`]);
  assertEquals(dscp.conditions["dscp.46.connectivity.works"], 8);
  assertEquals(dscp.conditions["dscp.0.replymark:0"], 6);
  assertEquals(dscp.conditions["dscp.0.replymark:10"], 2);
  assertEquals(dscp.conditions["pathspider.missed_flows:1"], 2);
  assertEquals(dscp.quality.missed_flows, 6);
  assertEquals(Object.keys(dscp.families.dscp), ["connectivity", "replymark"]);
  assertEquals(dscp.families.dscp.replymark, {
    "dscp.0.replymark:0": 6,
    "dscp.0.replymark:10": 2,
    "dscp.46.replymark:0": 6,
    "dscp.46.replymark:10": 2,
  });
});

Deno.test("report prints the table with denominators and groups values under their name", async () => {
  const r = await report([`${FIX}ours_dscp.ndjson`]);
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.includes("data-quality shares are of the 12 results read"), r.stdout);
  assert(/dscp\.46\.connectivity\.works\s+8\s+66\.7%/.test(r.stdout), r.stdout);
  assert(/dscp\.0\.replymark\n\s+:0\s+8\s+66\.7%\n\s+:10\s+2\s+16\.7%/.test(r.stdout), r.stdout);
  assert(/results with a timed-out connection\s+4\s+33\.3%/.test(r.stdout), r.stdout);
});

Deno.test("report over two plugins' files divides each plugin's counts by its own results", async () => {
  // 12 ecn results and 12 dscp results: dscp.46.connectivity.works is 8 of the 12 dscp results
  // (66.7%), not 8 of all 24 (33.3%); data quality stays a share of all 24
  const r = await report([`${FIX}ours_ecn.ndjson`, `${FIX}ours_dscp.ndjson`]);
  assertEquals(r.code, 0, r.stderr);
  assert(/^ {2}ecn \(12 results\)$/m.test(r.stdout), r.stdout);
  assert(/^ {2}dscp \(12 results\)$/m.test(r.stdout), r.stdout);
  assert(/dscp\.46\.connectivity\.works\s+8\s+66\.7%/.test(r.stdout), r.stdout);
  assert(/results with a timed-out connection\s+\d+\s+[\d.]+%\s+of 24/.test(r.stdout), r.stdout);
  const j = await reportJson([`${FIX}ours_ecn.ndjson`, `${FIX}ours_dscp.ndjson`]);
  assertEquals(j.plugins, { ecn: 12, dscp: 12 });
});

Deno.test("report reads gzip files and stdin as the plain file", async () => {
  const plain = await reportJson([`${FIX}ours_ecn.ndjson`]);
  const gz = await reportJson([`${FIX}ours_ecn.ndjson.gz`]);
  assertEquals(gz.conditions, plain.conditions);
  const piped = await reportJson(["-"], await Deno.readFile(`${FIX}ours_ecn.ndjson.gz`));
  assertEquals(piped.conditions, plain.conditions);
  assertEquals(piped.files[0].label, "stdin");
});

Deno.test("report counts a torn last line as skipped and says so once", async () => {
  const text = await Deno.readTextFile(`${FIX}orig_ecn.ndjson`);
  const torn = text.slice(0, text.length - 200); // cut inside the last record
  const f = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    await Deno.writeTextFile(f, "not json\n" + torn);
    const r = await report([f, "--json"]);
    assertEquals(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assertEquals(j.jobs, 11);
    assertEquals(j.skipped, 2);
    assertEquals(j.files[0].torn_last_line, true);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 2, r.stderr);
    assert(lines[0]!.includes("line 1: not valid JSON"), r.stderr);
    assert(lines[1]!.includes("the last line (13) is torn"), r.stderr);
    assert(!r.stderr.includes(" at "), "no stack trace");
  } finally {
    await Deno.remove(f);
  }
});

Deno.test("report --compare lists exactly the targets whose conditions changed", async () => {
  const j = await reportJson(["--compare", `${FIX}ours_ecn.ndjson`, `${FIX}orig_ecn.ndjson`]);
  assertEquals(j.compare.runs, ["ours_ecn", "orig_ecn"]);
  assertEquals(j.compare.targets, 12);
  assertEquals(j.compare.in_all, 12);
  // by hand: ours calls the ECN-SYN-dropping path broken, the original works with negotiation
  // failed; on the offline targets the original adds not_observed and missed_flows:2
  const changed = j.changed.map((c: { dip: string; dp: number }) => `${c.dip} ${c.dp}`).sort();
  assertEquals(changed, ["198.19.0.2 80", "198.19.0.6 80", "fd00:5::2 80", "fd00:5::6 80"]);
  const t2 = j.changed.find((c: { dip: string }) => c.dip === "198.19.0.2");
  assertEquals(t2.conditions[0], ["ecn.connectivity.broken"]);
  assertEquals(t2.conditions[1], [
    "ecn.connectivity.works",
    "ecn.ipmark.ce.not_seen",
    "ecn.ipmark.ect0.not_seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.negotiation.failed",
  ]);
  assertEquals(j.compare.matrix, [[0, 4], [4, 0]]);
  assertEquals(j.compare.path_dependent.targets, 2);
  assertEquals(j.compare.path_dependent.pairs, [[0, 2], [0, 0]]);
});

Deno.test("report --compare with one file compares its results' vantage points", async () => {
  const lines = [
    { vantage: "a", dip: "192.0.2.1", dp: 80, conditions: ["ecn.connectivity.works"] },
    { vantage: "b", dip: "192.0.2.1", dp: 80, conditions: ["ecn.connectivity.broken"] },
    { vantage: "a", dip: "192.0.2.2", dp: 80, conditions: ["ecn.connectivity.works"] },
    { vantage: "b", dip: "192.0.2.2", dp: 80, conditions: ["ecn.connectivity.works"] },
    { vantage: "b", dip: "192.0.2.2", dp: 443, conditions: ["ecn.connectivity.works"] },
  ].map((l) => JSON.stringify(l)).join("\n") + "\n";
  const j = await reportJson(["--compare", "-"], new TextEncoder().encode(lines));
  assertEquals(j.compare.runs, ["a", "b"]);
  assertEquals(j.compare.targets, 3);
  assertEquals(j.compare.in_all, 2);
  assertEquals(j.changed, [{
    dip: "192.0.2.1",
    dp: 80,
    conditions: [["ecn.connectivity.works"], ["ecn.connectivity.broken"]],
  }]);
  assertEquals(j.compare.path_dependent.pairs, [[0, 0], [1, 0]]);
});

Deno.test("report takes several files as a time series in metadata start order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(`${FIX}ours_ecn.ndjson`, `${dir}/later.ndjson`);
    await Deno.copyFile(`${FIX}orig_ecn.ndjson`, `${dir}/earlier.ndjson`);
    await Deno.writeTextFile(
      `${dir}/later.metadata.json`,
      JSON.stringify({ vantage: "zurich", start: "2026-12-02T00:00:00Z", plugin: "ecn" }),
    );
    await Deno.writeTextFile(
      `${dir}/earlier.metadata.json`,
      JSON.stringify({ vantage: "zurich", start: "2026-12-01T00:00:00Z", plugin: "ecn" }),
    );
    const j = await reportJson([`${dir}/later.ndjson`, `${dir}/earlier.ndjson`]);
    assertEquals(j.series.map((s: { start: string }) => s.start), [
      "2026-12-01T00:00:00Z",
      "2026-12-02T00:00:00Z",
    ]);
    assertEquals(j.series[0].conditions["ecn.connectivity.works"], 10);
    assertEquals(j.series[1].conditions["ecn.connectivity.works"], 8);
    assertEquals(j.conditions["ecn.connectivity.works"], 18);
    assertEquals(j.jobs, 24);
    const text = await report([`${dir}/later.ndjson`, `${dir}/earlier.ndjson`]);
    assert(text.stdout.includes("Run metadata"), text.stdout);
    assert(/ecn\.connectivity\.works\s+83\.3%\s+66\.7%/.test(text.stdout), text.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report --by groups by prefix, field, vantage and AS", async () => {
  const byPrefix = await reportJson(["--by", "prefix", `${FIX}ours_ecn.ndjson`]);
  assertEquals(
    byPrefix.by.groups.map((g: { group: string; jobs: number }) => [g.group, g.jobs]),
    [["198.19.0.0/24", 6], ["fd00:5::/48", 6]],
  );
  const byDomain = await reportJson(["--by", "domain", `${FIX}ours_ecn.ndjson`]);
  const clean = byDomain.by.groups.find((g: { group: string }) =>
    g.group === "ecn-syn-dropped.example.test"
  );
  assertEquals(clean.jobs, 2);
  assertEquals(clean.conditions, { "ecn.connectivity.broken": 2 });
  const byVantage = await reportJson([
    "--by",
    "vantage",
    `${FIX}ours_ecn.ndjson`,
    `${FIX}orig_ecn.ndjson`,
  ]);
  assertEquals(byVantage.by.groups.map((g: { group: string }) => g.group).sort(), [
    "orig_ecn",
    "ours_ecn",
  ]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/asn.tsv`,
      "198.19.0.0\t198.19.0.3\t64500\tZZ\tTESTNET-A\nfd00:5::\tfd00:5::ffff\t64501\tZZ\tB\n",
    );
    const byAsn = await reportJson([
      "--by",
      "asn",
      "--asn-db",
      `${dir}/asn.tsv`,
      `${FIX}ours_ecn.ndjson`,
    ]);
    assertEquals(
      byAsn.by.groups.map((g: { group: string; jobs: number }) => [g.group, g.jobs]),
      [["AS64501", 6], ["AS64500", 3], ["unknown", 3]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("asnOfResult reads dip_asn, info.ASN or the path's AS before the target", () => {
  assertEquals(asnOfResult({ dip_asn: "64500" }), "AS64500");
  assertEquals(asnOfResult({ info: { ASN: 3303 } }), "AS3303");
  // the original: [sip, AS<sip_asn>, AS<dip_asn>, dip]
  assertEquals(asnOfResult({ sip_asn: 1, path: ["a", "AS1", "AS2", "b"] }), "AS2");
  assertEquals(asnOfResult({ sip_asn: 1, path: ["a", "AS1", "b"] }), "unknown");
  assertEquals(asnOfResult({ path: ["a", "b"] }), "unknown");
  assertEquals(prefixOf("192.0.2.77", 24, 48), "192.0.2.0/24");
  assertEquals(prefixOf("2001:db8:1:2::1", 24, 48), "2001:db8:1::/48");
  assertEquals(prefixOf("2001:db8:1:2::1", 24, 63), "2001:db8:1:2::/63");
  assertEquals(prefixOf("nope", 24, 48), null);
});

Deno.test("report: usage errors exit 2, unreadable input exits 1, both in one line", async () => {
  for (const args of [[], ["--by", "prefix/x", `${FIX}ours_ecn.ndjson`], ["--nope"]]) {
    const r = await report(args);
    assertEquals(r.code, 2, `${args}: ${r.stderr}`);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const one = await report(["--compare", `${FIX}ours_ecn.ndjson`]);
  assertEquals(one.code, 2, one.stderr);
  const missing = await report(["/nonexistent/results.ndjson"]);
  assertEquals(missing.code, 1);
  assertEquals(missing.stderr.trim().split("\n").length, 1, missing.stderr);
});

Deno.test("targetKey gives one key per (address, port) and keyTarget reads it back", () => {
  assertEquals(targetKey("2001:DB8::0:1", 443), targetKey("2001:db8::1", 443));
  assert(targetKey("192.0.2.1", 80) !== targetKey("192.0.2.1", 443));
  assert(targetKey("192.0.2.1", -1) !== targetKey("192.0.2.1", 0));
  assertEquals(keyTarget(targetKey("2001:DB8::0:1", 443)!), { dip: "2001:db8::1", dp: 443 });
  assertEquals(keyTarget(targetKey("198.19.0.255", 65535)!), { dip: "198.19.0.255", dp: 65535 });
  assertEquals(keyTarget(targetKey("192.0.2.1", -1)!), { dip: "192.0.2.1", dp: null });
  assertEquals(targetKey("example.com", 80), null);
});

Deno.test("report --metadata names the run read from stdin; a missing one exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ vantage: "zurich-1", start: "2026-12-01T00:00:00Z" }),
    );
    const j = await reportJson(
      ["--metadata", `${dir}/m.json`, "--by", "vantage", "-"],
      await Deno.readFile(`${FIX}orig_ecn.ndjson`),
    );
    assertEquals(j.files[0].label, "zurich-1");
    assertEquals(j.by.groups.map((g: { group: string }) => g.group), ["zurich-1"]);
    const missing = await report(["--metadata", `${dir}/nope.json`, `${FIX}orig_ecn.ndjson`]);
    assertEquals(missing.code, 1, missing.stderr);
    const bad = await report(["--format", "csv", `${FIX}orig_ecn.ndjson`]);
    assertEquals(bad.code, 2, bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

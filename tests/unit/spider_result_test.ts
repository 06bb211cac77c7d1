import { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import { flowResult, jobResult, pathOf, pyUtcNow } from "../../src/spider/result.ts";

Deno.test("times are written as Python's str(datetime.utcnow()), with microseconds", () => {
  assertEquals(
    pyUtcNow(Date.UTC(2017, 1, 24, 10, 25, 14, 826) + 0.603),
    "2017-02-24 10:25:14.826603",
  );
  match(pyUtcNow(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
});

Deno.test("the path has the target's AS from dip_asn or info.ASN, as the original", () => {
  assertEquals(pathOf({ dip: "198.18.1.1" }, "198.18.0.2"), ["198.18.0.2", "198.18.1.1"]);
  assertEquals(pathOf({ dip: "198.18.1.1", info: { ASN: 7018 } }, "s"), [
    "s",
    "AS7018",
    "198.18.1.1",
  ]);
  assertEquals(pathOf({ dip: "198.18.1.1", dip_asn: "1", info: { ASN: 2 } }, "s"), [
    "s",
    "AS1",
    "198.18.1.1",
  ]);
});

Deno.test("a job's record keeps its fields and adds flows, time, missed flows and conditions", () => {
  const o = (config: number) => ({
    conn: { sip: "198.18.0.2", sp: 1, spdr_state: 0, _private: 1 },
    config,
    // 2026-01-01 00:00:0N, epoch seconds
    from: 1767225600 + config,
    to: 1767225600 + config + 1,
  });
  const flows = [
    flowResult({ sp: 1, proto: 6, sip: "198.18.0.2" }, o(0), "198.18.1.1", "id"),
    flowResult(null, o(1), "198.18.1.1", "id"),
  ];
  assertEquals(flows[0]!.observed, true);
  assertEquals(flows[1]!.observed, false);
  assertEquals("_private" in flows[0]!, false);
  const job = { dip: "198.18.1.1", rank: "3" };
  const r = jobResult(job, "198.18.0.2", flows, ["x.works"], true);
  assertEquals(Object.keys(r), [
    "dip",
    "rank",
    "sip",
    "path",
    "flow_results",
    "time",
    "missed_flows",
    "conditions",
  ]);
  assertEquals(r.time, { from: "2026-01-01 00:00:00.000000", to: "2026-01-01 00:00:02.000000" });
  assertEquals(r.conditions, ["x.works", "pathspider.missed_flows:1"]);
  const short = jobResult(job, "198.18.0.2", flows, null, false);
  assertEquals(Object.keys(short), ["dip", "rank", "sip", "path", "time"]);
});

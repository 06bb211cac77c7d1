/**
 * `report --format pto` against the PTO's observation set file format (pto3-go doc/OBSETS.md):
 * arrays of 5 or 6 strings [set id, start, end, path, condition(, value)], RFC 3339 times, a
 * space-separated path with IPv6 addresses in brackets, and a metadata object with `_sources`,
 * `_analyzer` and `_conditions` naming every condition used.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ptoPath, rfc3339 } from "../../src/report/pto.ts";

const FIX = new URL("../report/fixtures/", import.meta.url).pathname;
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

Deno.test("report --format pto writes one observation per condition, then the set's metadata", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "report", "--format", "pto", `${FIX}orig_dscp.ndjson`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const obs = lines.filter(Array.isArray), meta = lines.filter((l) => !Array.isArray(l));
  // by hand: 8 results x (connectivity.works + 2 replymarks) + 4 x (not_observed + missed_flows)
  assertEquals(obs.length, 32);
  assertEquals(meta.length, 1);
  assert(!Array.isArray(lines[lines.length - 1]), "metadata comes last");
  for (const o of obs) {
    assert(o.length === 5 || o.length === 6, JSON.stringify(o));
    assert(o.every((x: unknown) => typeof x === "string"), JSON.stringify(o));
    assert(RFC3339.test(o[1]!) && RFC3339.test(o[2]!), JSON.stringify(o));
    assert(o[1]! <= o[2]!);
    assert(!o[4]!.includes(":"), "the value is not part of the condition");
  }
  const v6 = obs.find((o) => o[3].endsWith("[fd00:5::5]") && o[4] === "dscp.0.replymark");
  assertEquals(v6?.[5], "10");
  assertEquals(v6?.[3].split(" ")[0], "[fd00:c::2]");
  assertEquals(obs.filter((o) => o[4] === "pathspider.missed_flows").map((o) => o[5]).sort(), [
    "1",
    "1",
    "2",
    "2",
  ]);
  assertEquals(meta[0]._conditions, [
    "dscp.0.replymark",
    "dscp.46.connectivity.works",
    "dscp.46.replymark",
    "pathspider.missed_flows",
    "pathspider.not_observed",
  ]);
  assertEquals(meta[0]._sources, [`${FIX}orig_dscp.ndjson`]);
  assert(typeof meta[0]._analyzer === "string");
  assert(RFC3339.test(meta[0]._time_start) && RFC3339.test(meta[0]._time_end));
});

Deno.test("rfc3339 and ptoPath write the PTO's time and path forms", () => {
  assertEquals(rfc3339("2026-12-07 23:13:35.574323"), "2026-12-07T23:13:35.574323Z");
  assertEquals(rfc3339("2026-12-07T23:13:35Z"), "2026-12-07T23:13:35Z");
  assertEquals(rfc3339("yesterday"), null);
  assertEquals(
    ptoPath({ path: ["198.18.0.2", "AS64500", "198.19.0.1"] }),
    "198.18.0.2 * AS64500 * 198.19.0.1",
  );
  assertEquals(ptoPath({ path: ["fd00:c::2", "fd00:5::1"] }), "[fd00:c::2] * [fd00:5::1]");
  assertEquals(ptoPath({ sip: "192.0.2.1", dip: "192.0.2.9" }), "192.0.2.1 * 192.0.2.9");
});

/**
 * measure accecn on a path of three routers, IPv4 and IPv6, against Linux servers with
 * net.ipv4.tcp_ecn 0 (no ECN: `none`) and 1 (classic ECN: `classic`), through middleboxes that
 * clear AE, remark the ECN field of SYNs, or drop ECN setup SYNs. A real AccECN server needs a
 * kernel accepting net.ipv4.tcp_ecn=3 (Linux 7.0); where it is refused, that test is skipped
 * and says why.
 */
import assert from "node:assert/strict";
import { run, type TargetSpec, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, type Result, warmUp } from "./measure_run.ts";

const TARGETS: TargetSpec[] = [
  { name: "clean" },
  { name: "clearae", behaviourAt: { 2: ["clear-ae" as const] } },
  { name: "synect0", behaviourAt: { 1: ["syn-ect0" as const] } },
  { name: "noecnsyn", behaviourAt: { 2: ["drop-ecn-syn" as const] } },
];

function byTarget(results: Result[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of results) out[`${r.name} ${r.dip.includes(":") ? 6 : 4}`] = r.conditions ?? [];
  return out;
}

async function accecnKernel(): Promise<string | null> {
  const ns = `psacc${Deno.pid % 100000}`;
  await run(["ip", "netns", "add", ns], { check: true });
  try {
    const r = await run(["sysctl", "-w", "net.ipv4.tcp_ecn=3"], { ns });
    return r.code === 0 ? null : `this kernel refuses net.ipv4.tcp_ecn=3 (${r.stderr.trim()})`;
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
}

Deno.test("measure accecn: Linux servers without ECN and with classic ECN, through middleboxes", async () => {
  const tb = await Testbed.create({ routers: 3, servers: ["http"], targets: TARGETS });
  try {
    await warmUp(tb);
    for (const [ecn, negotiation] of [["1", "classic"], ["0", "none"]]) {
      await tb.exec(["sysctl", "-qw", `net.ipv4.tcp_ecn=${ecn}`], tb.serverNs);
      const r = await measure(tb, ["accecn", "--timeout", "2"], jobsFor(tb));
      assert.equal(r.code, 0, r.stderr);
      const got = byTarget(r.results);
      const works = ["accecn.connectivity.works", `accecn.negotiation.${negotiation}`];
      const want: Record<string, string[]> = {};
      for (const fam of [4, 6]) {
        // a classic server answers CWR+ECE whatever became of AE and of the SYN's ECN field
        want[`clean ${fam}`] = works;
        want[`clearae ${fam}`] = works;
        want[`synect0 ${fam}`] = works;
        want[`noecnsyn ${fam}`] = ["accecn.connectivity.broken"];
      }
      assert.deepEqual(got, want, `server tcp_ecn=${ecn}`);
    }
  } finally {
    await tb.destroy();
  }
});

const noAccecn = await accecnKernel();
if (noAccecn) {
  console.log(`SKIPPED measure accecn against a real AccECN server: ${noAccecn}`);
}

Deno.test({
  name: "measure accecn: a real AccECN server reports each codepoint, and what the path did to it",
  ignore: noAccecn !== null,
  fn: async () => {
    const tb = await Testbed.create({ routers: 3, servers: ["http"], targets: TARGETS });
    try {
      await warmUp(tb);
      await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_ecn=3"], tb.serverNs);
      const r = await measure(tb, ["accecn", "--timeout", "2"], jobsFor(tb));
      assert.equal(r.code, 0, r.stderr);
      const got = byTarget(r.results);
      const arrived = (m: Record<string, string>) =>
        ["not-ect", "ect0", "ect1", "ce"].map((s) => `accecn.syn.${s}.arrived:${m[s] ?? s}`);
      for (const fam of [4, 6]) {
        assert.deepEqual(got[`clean ${fam}`], [
          "accecn.connectivity.works",
          "accecn.negotiation.accecn",
          ...arrived({}),
        ]);
        // AE cleared on the way: the server sees a classic ECN setup
        assert.deepEqual(got[`clearae ${fam}`], [
          "accecn.connectivity.works",
          "accecn.negotiation.classic",
        ]);
        assert.deepEqual(got[`synect0 ${fam}`], [
          "accecn.connectivity.works",
          "accecn.negotiation.accecn",
          ...arrived({ "not-ect": "ect0", ect1: "ect0", ce: "ect0" }),
        ]);
      }
    } finally {
      await tb.destroy();
    }
  },
});

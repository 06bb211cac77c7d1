/**
 * measure --locate on a path of four routers, IPv4 and IPv6: each middlebox is found at the hop
 * after its router (a router quotes what it received, before its own forward rules), with the
 * previous router as `after` and the next as `at`; a drop is found where the experiment's probe
 * goes silent while the baseline's goes on. dscp (socket plugin, TCP and DNS over UDP), ecn
 * (sync), tcpopt and tfo (options stripped), udpzero, accecn (forged: AE cleared, ECN field
 * cleared) and evilbit (the evil bit cleared, a router that never answers).
 */
import assert from "node:assert/strict";
import { type TargetSpec, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, type Result, warmUp } from "./measure_run.ts";

const TARGETS: TargetSpec[] = [
  { name: "clean" },
  { name: "bleach", behaviourAt: { 1: ["bleach-dscp"] } },
  { name: "remark", behaviourAt: { 2: ["remark-dscp"] } },
  { name: "clearect", behaviourAt: { 3: ["clear-ect"] } },
  { name: "noecnsyn", behaviourAt: { 2: ["drop-ecn-syn"] } },
  { name: "clearae", behaviourAt: { 2: ["clear-ae"] } },
  { name: "strip", behaviourAt: { 3: ["strip-sackok"] } },
  { name: "striptfo", behaviourAt: { 2: ["strip-tfo"] } },
];

type Entry = Record<string, unknown>;

function located(results: Result[], name: string, fam: 4 | 6): Entry[] | undefined {
  const r = results.find((x) => x.name === name && x.dip.includes(":") === (fam === 6));
  assert.ok(r, `no result for ${name} IPv${fam}`);
  return r.located as Entry[] | undefined;
}

Deno.test("measure --locate finds each middlebox's hop, IPv4 and IPv6", async (t) => {
  const tb = await Testbed.create({ routers: 4, servers: ["http", "dns"], targets: TARGETS });
  /** A change made by router k: seen at hop k + 1, after router k, at router k + 1. */
  const at = (k: number, fam: 4 | 6) => ({
    hop: k + 1,
    after: tb.hopAddress(k, fam),
    at: tb.hopAddress(k + 1, fam),
  });
  try {
    await warmUp(tb);

    await t.step("dscp --locate all: bleached, remarked, an option stripped", async () => {
      const r = await measure(tb, ["dscp", "--timeout", "2", "--locate", "all"], jobsFor(tb));
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        const cfg = { config: 1 };
        assert.deepEqual(located(r.results, "clean", fam), []);
        assert.deepEqual(located(r.results, "bleach", fam), [
          { what: "dscp", sent: 46, seen: 0, ...at(1, fam), ...cfg },
        ]);
        assert.deepEqual(located(r.results, "remark", fam), [
          { what: "dscp", sent: 46, seen: 18, ...at(2, fam), ...cfg },
        ]);
        // the ECN field of a Not-ECT SYN is not changed by clearing it
        assert.deepEqual(located(r.results, "clearect", fam), []);
        assert.deepEqual(located(r.results, "strip", fam), [
          { what: "option:4", sent: "", seen: null, ...at(3, fam), ...cfg },
        ]);
      }
    });

    await t.step("dscp --connect dnsudp --locate all: the datagram's mark", async () => {
      const r = await measure(
        tb,
        ["dscp", "--connect", "dnsudp", "--timeout", "2", "--locate", "all"],
        jobsFor(tb, ["clean", "remark"]),
      );
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        assert.deepEqual(located(r.results, "clean", fam), []);
        assert.deepEqual(located(r.results, "remark", fam), [
          { what: "dscp", sent: 46, seen: 18, ...at(2, fam), config: 1 },
        ]);
      }
    });

    await t.step("tcpopt --locate: the option that failed is found stripped", async () => {
      const r = await measure(tb, ["tcpopt", "--timeout", "2", "--locate"], jobsFor(tb, ["strip"]));
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        // only the SACK configuration (3) carries the option
        assert.deepEqual(located(r.results, "strip", fam), [
          { what: "option:4", sent: "", seen: null, ...at(3, fam), config: 3 },
        ]);
      }
    });

    await t.step("tfo --locate all: the fast open option stripped", async () => {
      const r = await measure(
        tb,
        ["tfo", "--timeout", "2", "--locate", "all"],
        jobsFor(tb, ["clean", "striptfo"]),
      );
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        assert.deepEqual(located(r.results, "clean", fam), []);
        // both fast open connections send the same SYN: traced once
        assert.deepEqual(located(r.results, "striptfo", fam), [
          { what: "option:34", sent: "", seen: null, ...at(2, fam), config: 1 },
        ]);
      }
    });

    await t.step("udpzero --locate all: a forged datagram's mark (IPv4)", async () => {
      const jobs = jobsFor(tb, ["clean", "remark"]).split("\n").filter((l) => l.includes("198.19"))
        .join("\n") + "\n";
      const r = await measure(tb, ["udpzero", "--timeout", "2", "--locate", "all"], jobs);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(located(r.results, "clean", 4), []);
      assert.deepEqual(located(r.results, "remark", 4), [
        { what: "dscp", sent: 0, seen: 18, ...at(2, 4), config: 1 },
      ]);
    });

    await t.step("ecn --locate: only the broken path is traced; the drop is found", async () => {
      const r = await measure(tb, ["ecn", "--timeout", "2", "--locate"], jobsFor(tb));
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        assert.equal(located(r.results, "clean", fam), undefined, "not traced");
        assert.deepEqual(located(r.results, "noecnsyn", fam), [
          {
            what: "drop",
            sent: null,
            seen: null,
            hop: 3,
            after: tb.hopAddress(2, fam),
            at: null,
            config: 1,
          },
        ]);
      }
    });

    await t.step("accecn --locate: AE cleared, the ECN field of marked SYNs cleared", async () => {
      const r = await measure(
        tb,
        ["accecn", "--timeout", "2", "--locate"],
        jobsFor(tb, ["clearae", "clearect"]),
      );
      assert.equal(r.code, 0, r.stderr);
      for (const fam of [4, 6] as const) {
        // every AccECN SYN loses AE at router 2: one entry (first connection)
        assert.deepEqual(located(r.results, "clearae", fam), [
          { what: "flags", sent: 0x1c2, seen: 0xc2, ...at(2, fam), config: 1 },
        ]);
        // ECT(0), ECT(1) and CE are each cleared at router 3
        assert.deepEqual(located(r.results, "clearect", fam), [
          { what: "ecn", sent: 2, seen: 0, ...at(3, fam), config: 2 },
          { what: "ecn", sent: 1, seen: 0, ...at(3, fam), config: 3 },
          { what: "ecn", sent: 3, seen: 0, ...at(3, fam), config: 4 },
        ]);
      }
    });
  } finally {
    await tb.destroy();
  }
});

Deno.test("measure --locate: a router that never answers is named, the evil bit found cleared", async () => {
  // router 2 forwards but sends no time-exceeded; router 1 clears the evil bit
  const tb = await Testbed.create({
    routers: 4,
    silentRouters: [2],
    servers: ["http"],
    targets: [
      { name: "clean", v6: false },
      { name: "clearevil", v6: false, behaviourAt: { 1: ["clear-evil"] } },
      { name: "remark", behaviourAt: { 3: ["remark-dscp"] } },
    ],
  });
  try {
    await warmUp(tb);
    const r = await measure(tb, ["evilbit", "--timeout", "2", "--locate", "all"], jobsFor(tb));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(located(r.results, "clean", 4), []);
    // cleared at router 1; hop 2 is silent, so hop 3 is the first to show it
    assert.deepEqual(located(r.results, "clearevil", 4), [
      {
        what: "evil",
        sent: true,
        seen: false,
        hop: 3,
        after: tb.hopAddress(1, 4),
        at: tb.hopAddress(3, 4),
        config: 1,
        silent: [2],
      },
    ]);
    for (const fam of [4, 6] as const) {
      assert.deepEqual(located(r.results, "remark", fam), [
        {
          what: "dscp",
          sent: 0,
          seen: 18,
          hop: 4,
          after: tb.hopAddress(3, fam),
          at: tb.hopAddress(4, fam),
          config: 1,
          silent: [2],
        },
      ]);
    }
  } finally {
    await tb.destroy();
  }
});

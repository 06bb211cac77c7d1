/**
 * `pathspider measure tfo` on the testbed, IPv4 and IPv6: a fast open server (nginx with
 * `fastopen=64`, the server namespace's tcp_fastopen=3), the same server on a listener without
 * fast open, a path that drops SYNs carrying data, and an offline one; the client namespace's
 * net.ipv4.tcp_fastopen is set for the run and restored.
 */
import assert from "node:assert/strict";
import { EXTRA_PORTS, startExtraNginx } from "./lib/nginx_extra.ts";
import { Testbed } from "./lib/testbed.ts";
import { clientSysctl, measure, type Result, resultOf, warmUp } from "./measure_run.ts";

const ACKED = [
  "tfo.connectivity.works",
  "tfo.cookie.received",
  "tfo.cookie.kind:34",
  "tfo.syndata.acked",
];

/** Port of each target's server and what it should give. */
const TARGETS: Record<string, { dp: number; expect: string[] }> = {
  tfo: { dp: EXTRA_PORTS.fastOpen, expect: ACKED },
  // the listener has no TCP_FASTOPEN: the server ignores the cookie request
  plain: { dp: 80, expect: ["tfo.connectivity.works", "tfo.cookie.not_received"] },
  // the SYN with data is lost; Linux retransmits the SYN alone, which is acknowledged
  dropdata: {
    dp: EXTRA_PORTS.fastOpen,
    expect: [...ACKED.slice(0, 3), "tfo.syndata.not_acked"],
  },
  offline: { dp: EXTRA_PORTS.fastOpen, expect: ["tfo.connectivity.offline"] },
};

function jobs(tb: Testbed): string {
  return Object.entries(TARGETS).flatMap(([name, { dp }]) => {
    const t = tb.target(name);
    return [t.v4!, t.v6!].map((dip) => JSON.stringify({ dip, dp, domain: t.domain }));
  }).join("\n") + "\n";
}

Deno.test("measure tfo finds fast open cookies and SYN data acknowledgement, and restores tcp_fastopen", async (t) => {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: Object.keys(TARGETS).map((name) => ({
      name,
      behaviour: name === "offline" ? ["offline" as const] : [],
    })),
  });
  try {
    await startExtraNginx(tb);
    // a SYN with options is at most 60 (IPv4) or 80 (IPv6) bytes long; one with data is longer
    await tb.addTargetRules({
      dropdata: (ip, a) => [
        ip === "ip6"
          ? `ip6 daddr ${a} tcp flags syn ip6 length > 60 drop`
          : `ip daddr ${a} tcp flags syn ip length > 80 drop`,
      ],
    });
    await warmUp(tb);
    // client fast open off: the plugin must switch it on for the run, and back off
    await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_fastopen=0"]);
    for (const mode of ["http", "tcp"]) {
      await t.step(`mode ${mode}`, async () => {
        // every step starts without cached cookies
        await tb.exec(["ip", "tcp_metrics", "flush", "all"]);
        const out = await measure(tb, [
          "--output-flows",
          "tfo",
          "--connect",
          mode,
          "--timeout",
          "3",
        ], jobs(tb));
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, 8, out.stderr);
        for (const [name, { expect }] of Object.entries(TARGETS)) {
          for (const fam of [4, 6] as const) {
            const r: Result = resultOf(out.results, tb, name, fam);
            assert.deepEqual(r.conditions, expect, `${mode} ${name} IPv${fam}`);
          }
        }
        // the cookie request's SYN carried an empty option; the data SYN an 8-byte cookie
        const f = resultOf(out.results, tb, "tfo", 4).flow_results as Record<string, number>[];
        assert.deepEqual(f.map((x) => [x.tfo_synkind, x.tfo_synclen, x.tfo_ackclen]), [
          [0, 0, 0],
          [34, 0, 8],
          [34, 8, 0],
        ]);
        assert.ok(f[2]!.tfo_dlen! > 0);
        assert.equal(await clientSysctl(tb, "net.ipv4.tcp_fastopen"), "0");
      });
    }
    await t.step(
      "mode dnstcp: NSD has no fast open, every path answers without a cookie",
      async () => {
        await tb.exec(["ip", "tcp_metrics", "flush", "all"]);
        const dnsJobs = jobs(tb).split("\n").filter(Boolean).map((l) => {
          const { dp: _dp, ...j } = JSON.parse(l);
          return JSON.stringify(j) + "\n";
        }).join("");
        const out = await measure(tb, [
          "--output-flows",
          "tfo",
          "--connect",
          "dnstcp",
          "--timeout",
          "3",
        ], dnsJobs);
        assert.equal(out.code, 0, out.stderr);
        for (const name of Object.keys(TARGETS)) {
          for (const fam of [4, 6] as const) {
            const r = resultOf(out.results, tb, name, fam);
            const want = name === "offline"
              ? ["tfo.connectivity.offline"]
              : ["tfo.connectivity.works", "tfo.cookie.not_received"];
            assert.deepEqual(r.conditions, want, `dnstcp ${name} IPv${fam}`);
          }
        }
        // Linux retries a destination that gave no cookie with the experimental option (254)
        const f = resultOf(out.results, tb, "tfo", 6).flow_results as Record<string, number>[];
        assert.deepEqual(f.map((x) => x.tfo_synkind), [0, 34, 254]);
        assert.equal(await clientSysctl(tb, "net.ipv4.tcp_fastopen"), "0");
      },
    );
  } finally {
    await tb.destroy();
  }
});

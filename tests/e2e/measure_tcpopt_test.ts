/**
 * `pathspider measure tcpopt` on the testbed, in every connection mode, for IPv4 and IPv6: paths
 * that strip options from the SYN-ACK or drop SYNs offering SACK, and the three sysctls
 * restored afterwards.
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { clientSysctl, jobsFor, measure, resultOf, warmUp } from "./measure_run.ts";

const SYSCTLS = ["net.ipv4.tcp_timestamps", "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_sack"];

/** Router rules per target: "saddr" matches the server's SYN-ACK, "daddr" our SYN. */
const RULES: Record<string, (ip: "ip" | "ip6", a: string) => string[]> = {
  // a middlebox that removes SACK-permitted and timestamps from the answer (window scale passes)
  nosackts: (ip, a) => [
    `${ip} saddr ${a} tcp flags syn reset tcp option sack-perm`,
    `${ip} saddr ${a} tcp flags syn reset tcp option timestamp`,
  ],
  // our SYN loses its window scale option on the way: the server never sees it
  nows: (ip, a) => [`${ip} daddr ${a} tcp flags syn reset tcp option window`],
  // a firewall that drops SYNs offering SACK
  dropsack: (ip, a) => [`${ip} daddr ${a} tcp flags syn tcp option sack-perm exists drop`],
};

const NOT_SEEN = [
  "tsopt.unsolicited.not_seen",
  "wsopt.unsolicited.not_seen",
  "sack.unsolicited.not_seen",
];
const WORKS = ["tsopt.connectivity.works", "wsopt.connectivity.works", "sack.connectivity.works"];

const EXPECT: Record<string, string[]> = {
  clean: [
    ...WORKS,
    "tsopt.negotiation.succeeded",
    "wsopt.negotiation.succeeded",
    "sack.negotiation.succeeded",
    ...NOT_SEEN,
  ],
  nosackts: [
    ...WORKS,
    "tsopt.negotiation.failed",
    "wsopt.negotiation.succeeded",
    "sack.negotiation.failed",
    ...NOT_SEEN,
  ],
  nows: [
    ...WORKS,
    "tsopt.negotiation.succeeded",
    "wsopt.negotiation.failed",
    "sack.negotiation.succeeded",
    ...NOT_SEEN,
  ],
  dropsack: [
    "tsopt.connectivity.works",
    "wsopt.connectivity.works",
    "sack.connectivity.broken",
    "tsopt.negotiation.succeeded",
    "wsopt.negotiation.succeeded",
    ...NOT_SEEN,
  ],
  offline: [
    "tsopt.connectivity.offline",
    "wsopt.connectivity.offline",
    "sack.connectivity.offline",
  ],
};

Deno.test("measure tcpopt finds stripped and blocked TCP options in every mode and restores the sysctls", async (t) => {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [
      { name: "clean" },
      { name: "nosackts" },
      { name: "nows" },
      { name: "dropsack" },
      { name: "offline", behaviour: ["offline"] },
    ],
  });
  try {
    await tb.addTargetRules(RULES);
    await warmUp(tb);
    // start from values the plugin never writes, so that a missed restore shows
    await tb.exec(["sysctl", "-qw", ...SYSCTLS.map((k) => `${k}=1`)]);
    await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_timestamps=2"]);
    const before = await Promise.all(SYSCTLS.map((k) => clientSysctl(tb, k)));
    assert.deepEqual(before, ["2", "1", "1"]);
    for (const mode of ["tcp", "http", "https", "dnstcp"]) {
      await t.step(`mode ${mode}`, async () => {
        const out = await measure(tb, ["tcpopt", "--connect", mode, "--timeout", "2"], jobsFor(tb));
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, 10, out.stderr);
        for (const name of Object.keys(EXPECT)) {
          for (const fam of [4, 6] as const) {
            const r = resultOf(out.results, tb, name, fam);
            assert.deepEqual(r.conditions, EXPECT[name], `${mode} ${name} IPv${fam}`);
          }
        }
        const after = await Promise.all(SYSCTLS.map((k) => clientSysctl(tb, k)));
        assert.deepEqual(after, before);
      });
    }
  } finally {
    await tb.destroy();
  }
});

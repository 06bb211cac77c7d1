/**
 * `pathspider measure ecn` on the testbed, in every connection mode, against targets whose path
 * behaviour is known, for IPv4 and IPv6: the conditions of each target, and tcp_ecn restored.
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { clientSysctl, jobsFor, measure, type Result, resultOf, warmUp } from "./measure_run.ts";

const CLEAN = [
  "ecn.connectivity.works",
  "ecn.negotiation.succeeded",
  "ecn.ipmark.ect0.seen",
  "ecn.ipmark.ect1.not_seen",
  "ecn.ipmark.ce.not_seen",
];

/** Expected conditions per target name (the same for both address families). */
const EXPECT: Record<string, string[]> = {
  clean: CLEAN,
  // the SYN with ECE|CWR is dropped; with tcp_ecn_fallback=0 Linux does not retry without ECN
  noecnsyn: ["ecn.connectivity.broken"],
  offline: ["ecn.connectivity.offline"],
  reject: ["ecn.connectivity.offline"],
  // the server's ECT(0) is cleared on the way back
  revclear: [...CLEAN.slice(0, 2), "ecn.ipmark.ect0.not_seen", ...CLEAN.slice(3)],
  // the server's ECT marks become CE on the way back (rule added below)
  revce: [
    ...CLEAN.slice(0, 2),
    "ecn.ipmark.ect0.not_seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.ipmark.ce.seen",
  ],
  // the server's ECT(0) becomes ECT(1) on the way back (rule added below)
  revect1: [
    ...CLEAN.slice(0, 2),
    "ecn.ipmark.ect0.not_seen",
    "ecn.ipmark.ect1.seen",
    "ecn.ipmark.ce.not_seen",
  ],
};

async function withTestbed(fn: (tb: Testbed) => Promise<void>) {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [
      { name: "clean" },
      { name: "noecnsyn", behaviour: ["drop-ecn-syn"] },
      { name: "offline", behaviour: ["offline"] },
      { name: "reject", behaviour: ["reject"] },
      { name: "revclear", behaviour: ["clear-ect-rev"] },
      { name: "revce" },
      { name: "revect1" },
    ],
  });
  try {
    await tb.addTargetRules({
      revce: (ip, a) => [`${ip} saddr ${a} ${ip} ecn { ect0, ect1 } ${ip} ecn set ce`],
      revect1: (ip, a) => [`${ip} saddr ${a} ${ip} ecn ect0 ${ip} ecn set ect1`],
    });
    await warmUp(tb);
    await fn(tb);
  } finally {
    await tb.destroy();
  }
}

/** What `name` should give in `mode`. */
function expected(name: string, mode: string): string[] {
  const want = EXPECT[name]!;
  // a bare handshake carries no data: the server sends no ECT-marked packet at all
  if (mode === "tcp" && want.length === 5) {
    return [...want.slice(0, 2), ...["ect0", "ect1", "ce"].map((m) => `ecn.ipmark.${m}.not_seen`)];
  }
  return want;
}

function check(tb: Testbed, results: Result[], mode: string) {
  for (const name of Object.keys(EXPECT)) {
    for (const fam of [4, 6] as const) {
      const r = resultOf(results, tb, name, fam);
      assert.deepEqual(r.conditions, expected(name, mode), `${mode} ${name} IPv${fam}`);
    }
  }
}

Deno.test("measure ecn finds each path's ECN behaviour in every mode and restores tcp_ecn", async (t) => {
  await withTestbed(async (tb) => {
    const before = [
      await clientSysctl(tb, "net.ipv4.tcp_ecn"),
      await clientSysctl(tb, "net.ipv4.tcp_ecn_fallback"),
    ];
    for (const mode of ["http", "https", "tcp", "dnstcp"]) {
      await t.step(`mode ${mode}`, async () => {
        const jobs = jobsFor(tb);
        const out = await measure(tb, ["ecn", "--connect", mode, "--timeout", "2"], jobs);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, jobs.trim().split("\n").length, out.stderr);
        check(tb, out.results, mode);
        // (https: a failed TLS connect has no local port; its flow is found by target and time)
        assert.match(out.stderr, /14 jobs, 14 results, 0 skipped lines .* 0 unobserved flows/);
        const after = [
          await clientSysctl(tb, "net.ipv4.tcp_ecn"),
          await clientSysctl(tb, "net.ipv4.tcp_ecn_fallback"),
        ];
        assert.deepEqual(after, before);
      });
    }
  });
});

Deno.test("measure ecn --output-flows gives both flow records with config and spdr_state", async () => {
  await withTestbed(async (tb) => {
    const out = await measure(
      tb,
      ["--output-flows", "ecn", "--timeout", "2"],
      jobsFor(tb, ["clean", "noecnsyn"]),
    );
    assert.equal(out.code, 0, out.stderr);
    const clean = resultOf(out.results, tb, "clean", 4);
    const flows = clean.flow_results as Record<string, unknown>[];
    assert.deepEqual(flows.map((f) => [f.config, f.spdr_state, f.observed]), [[0, 0, true], [
      1,
      0,
      true,
    ]]);
    // the baseline SYN carries no ECN setup flags, the experiment's carries ECE|CWR
    assert.equal((flows[0]!.tcp_synflags_fwd as number) & 0xc0, 0);
    assert.equal((flows[1]!.tcp_synflags_fwd as number) & 0xc0, 0xc0);
    assert.equal(clean.missed_flows, 0);
    assert.deepEqual(clean.path, [clean.sip, clean.dip]);
    const broken = resultOf(out.results, tb, "noecnsyn", 6);
    const bf = broken.flow_results as Record<string, unknown>[];
    // the failed experiment still meets its flow (the original reported sp 0 and lost it)
    assert.deepEqual(bf.map((f) => [f.spdr_state, f.observed]), [[0, true], [2, true]]);
    assert.equal(bf[1]!.tcp_connected, false);
  });
});

Deno.test("measure reads the original's CSV rows, warns on bad lines and skips duplicates", async () => {
  await withTestbed(async (tb) => {
    const clean = tb.target("clean"), off = tb.target("offline");
    const csv = [
      `${clean.v4},80,${clean.domain},1`,
      `not,a,valid,row,at all`,
      `${off.v6},80,${off.domain}`,
      `${clean.v4},8080,${clean.domain},4`,
    ].join("\n") + "\n";
    const out = await measure(tb, ["--csv-input", "ecn", "--timeout", "2"], csv);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.results.length, 2);
    assert.match(out.stderr, /warning: input line 2: /);
    assert.match(
      out.stderr,
      /2 jobs, 2 results, 2 skipped lines \(1 malformed, 1 duplicate targets, 0 never probed, 0 excluded\)/,
    );
    const r = resultOf(out.results, tb, "clean", 4);
    assert.equal(r.rank, "1");
    assert.equal(r.dp, 80);
    assert.deepEqual(r.conditions, CLEAN);
    assert.deepEqual(resultOf(out.results, tb, "offline", 6).conditions, [
      "ecn.connectivity.offline",
    ]);
  });
});

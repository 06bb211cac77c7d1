/**
 * `pathspider measure mss` on the testbed, in every connection mode, for IPv4 and IPv6, against
 * paths whose MSS rewriting is known (nftables on the router): the conditions of each target.
 */
import assert from "node:assert/strict";
import { NET, run, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, type Result, resultOf, warmUp } from "./measure_run.ts";
import { havePeer, PEER } from "../peer.ts";

/** Our SYN's MSS over the 1500-byte veth: 1460 (IPv4), 1440 (IPv6). */
const LOCAL = { 4: 1460, 6: 1440 } as const;

/** The router's rules per target (client → target is "daddr", the reply "saddr"). */
const RULES: Record<string, (ip: "ip" | "ip6", a: string) => string[]> = {
  // a clamping router rewrites the SYN and the SYN-ACK
  clamp: (ip, a) => [
    `${ip} daddr ${a} tcp flags syn tcp option maxseg size set 1200`,
    `${ip} saddr ${a} tcp flags syn tcp option maxseg size set 1200`,
  ],
  // only our SYN is clamped: the server's own MSS comes back untouched
  clampfwd: (ip, a) => [`${ip} daddr ${a} tcp flags syn tcp option maxseg size set 1200`],
  strip: (ip, a) => [`${ip} saddr ${a} tcp flags syn reset tcp option maxseg`],
};

function expected(name: string, fam: 4 | 6): string[] {
  const local = LOCAL[fam];
  const online = ["mss.connectivity.online", `mss.option.local.value:${local}`];
  switch (name) {
    case "clean":
    case "clampfwd":
      return [...online, `mss.option.remote.value:${local}`, "mss.option.received.unchanged"];
    case "clamp":
      return [...online, "mss.option.remote.value:1200", "mss.option.received.deflated"];
    case "inflate":
      return [...online, "mss.option.remote.value:9000", "mss.option.received.inflated"];
    case "strip":
      return [...online, "mss.option.received.absent"];
    case "offline":
      return ["mss.connectivity.offline"];
  }
  throw new Error(name);
}

Deno.test("measure mss finds each path's MSS rewriting in every mode", async (t) => {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [
      { name: "clean" },
      { name: "clamp" },
      { name: "clampfwd" },
      { name: "inflate" },
      { name: "strip" },
      { name: "offline", behaviour: ["offline"] },
    ],
  });
  try {
    await tb.addTargetRules(RULES);
    // nftables only ever lowers an MSS: the inflating "middlebox" is the server's own route
    // back to the client, which advertises 9000 for that target's address (policy routing)
    const inflate = tb.target("inflate");
    for (
      const [fam, a, gw] of [["-4", inflate.v4!, NET.routerServer4], [
        "-6",
        inflate.v6!,
        NET.routerServer6,
      ]] as const
    ) {
      await run(["ip", fam, "rule", "add", "from", a, "lookup", "104"], {
        ns: tb.serverNs,
        check: true,
      });
      await run(
        ["ip", fam, "route", "add", "default", "via", gw, "advmss", "9000", "table", "104"],
        {
          ns: tb.serverNs,
          check: true,
        },
      );
    }
    await warmUp(tb);
    for (const mode of ["tcp", "http", "https", "dnstcp"]) {
      await t.step(`mode ${mode}`, async () => {
        const jobs = jobsFor(tb);
        const out = await measure(tb, ["mss", "--connect", mode, "--timeout", "2"], jobs);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, 12, out.stderr);
        for (const name of ["clean", "clamp", "clampfwd", "inflate", "strip", "offline"]) {
          for (const fam of [4, 6] as const) {
            const r: Result = resultOf(out.results, tb, name, fam);
            const want = expected(name, fam);
            assert.deepEqual(r.conditions, want, `${mode} ${name} IPv${fam}`);
          }
        }
      });
    }
  } finally {
    await tb.destroy();
  }
});

Deno.test({
  name: "measure mss gives the original's conditions on the same paths",
  ignore: !havePeer,
  fn: async () => {
    const tb = await Testbed.create({
      servers: ["http", "dns"],
      targets: [
        { name: "clean" },
        { name: "clamp" },
        { name: "strip" },
        { name: "offline", behaviour: ["offline"] },
      ],
    });
    try {
      await tb.addTargetRules({ clamp: RULES.clamp!, strip: RULES.strip! });
      await warmUp(tb);
      // the original's tcp helper needs a dp; it notices the end of its input only when a
      // packet arrives, hence the pings (../shared/peer/README.md)
      const jobs = jobsFor(tb).replaceAll('"name"', '"dp":80,"name"');
      const ping = tb.spawn(["ping", "-i", "0.2", "-q", NET.routerClient4]);
      const peer = await run(
        ["ip", "netns", "exec", tb.clientNs, PEER, "measure", "-i", tb.clientIface, "mss"],
        { stdin: jobs, timeoutMs: 120_000 },
      );
      await ping.stop("SIGTERM", 1_000);
      assert.equal(peer.code, 0, peer.stderr.slice(-2000));
      const theirs = peer.stdout.trim().split("\n").map((l) => JSON.parse(l) as Result);
      const ours = await measure(tb, ["mss", "--timeout", "2"], jobs);
      assert.equal(ours.code, 0, ours.stderr);
      const conditions = (rs: Result[]) => Object.fromEntries(rs.map((r) => [r.dip, r.conditions]));
      assert.equal(theirs.length, 8);
      assert.deepEqual(conditions(ours.results), conditions(theirs));
    } finally {
      await tb.destroy();
    }
  },
});

/**
 * `pathspider measure h2` on the testbed, IPv4 and IPv6: the h2c upgrade against h2o (which
 * upgrades) and nginx (HTTP/1.1 only on port 80), and HTTP/2 over TLS against nginx with ALPN h2
 * (443) and without (8443).
 */
import assert from "node:assert/strict";
import { EXTRA_PORTS, startExtraNginx } from "./lib/nginx_extra.ts";
import { NET, run, Testbed } from "./lib/testbed.ts";
import { measure, type Result, warmUp } from "./measure_run.ts";
import { havePeer, PEER } from "../peer.ts";

/** Jobs: every address of `name` on port `dp`, tagged with what should be found. */
function jobs(tb: Testbed, rows: [string, number, string][]): string {
  return rows.flatMap(([name, dp, expect]) => {
    const t = tb.target(name);
    return [t.v4!, t.v6!].map((dip) => JSON.stringify({ dip, dp, domain: t.domain, expect }));
  }).join("\n") + "\n";
}

function check(results: Result[], n: number, stderr: string) {
  assert.equal(results.length, n, stderr);
  for (const r of results) {
    const expect = String(r.expect).split(",");
    assert.deepEqual(r.conditions, expect, `${r.dip} port ${r.dp}`);
  }
}

const SUCCESS = "h2.connectivity.works,h2.upgrade.success";
const FAILED = "h2.connectivity.works,h2.upgrade.failed";

Deno.test("measure h2 tells HTTP/2 servers from HTTP/1.1-only ones, by h2c upgrade and by ALPN", async (t) => {
  const tb = await Testbed.create({
    servers: ["http", "dns", "h2c"],
    targets: [{ name: "web" }, { name: "offline", behaviour: ["offline"] }],
  });
  try {
    await startExtraNginx(tb);
    await warmUp(tb);
    await t.step("http: h2o answers the upgrade with 101", async () => {
      const out = await measure(
        tb,
        ["--output-flows", "h2", "--connect", "http", "--timeout", "2"],
        jobs(tb, [["web", 8080, SUCCESS], ["offline", 8080, "h2.connectivity.offline"]]),
      );
      assert.equal(out.code, 0, out.stderr);
      check(out.results, 4, out.stderr);
      const h2o = out.results.find((r) =>
        r.dp === 8080 && r.conditions?.includes("h2.upgrade.success")
      )!;
      const flows = h2o.flow_results as Record<string, unknown>[];
      assert.deepEqual(flows.map((f) => f.http_response_code), [200, 101]);
    });
    await t.step("http: nginx on port 80 does not upgrade", async () => {
      const out = await measure(
        tb,
        ["h2", "--connect", "http", "--timeout", "2"],
        jobs(tb, [["web", 80, FAILED]]),
      );
      assert.equal(out.code, 0, out.stderr);
      check(out.results, 2, out.stderr);
    });
    await t.step("https: ALPN h2 on 443, http/1.1 only on 8443", async () => {
      for (const [dp, expect] of [[443, SUCCESS], [EXTRA_PORTS.tlsNoH2, FAILED]] as const) {
        const out = await measure(
          tb,
          ["--output-flows", "h2", "--connect", "https", "--timeout", "2"],
          jobs(tb, [["web", dp, expect], ["offline", dp, "h2.connectivity.offline"]]),
        );
        assert.equal(out.code, 0, out.stderr);
        check(out.results, 4, out.stderr);
        const web = out.results.find((r) => r.dip === tb.target("web").v6)!;
        const flows = web.flow_results as Record<string, unknown>[];
        // the baseline offered only http/1.1, the experiment got h2 where the server has it
        assert.deepEqual(flows.map((f) => f.tls_alpn), [
          "http/1.1",
          dp === 443 ? "h2" : "http/1.1",
        ]);
      }
    });
  } finally {
    await tb.destroy();
  }
});

Deno.test({
  name: "measure h2 --connect http gives the original's conditions (h2o, nginx, offline)",
  ignore: !havePeer,
  fn: async () => {
    const tb = await Testbed.create({
      servers: ["http", "dns", "h2c"],
      targets: [{ name: "h2o" }, { name: "nginx" }, { name: "off", behaviour: ["offline"] }],
    });
    try {
      await warmUp(tb);
      const input = jobs(tb, [["h2o", 8080, ""], ["nginx", 80, ""], ["off", 8080, ""]]);
      // the original notices the end of its input only when a packet arrives
      const ping = tb.spawn(["ping", "-i", "0.2", "-q", NET.routerClient4]);
      const peer = await run(
        ["ip", "netns", "exec", tb.clientNs, PEER, "measure", "-i", tb.clientIface, "h2"],
        { stdin: input, timeoutMs: 120_000 },
      );
      await ping.stop("SIGTERM", 1_000);
      assert.equal(peer.code, 0, peer.stderr.slice(-2000));
      const ours = await measure(tb, ["h2", "--timeout", "2"], input);
      assert.equal(ours.code, 0, ours.stderr);
      // its failed connections report port 0 and so miss their flows (docs/differences.md,
      // "failed connections report their real local port"): that count is left out
      const conditions = (rs: Result[]) =>
        Object.fromEntries(
          rs.map((r) => [r.dip, r.conditions?.filter((c) => !c.startsWith("pathspider.missed"))]),
        );
      const theirs = peer.stdout.trim().split("\n").map((l) => JSON.parse(l) as Result);
      assert.equal(theirs.length, 6);
      assert.deepEqual(conditions(ours.results), conditions(theirs));
      assert.equal(conditions(ours.results)[tb.target("h2o").v6!]?.[1], "h2.upgrade.success");
    } finally {
      await tb.destroy();
    }
  },
});

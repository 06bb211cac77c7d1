/**
 * `pathspider measure dnsresolv` against the testbed's NSD, from the client namespace: CSV and
 * ndjson input, a resolver named by --resolver (IPv4 and IPv6) and the system's resolver from
 * the namespace's resolv.conf; then its output through `pathspider filter`.
 */
import assert from "node:assert/strict";
import { NET, run, Testbed } from "./lib/testbed.ts";
import { measure, PATHSPIDER, type Result } from "./measure_run.ts";
import { havePeer, PEER } from "../peer.ts";

function byDomain(results: Result[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of results) (out[r.domain as string] ??= []).push(r.dip);
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

Deno.test("measure dnsresolv turns domains into one job per A and AAAA address", async (t) => {
  const tb = await Testbed.create({
    servers: ["dns"],
    targets: [{ name: "dual" }, { name: "v4only", v6: false }, { name: "v6only", v4: false }],
  });
  const resolvDir = `/etc/netns/${tb.clientNs}`;
  const hadNetnsDir = await Deno.stat("/etc/netns").then(() => true, () => false);
  try {
    const want = {
      "dual.example.test": [tb.target("dual").v4!, tb.target("dual").v6!],
      "v4only.example.test": [tb.target("v4only").v4!],
      "v6only.example.test": [tb.target("v6only").v6!],
    };
    const csv = "1,dual.example.test\n2,v4only.example.test\n3,v6only.example.test\n" +
      "4,nothere.example.test\n5,too,many\n";
    await t.step("CSV through --resolver over IPv4, rank and domain kept", async () => {
      const out = await measure(
        tb,
        ["--csv-input", "dnsresolv", "--resolver", NET.server4, "--timeout", "2"],
        csv,
      );
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(byDomain(out.results), want);
      assert.deepEqual(out.results.find((r) => r.dip === tb.target("v4only").v4), {
        dip: tb.target("v4only").v4,
        rank: "2",
        domain: "v4only.example.test",
      });
      assert.match(out.stderr, /input line 5: expected 2 columns/);
      assert.match(
        out.stderr,
        /4 domains, 4 jobs, 1 without address, 0 failed look-ups, 1 skipped/,
      );
    });
    await t.step("ndjson through --resolver over IPv6", async () => {
      const nd = Object.keys(want).map((d, i) => JSON.stringify({ domain: d, tag: i })).join("\n");
      const out = await measure(tb, ["dnsresolv", "--resolver", `[${NET.server6}]:53`], nd + "\n");
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(byDomain(out.results), want);
      assert.equal(out.results.find((r) => r.domain === "v6only.example.test")?.tag, 2);
    });
    await t.step("the system's resolver, from the namespace's resolv.conf", async () => {
      // `ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf
      await Deno.mkdir(resolvDir, { recursive: true });
      await Deno.writeTextFile(`${resolvDir}/resolv.conf`, `nameserver ${NET.server4}\n`);
      const out = await measure(tb, ["--csv-input", "dnsresolv"], csv);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(byDomain(out.results), want);
    });
    await t.step({
      name: "the same jobs as the original's dnsresolv, fields in the same order",
      ignore: !havePeer,
      fn: async () => {
        // resolv.conf of the previous step; the original notices the end of its input only
        // when a packet arrives (../shared/peer/README.md)
        const ping = tb.spawn(["ping", "-i", "0.2", "-q", NET.routerClient4]);
        const argv = ["measure", "-i", tb.clientIface, "--csv-input", "dnsresolv"];
        const peer = await run(["ip", "netns", "exec", tb.clientNs, PEER, ...argv], {
          stdin: csv,
          timeoutMs: 60_000,
        });
        await ping.stop("SIGTERM", 1_000);
        assert.equal(peer.code, 0, peer.stderr.slice(-2000));
        const ours = await measure(tb, ["--csv-input", "dnsresolv"], csv);
        const lines = (text: string) =>
          text.trim().split("\n").map((l) => JSON.stringify(JSON.parse(l))).sort();
        assert.deepEqual(lines(ours.stdout), lines(peer.stdout));
        assert.equal(lines(ours.stdout).length, 4);
      },
    });
    await t.step(
      "an unanswering resolver: failed look-ups are counted, no job, exit 0",
      async () => {
        const out = await measure(
          tb,
          ["--csv-input", "dnsresolv", "--resolver", "198.18.0.99", "--timeout", "1"],
          "1,dual.example.test\n",
        );
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, 0);
        assert.match(out.stderr, /1 domains?, 0 jobs, 0 without address, 1 failed look-ups/);
      },
    );
    await t.step(
      "its jobs go through filter: the testbed's ranges need --allow-private",
      async () => {
        const resolved = await measure(
          tb,
          ["--csv-input", "dnsresolv", "--resolver", NET.server4],
          csv,
        );
        const filtered = await run([PATHSPIDER, "filter", "--dp", "80"], {
          stdin: resolved.stdout,
        });
        assert.equal(filtered.code, 0, filtered.stderr);
        assert.equal(filtered.stdout, "");
        assert.match(filtered.stderr, /0 targets kept, 4 dropped .*2 private.* 2 benchmarking/);
        const allowed = await run([PATHSPIDER, "filter", "--dp", "80", "--allow-private"], {
          stdin: resolved.stdout,
        });
        const jobs = allowed.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assert.equal(jobs.length, 4);
        for (const j of jobs) assert.equal(j.dp, 80);
      },
    );
  } finally {
    await Deno.remove(resolvDir, { recursive: true }).catch(() => {});
    // the parent too when this test made it and nobody else uses it (fails harmlessly otherwise)
    if (!hadNetnsDir) await Deno.remove("/etc/netns").catch(() => {});
    await tb.destroy();
  }
});

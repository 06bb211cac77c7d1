/**
 * `sip_public` and `sip_asn` (issue 12): the public address discovered over STUN from a real
 * server (coturn's turnserver, STUN only) behind an nftables NAT on the router, as a cloud VM
 * sees it; given with --public-ip; the AS from an --asn-db table. The path is the original's:
 * [sip, sip_public when it differs, "AS"+sip_asn, "AS"+dip_asn, dip].
 */
import assert from "node:assert/strict";
import { Background, Testbed } from "./lib/testbed.ts";
import { measure, PATHSPIDER, warmUp } from "./measure_run.ts";
import { run } from "./lib/testbed.ts";

const TURNSERVER = "/usr/bin/turnserver";

Deno.test("sip_public over STUN through a NAT, --public-ip, sip_asn from --asn-db", async (t) => {
  try {
    await Deno.stat(TURNSERVER);
  } catch {
    throw new Error(`${TURNSERVER} is missing: install coturn (scripts/install-deps.sh)`);
  }
  const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "a" }, { name: "b" }] });
  let stun: Background | undefined;
  try {
    // the router rewrites the client's STUN datagrams to its own server-side address: what the
    // STUN server sees (and answers) is not the client's address, as behind a cloud NAT
    await run(["nft", "-f", "-"], {
      ns: tb.routerNs,
      check: true,
      stdin: `table inet psnat {
  chain post {
    type nat hook postrouting priority srcnat;
    udp dport 3478 masquerade
  }
}
`,
    });
    stun = new Background([
      TURNSERVER,
      "-n",
      "--stun-only",
      "--no-cli",
      "--no-tls",
      "--no-dtls",
      "--listening-ip=198.18.1.2",
      "--listening-ip=fd00:1::2",
      "--listening-port=3478",
      "--log-file=stdout",
      "--simple-log",
      // nothing outside the testbed's own directory
      `--pidfile=${tb.dir}/turnserver.pid`,
      `--db=${tb.dir}/turndb`,
    ], { ns: tb.serverNs });
    // its listeners are up once its relay servers are (the client retransmits meanwhile anyway)
    await stun.waitFor((_e, out) => /Total General servers/.test(out), 10_000)
      .catch((e) => {
        throw new Error(`${e.message}\n${stun!.stdout}`);
      });
    await warmUp(tb);
    const dir = await Deno.makeTempDir({ prefix: "psstun-" });
    const asnDb = `${dir}/ip2asn-combined.tsv`;
    // iptoasn.com's columns: range start, range end, AS number, country, description
    await Deno.writeTextFile(
      asnDb,
      "198.18.1.0\t198.18.1.255\t64500\tZZ\tNAT-OUTSIDE\n" +
        "198.18.0.0\t198.18.0.255\t64499\tZZ\tINSIDE\n" +
        "fd00:1::\tfd00:1::ffff\t64501\tZZ\tNAT-OUTSIDE-6\n",
    );
    const a = tb.target("a"), b = tb.target("b");
    const jobs = [
      { dip: a.v4, dip_asn: "64496" },
      { dip: a.v6 },
      { dip: b.v4 },
      { dip: b.v6, info: { ASN: 64497 } },
    ].map((j) => JSON.stringify(j) + "\n").join("");

    await t.step("--stun: the NAT's address, and the AS of that address", async () => {
      const meta = `${dir}/run.metadata.json`;
      const out = await measure(tb, [
        "--stun",
        "198.18.1.2",
        "--asn-db",
        asnDb,
        "--metadata",
        meta,
        "dscp",
        "--connect",
        "tcp",
      ], jobs);
      assert.equal(out.code, 0, out.stderr);
      const by = new Map(out.results.map((r) => [r.dip, r]));
      const ra4 = by.get(a.v4!)!, ra6 = by.get(a.v6!)!, rb6 = by.get(b.v6!)!;
      assert.equal(ra4.sip, "198.18.0.2");
      assert.equal(ra4.sip_public, "198.18.1.1");
      assert.equal(ra4.sip_asn, 64500);
      assert.deepEqual(ra4.path, ["198.18.0.2", "198.18.1.1", "AS64500", "AS64496", a.v4]);
      // an IPv4 server tells nothing of IPv6: the source's own AS, one warning
      assert.equal(ra6.sip_public, undefined);
      assert.match(out.stderr, /warning: --stun 198\.18\.1\.2: IPv6: 198\.18\.1\.2 has no IPv6/);
      assert.deepEqual(rb6.path, ["fd00:c::2", "AS64497", b.v6]);
      // the original's field order: the job's fields, sip, path, sip_public, sip_asn
      const keys = Object.keys(ra4);
      assert.deepEqual(keys.slice(0, 6), ["dip", "dip_asn", "dp", "sip", "path", "sip_public"]);
      assert.equal(keys[6], "sip_asn");
      const m = JSON.parse(await Deno.readTextFile(meta));
      assert.deepEqual(m.sip_public, { v4: "198.18.1.1", v6: null });
      assert.equal(m.sip_public_from, "stun 198.18.1.2");
      assert.deepEqual(m.sip_asn, { v4: 64500, v6: null });
    });

    await t.step("--stun [IPv6]:PORT: the NAT's IPv6 address", async () => {
      const out = await measure(tb, [
        "--stun",
        "[fd00:1::2]:3478",
        "--asn-db",
        asnDb,
        "dscp",
        "--connect",
        "tcp",
      ], jobs);
      assert.equal(out.code, 0, out.stderr);
      const by = new Map(out.results.map((r) => [r.dip, r]));
      const ra6 = by.get(a.v6!)!, rb6 = by.get(b.v6!)!;
      assert.equal(ra6.sip_public, "fd00:1::1");
      assert.equal(ra6.sip_asn, 64501);
      assert.deepEqual(ra6.path, ["fd00:c::2", "fd00:1::1", "AS64501", a.v6]);
      assert.deepEqual(rb6.path, ["fd00:c::2", "fd00:1::1", "AS64501", "AS64497", b.v6]);
      // IPv4 from the source's own address: AS64499, no public address
      const ra4 = by.get(a.v4!)!;
      assert.deepEqual(ra4.path, ["198.18.0.2", "AS64499", "AS64496", a.v4]);
    });

    await t.step("--public-ip for one family; the other has no sip_public", async () => {
      const out = await measure(tb, [
        "--public-ip",
        "198.51.100.7",
        "--asn-db",
        asnDb,
        "dscp",
        "--connect",
        "tcp",
      ], jobs);
      assert.equal(out.code, 0, out.stderr);
      const by = new Map(out.results.map((r) => [r.dip, r]));
      const ra4 = by.get(a.v4!)!, ra6 = by.get(a.v6!)!;
      assert.equal(ra4.sip_public, "198.51.100.7");
      // the table has no range for the given address: no sip_asn, one warning for IPv4
      assert.equal(ra4.sip_asn, undefined);
      assert.deepEqual(ra4.path, ["198.18.0.2", "198.51.100.7", "AS64496", a.v4]);
      assert.match(out.stderr, /warning: --asn-db has no AS for 198\.51\.100\.7/);
      // IPv6: no public address known, the AS of the source itself (none in the table)
      assert.equal(ra6.sip_public, undefined);
      assert.deepEqual(ra6.path, ["fd00:c::2", a.v6]);
    });

    await t.step("a STUN server that does not answer is a set-up failure, exit 3", async () => {
      const r = await run([
        "ip",
        "netns",
        "exec",
        tb.clientNs,
        PATHSPIDER,
        "measure",
        "-i",
        tb.clientIface,
        "--stun",
        "198.18.1.2:3490",
        "dscp",
      ], { stdin: jobs, timeoutMs: 60_000 });
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr.trim(),
        /^pathspider: --stun 198\.18\.1\.2:3490 gave no public address/,
      );
      assert.equal(r.stdout, "");
    });
    await Deno.remove(dir, { recursive: true });
  } finally {
    await stun?.stop();
    await tb.destroy();
  }
});

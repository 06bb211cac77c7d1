/**
 * The testbed does what it promises: real servers answer through the router, and each middlebox
 * behaviour changes the packets as described, checked with curl, dig, ping and tcpdump on both
 * sides of the router.
 */
import assert from "node:assert/strict";
import { cleanupStale, listNamespacesWithPrefix, Testbed } from "./lib/testbed.ts";
import { type PacketFields, readPackets, Tcpdump } from "./lib/tcpdump.ts";

const TARGETS = [
  { name: "clean" },
  { name: "offline", behaviour: ["offline" as const] },
  { name: "reject", behaviour: ["reject" as const] },
  { name: "noecnsyn", behaviour: ["drop-ecn-syn" as const] },
  { name: "noect", behaviour: ["drop-ect" as const] },
  { name: "clearect", behaviour: ["clear-ect" as const] },
  { name: "setce", behaviour: ["set-ce" as const] },
  { name: "bleach", behaviour: ["bleach-dscp" as const] },
  { name: "noef", behaviour: ["drop-dscp46" as const] },
  { name: "remark", behaviour: ["remark-replies" as const] },
  { name: "revclear", behaviour: ["clear-ect-rev" as const, "bleach-dscp-rev" as const] },
  { name: "noudp", behaviour: ["drop-udp" as const] },
];

/** Runs `fn` while tcpdump captures on the client's and the server's interface. */
async function captured(
  tb: Testbed,
  fn: () => Promise<void>,
): Promise<{ client: PacketFields[]; server: PacketFields[] }> {
  const c = await Tcpdump.start(tb.clientNs, tb.clientIface, `${tb.dir}/c.pcap`, [
    "ip",
    "or",
    "ip6",
  ]);
  const s = await Tcpdump.start(tb.serverNs, tb.serverIface, `${tb.dir}/s.pcap`, [
    "ip",
    "or",
    "ip6",
  ]);
  try {
    await fn();
  } finally {
    await c.stop();
    await s.stop();
  }
  return { client: await readPackets(c.path), server: await readPackets(s.path) };
}

const ICMP_REQ = (p: PacketFields) => p.proto === 1 || p.proto === 58;

async function ping(tb: Testbed, addr: string, tos: number, count = 2) {
  const v6 = addr.includes(":") ? ["-6"] : [];
  return await tb.exec([
    "ping",
    ...v6,
    "-n",
    "-q",
    "-c",
    String(count),
    "-i",
    "0.2",
    "-W",
    "1",
    "-Q",
    String(tos),
    addr,
  ]);
}

Deno.test("the testbed's servers and middlebox behaviours work as described", async (t) => {
  const tb = await Testbed.create({ targets: TARGETS, servers: ["http", "dns", "h2c"] });
  try {
    const clean = tb.target("clean");

    await t.step("nginx answers HTTP and HTTPS over IPv4 and IPv6 on a clean path", async () => {
      for (const url of [`http://${clean.v4}/`, `https://[${clean.v6}]/`, `https://${clean.v4}/`]) {
        const r = await tb.exec(["curl", "-sSk", "--max-time", "5", url]);
        assert.equal(r.code, 0, `${url}: ${r.stderr}`);
        assert.equal(r.stdout, "pathspider testbed\n");
      }
      const big = await tb.exec([
        "curl",
        "-sS",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        `http://[${clean.v6}]/big`,
      ]);
      assert.equal(big.stdout, "200000");
    });

    await t.step("h2o upgrades a cleartext HTTP/1.1 request to HTTP/2", async () => {
      const r = await tb.exec([
        "curl",
        "-sS",
        "--http2",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version}",
        `http://${clean.v4}:8080/`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "2");
    });

    await t.step("NSD answers A and AAAA over UDP and TCP, IPv4 and IPv6", async () => {
      for (const server of [clean.v4!, clean.v6!]) {
        for (const tcp of [[], ["+tcp"]]) {
          const a = await tb.exec([
            "dig",
            ...tcp,
            "+short",
            "+time=2",
            "+tries=1",
            `@${server}`,
            "noecnsyn.example.test",
            "A",
          ]);
          assert.equal(
            a.stdout.trim(),
            tb.target("noecnsyn").v4,
            `${server} ${tcp}: ${a.stdout}${a.stderr}`,
          );
          const aaaa = await tb.exec([
            "dig",
            ...tcp,
            "+short",
            "+time=2",
            "+tries=1",
            `@${server}`,
            "clean.example.test",
            "AAAA",
          ]);
          assert.equal(aaaa.stdout.trim(), clean.v6);
        }
      }
    });

    await t.step("an offline target times out and a rejecting one refuses at once", async () => {
      const off = await tb.exec([
        "curl",
        "-sS",
        "--max-time",
        "1",
        `http://${tb.target("offline").v4}/`,
      ]);
      assert.equal(off.code, 28, "curl timeout expected");
      const dig = await tb.exec([
        "dig",
        "+short",
        "+time=1",
        "+tries=1",
        `@${tb.target("offline").v6}`,
        "clean.example.test",
      ]);
      assert.notEqual(dig.code, 0);
      for (const a of [tb.target("reject").v4, `[${tb.target("reject").v6}]`]) {
        const rej = await tb.exec(["curl", "-sS", "--max-time", "3", `http://${a}/`]);
        assert.equal(rej.code, 7, `connection refused expected for ${a}: ${rej.stderr}`);
      }
    });

    await t.step(
      "SYNs asking for ECN are dropped on the drop-ecn-syn path but pass a clean one",
      async () => {
        await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_ecn=1"]);
        const nes = tb.target("noecnsyn");
        const { client, server } = await captured(tb, async () => {
          for (const url of [`http://${nes.v4}/`, `http://[${nes.v6}]/`, `http://${clean.v4}/`]) {
            const r = await tb.exec(["curl", "-sS", "--max-time", "5", url]);
            // Linux retries the SYN without ECN after a timeout, so the fetch still succeeds
            assert.equal(r.code, 0, `${url}: ${r.stderr}`);
          }
        });
        await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_ecn=2"]);
        const ecnSyn = (p: PacketFields) => p.tcpFlags === 0xc2;
        const plainSyn = (p: PacketFields) => p.tcpFlags === 0x02;
        for (const a of [nes.v4, nes.v6]) {
          assert.ok(client.some((p) => p.dst === a && ecnSyn(p)), `client sent an ECN SYN to ${a}`);
          assert.ok(!server.some((p) => p.dst === a && ecnSyn(p)), `no ECN SYN reached ${a}`);
          assert.ok(
            server.some((p) => p.dst === a && plainSyn(p)),
            `the fallback SYN reached ${a}`,
          );
        }
        assert.ok(
          server.some((p) => p.dst === clean.v4 && ecnSyn(p)),
          "ECN SYN reached the clean target",
        );
      },
    );

    await t.step(
      "ECN marks are dropped, cleared or set to CE on their paths, IPv4 and IPv6",
      async () => {
        const noect = tb.target("noect"), clear = tb.target("clearect"), ce = tb.target("setce");
        for (const a of [noect.v4!, noect.v6!]) {
          assert.notEqual((await ping(tb, a, 0x02)).code, 0, `ECT(0) ping to ${a} must be dropped`);
          assert.equal((await ping(tb, a, 0x00)).code, 0, `not-ECT ping to ${a} must pass`);
        }
        const { server } = await captured(tb, async () => {
          for (const a of [clear.v4!, clear.v6!, ce.v4!, ce.v6!, clean.v4!]) {
            assert.equal((await ping(tb, a, 0x02, 1)).code, 0);
            assert.equal((await ping(tb, a, 0x00, 1)).code, 0);
          }
        });
        const reqs = (a: string) =>
          server.filter((p) => p.dst === a && ICMP_REQ(p)).map((p) => p.ecn);
        for (const a of [clear.v4!, clear.v6!]) {
          assert.deepEqual(reqs(a), [0, 0], `cleared at ${a}`);
        }
        for (const a of [ce.v4!, ce.v6!]) {
          assert.deepEqual(reqs(a), [3, 0], `CE only on ECT at ${a}`);
        }
        assert.deepEqual(reqs(clean.v4!), [2, 0], "unchanged on the clean path");
      },
    );

    await t.step(
      "DSCP is bleached, EF is dropped and replies are remarked on their paths",
      async () => {
        const bleach = tb.target("bleach"), noef = tb.target("noef"), remark = tb.target("remark");
        for (const a of [noef.v4!, noef.v6!]) {
          assert.notEqual((await ping(tb, a, 46 << 2)).code, 0, `EF ping to ${a} must be dropped`);
          assert.equal((await ping(tb, a, 10 << 2)).code, 0, `AF11 ping to ${a} must pass`);
        }
        const { client, server } = await captured(tb, async () => {
          for (const a of [bleach.v4!, bleach.v6!, remark.v4!, remark.v6!, clean.v6!]) {
            assert.equal((await ping(tb, a, 46 << 2, 1)).code, 0);
          }
        });
        const fwd = (a: string) =>
          server.filter((p) => p.dst === a && ICMP_REQ(p)).map((p) => p.dscp);
        const rev = (a: string) =>
          client.filter((p) => p.src === a && ICMP_REQ(p)).map((p) => p.dscp);
        for (const a of [bleach.v4!, bleach.v6!]) assert.deepEqual(fwd(a), [0], `bleached at ${a}`);
        for (const a of [remark.v4!, remark.v6!]) {
          assert.deepEqual(fwd(a), [46], `forward unchanged at ${a}`);
          // the echo reply copies the request's marks; the router rewrites it to AF11
          assert.deepEqual(rev(a), [10], `reply remarked from ${a}`);
        }
        assert.deepEqual(
          [...fwd(clean.v6!), ...rev(clean.v6!)],
          [46, 46],
          "unchanged on the clean path",
        );
      },
    );

    await t.step("reverse-path rules clear ECN and DSCP of replies only", async () => {
      const rc = tb.target("revclear");
      const { client, server } = await captured(tb, async () => {
        for (const a of [rc.v4!, rc.v6!]) {
          assert.equal((await ping(tb, a, (46 << 2) | 2, 1)).code, 0);
        }
      });
      for (const a of [rc.v4!, rc.v6!]) {
        const req = server.filter((p) => p.dst === a && ICMP_REQ(p));
        const rep = client.filter((p) => p.src === a && ICMP_REQ(p));
        assert.deepEqual(req.map((p) => [p.dscp, p.ecn]), [[46, 2]]);
        assert.deepEqual(rep.map((p) => [p.dscp, p.ecn]), [[0, 0]]);
      }
    });

    await t.step("the drop-udp path loses DNS over UDP but not over TCP", async () => {
      const nu = tb.target("noudp");
      const udp = await tb.exec([
        "dig",
        "+short",
        "+time=1",
        "+tries=1",
        `@${nu.v4}`,
        "clean.example.test",
      ]);
      assert.notEqual(udp.code, 0);
      const tcp = await tb.exec([
        "dig",
        "+tcp",
        "+short",
        "+time=2",
        "+tries=1",
        `@${nu.v6}`,
        "clean.example.test",
      ]);
      assert.equal(tcp.stdout.trim(), clean.v4);
    });
  } finally {
    await tb.destroy();
  }
  assert.deepEqual(
    await listNamespacesWithPrefix(tb.prefix),
    [],
    "destroy removed every namespace",
  );
});

Deno.test("a testbed whose set-up fails leaves nothing behind, and stale ones can be cleaned", async () => {
  const prefix = `pstf${Deno.pid % 10000}`;
  await assert.rejects(
    Testbed.create({ prefix, targets: [{ name: "bad", v4: "198.19.0.999" }] }),
    /198\.19\.0\.999/,
  );
  assert.deepEqual(await listNamespacesWithPrefix(prefix), []);
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    Testbed.create({ prefix, targets: [{ name: "x", behaviour: ["nonsense" as any] }] }),
    /unknown behaviour nonsense/,
  );
  // a leftover of a crashed run (a namespace with a process in it) is removed by cleanupStale
  const stale = new Deno.Command("ip", { args: ["netns", "add", `${prefix}-c`] });
  assert.equal((await stale.output()).code, 0);
  const sleeper = new Deno.Command("ip", { args: ["netns", "exec", `${prefix}-c`, "sleep", "60"] })
    .spawn();
  assert.deepEqual(await cleanupStale(prefix), [`${prefix}-c`]);
  assert.equal((await sleeper.status).success, false, "the process inside was killed");
  assert.deepEqual(await listNamespacesWithPrefix(prefix), []);
});

Deno.test("the delay element holds packets to a target for its delay and keeps its behaviours", async () => {
  const tb = await Testbed.create({
    targets: [
      { name: "near" },
      { name: "far", delayMs: 120 },
      { name: "farblackhole", delayMs: 40, behaviour: ["drop-ecn-syn"] },
    ],
    servers: ["http"],
  });
  try {
    // a lower bound only: a packet cannot come back before it was released
    const minRtt = async (a: string) => {
      const r = await ping(tb, a, 0, 3);
      assert.equal(r.code, 0, r.stderr);
      return Number(r.stdout.match(/= ([\d.]+)\//)![1]);
    };
    for (const a of [tb.target("far").v4!, tb.target("far").v6!]) {
      assert.ok((await minRtt(a)) >= 120, `RTT to ${a} includes the 120 ms delay`);
    }
    const fb = tb.target("farblackhole");
    assert.ok((await minRtt(fb.v6!)) >= 40);
    await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_ecn=1"]);
    const { server } = await captured(tb, async () => {
      for (const url of [`http://${fb.v4}/`, `http://${tb.target("far").v4}/big`]) {
        const r = await tb.exec(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", url]);
        assert.equal(r.code, 0, `${url}: ${r.stderr}`);
      }
    });
    const syns = (a: string) =>
      server.filter((p) => p.dst === a && (p.tcpFlags & 0x12) === 0x02).map((p) => p.tcpFlags);
    assert.deepEqual(syns(fb.v4!), [0x02], "only the fallback SYN without ECN reached the server");
    assert.deepEqual(
      syns(tb.target("far").v4!),
      [0xc2],
      "the ECN SYN passed the delayed clean path",
    );
    const bytes = server.filter((p) => p.src === tb.target("far").v4).reduce(
      (n, p) => n + p.ipLen,
      0,
    );
    assert.ok(bytes > 200_000, "the 200 kB object came through the delay element");
  } finally {
    await tb.destroy();
  }
});

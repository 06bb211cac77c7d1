/**
 * The forge plugins (evilbit in both modes, udpzero, udpopts) on the testbed, IPv4 and IPv6,
 * against targets whose router drops or marks what each plugin probes:
 * - `noevil`: IPv4 packets with the reserved bit set are dropped (forward);
 * - `evilrev`: the target's IPv4 replies get the reserved bit set (reverse);
 * - `nozero`: UDP datagrams with a zero checksum are dropped (forward);
 * - `noopts`: UDP datagrams whose IP payload is longer than the UDP length (a UDP options
 *   trailer) are dropped, by a classic BPF program in iptables (nftables cannot compare two
 *   header fields);
 * - `offline`: everything is dropped.
 * Also: the forged packets on the wire (evil bit, zero checksum, surplus area), no RST from the
 * forge ports, the firewall table gone after the run, and after SIGKILL the next run removes it.
 */
import assert from "node:assert/strict";
import { run, Testbed } from "./lib/testbed.ts";
import { Tcpdump } from "./lib/tcpdump.ts";
import { jobsFor, measure, PATHSPIDER, type Result, resultOf, warmUp } from "./measure_run.ts";
import { havePeer, PEER } from "../peer.ts";

const NAMES = ["clean", "noevil", "evilrev", "nozero", "noopts", "offline"] as const;
type Name = typeof NAMES[number];

/** cBPF for xt_bpf: IPv4 UDP whose total length exceeds IHL*4 + UDP length. */
const BPF_V4_SURPLUS = "10,48 0 0 9,21 0 6 17,177 0 0 0,72 0 0 4,12 0 0 0,7 0 0 0,40 0 0 2," +
  "45 1 0 0,6 0 0 0,6 0 0 65535";
/** cBPF for xt_bpf: IPv6 UDP (no extension headers) whose payload length exceeds the UDP length. */
const BPF_V6_SURPLUS = "8,48 0 0 6,21 0 4 17,40 0 0 44,7 0 0 0,40 0 0 4,45 1 0 0,6 0 0 0," +
  "6 0 0 65535";

async function withTestbed(fn: (tb: Testbed) => Promise<void>) {
  const tb = await Testbed.create({
    servers: ["dns", "http"],
    targets: NAMES.map((name) => ({
      name,
      behaviour: name === "offline" ? ["offline" as const] : [],
    })),
  });
  try {
    await tb.addForwardRules([
      `ip daddr ${tb.target("noevil").v4} ip frag-off & 0x8000 != 0 drop`,
      `ip saddr ${tb.target("evilrev").v4} ip frag-off set ip frag-off | 0x8000`,
    ]);
    await tb.addTargetRules({ nozero: (ip, a) => [`${ip} daddr ${a} udp checksum 0 drop`] });
    const noopts = tb.target("noopts");
    for (
      const [cmd, addr, bpf] of [
        ["iptables", noopts.v4!, BPF_V4_SURPLUS],
        ["ip6tables", noopts.v6!, BPF_V6_SURPLUS],
      ] as const
    ) {
      await run(
        [cmd, "-A", "FORWARD", "-d", addr, "-m", "bpf", "--bytecode", bpf, "-j", "DROP"],
        { ns: tb.routerNs, check: true },
      );
    }
    await warmUp(tb);
    await fn(tb);
  } finally {
    await tb.destroy();
  }
}

const W = "works";
/** Connectivity word per target, [IPv4, IPv6], for each plugin run. */
const CONNECTIVITY: Record<string, Record<Name, [string, string]>> = {
  // IPv6 has no evil bit: both probes alike, so noevil's rule never applies to IPv6
  evilbit: {
    clean: [W, W],
    noevil: ["broken", W],
    evilrev: [W, W],
    nozero: [W, W],
    noopts: [W, W],
    offline: ["offline", "offline"],
  },
  // IPv6 receivers drop zero-checksum UDP (RFC 8200): broken everywhere on IPv6
  udpzero: {
    clean: [W, "broken"],
    noevil: [W, "broken"],
    evilrev: [W, "broken"],
    nozero: ["broken", "broken"],
    noopts: [W, "broken"],
    offline: ["offline", "offline"],
  },
  udpopts: {
    clean: [W, W],
    noevil: [W, W],
    evilrev: [W, W],
    nozero: [W, W],
    noopts: ["broken", "broken"],
    offline: ["offline", "offline"],
  },
};

function expected(plugin: string, name: Name, fam: 4 | 6): string[] {
  const conn = CONNECTIVITY[plugin]![name][fam === 4 ? 0 : 1];
  const out = [`${plugin}.connectivity.${conn}`];
  if (plugin === "evilbit" && (conn === W || conn === "transient")) {
    out.push(`evilbit.mark.${name === "evilrev" && fam === 4 ? "seen" : "not_seen"}`);
  }
  return out;
}

function check(tb: Testbed, plugin: string, results: Result[], label: string) {
  assert.equal(results.length, 2 * NAMES.length, label);
  for (const name of NAMES) {
    for (const fam of [4, 6] as const) {
      const r = resultOf(results, tb, name, fam);
      assert.deepEqual(r.conditions, expected(plugin, name, fam), `${label} ${name} IPv${fam}`);
    }
  }
}

/** Tables of the client namespace's nftables rule set. */
async function clientTables(tb: Testbed): Promise<string[]> {
  const out = await run(["nft", "list", "tables"], { ns: tb.clientNs, check: true });
  return out.stdout.split("\n").filter((l) => l.trim() !== "");
}

/** Selected tshark fields of the packets of a capture matching `filter`. */
async function fields(path: string, filter: string, names: string[]): Promise<string[][]> {
  const r = await run([
    "tshark",
    "-r",
    path,
    "-n",
    // verify checksums (status 1 = good, 0 = bad)
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "separator=|",
    ...names.flatMap((f) => ["-e", f]),
  ], { check: true });
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split("|"));
}

Deno.test("measure evilbit, udpzero and udpopts find each path's behaviour", async (t) => {
  await withTestbed(async (tb) => {
    const runs: [string, string[]][] = [
      ["evilbit", ["evilbit", "--timeout", "2"]],
      ["evilbit", ["evilbit", "--connect", "dnsudp", "--timeout", "2"]],
      ["udpzero", ["udpzero", "--connect", "dnsudp", "--timeout", "2"]],
      ["udpopts", ["udpopts", "--timeout", "2"]],
    ];
    for (const [plugin, args] of runs) {
      await t.step(args.join(" "), async () => {
        const cap = await Tcpdump.start(tb.clientNs, tb.clientIface, `${tb.dir}/${plugin}.pcap`);
        let out;
        try {
          out = await measure(tb, ["--output-flows", ...args], jobsFor(tb));
        } finally {
          await cap.stop();
        }
        assert.equal(out.code, 0, out.stderr);
        check(tb, plugin, out.results, args.join(" "));
        assert.match(out.stderr, /12 jobs, 12 results, .* 0 unobserved flows/);
        // every probe left from its own port of the reserved range, and was sent
        const ports = out.results.flatMap((r) =>
          (r.flow_results as Record<string, unknown>[]).map((f) => {
            assert.equal(f.spdr_state, 0);
            return f.sp as number;
          })
        );
        assert.equal(new Set(ports).size, 24);
        for (const p of ports) assert.ok(p >= 61000 && p <= 65535, `port ${p}`);
        // the kernel sent no RST (or port unreachable) for the forged connections; only this
        // run's ports count: the previous step's targets still retransmit their SYN-ACKs after
        // that run (and its RST-dropping table) ended, and our kernel rightly resets those
        const rst = (await fields(cap.path, "tcp.flags.reset == 1 && tcp.srcport >= 61000", [
          "tcp.srcport",
        ])).filter(([p]) => ports.includes(Number(p)));
        assert.deepEqual(rst, []);
        // (tshark's udp.dstport also matches the datagram an ICMP error quotes)
        const unreach = await fields(
          cap.path,
          "(icmp.type == 3 || icmpv6.type == 1) && udp.dstport >= 61000",
          ["frame.number"],
        );
        assert.deepEqual(unreach, []);
        assert.deepEqual(await clientTables(tb), []);
      });
    }
  });
});

Deno.test("forged packets carry the evil bit, a zero checksum or a checksummed options trailer on the wire", async () => {
  await withTestbed(async (tb) => {
    const jobs = jobsFor(tb, ["clean"]);
    const cap = await Tcpdump.start(tb.clientNs, tb.clientIface, `${tb.dir}/wire.pcap`);
    const outs = [];
    try {
      // tcpsyn is the original's name for the tcp mode
      outs.push(await measure(tb, ["evilbit", "--connect", "tcpsyn", "--timeout", "2"], jobs));
      outs.push(await measure(tb, ["udpzero", "--timeout", "2"], jobs));
      outs.push(await measure(tb, ["udpopts", "--timeout", "2"], jobs));
    } finally {
      await cap.stop();
    }
    for (const o of outs) assert.equal(o.code, 0, o.stderr);
    const v4 = tb.target("clean").v4!;
    const syns = await fields(cap.path, `ip.dst == ${v4} && tcp.flags.syn == 1`, [
      "ip.flags.rb",
      "ip.checksum.status",
      "tcp.checksum.status",
    ]);
    // the evil bit on the second SYN only; IP and TCP checksums verify
    assert.deepEqual(syns, [["0", "1", "1"], ["1", "1", "1"]]);
    const dns = await fields(cap.path, `ip.dst == ${v4} && udp.dstport == 53`, [
      "udp.checksum",
      "udp.length",
      "ip.len",
      "udp.checksum.status",
    ]);
    assert.equal(dns.length, 4);
    // udpzero: computed, then zero; udpopts: no trailer, then IP longer than UDP
    assert.notEqual(Number(dns[0]![0]), 0);
    assert.equal(dns[0]![3], "1");
    assert.equal(Number(dns[1]![0]), 0);
    // the options trailer is outside the UDP checksum, which still verifies
    assert.equal(dns[3]![3], "1");
    const [, udpLen, ipLen] = dns[3]!.slice(0, 3).map(Number);
    assert.equal(ipLen! - 20 - udpLen!, ((20 + udpLen!) & 1) + 4);
    assert.equal(Number(dns[2]![2]) - 20, Number(dns[2]![1]));
    // the server answered every query (a reply from port 53 for each)
    const replies = await fields(cap.path, `ip.src == ${v4} && udp.srcport == 53`, ["dns.id"]);
    assert.equal(replies.length, 4);
  });
});

Deno.test("after SIGKILL of a forge run, the next run removes its firewall table", async () => {
  await withTestbed(async (tb) => {
    const journalDir = `${tb.dir}/journal`;
    const p = new Deno.Command("ip", {
      args: ["netns", "exec", tb.clientNs, PATHSPIDER, "measure", "-i", tb.clientIface, "evilbit"],
      env: { PATHSPIDER_JOURNAL_DIR: journalDir },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      // the input stays open: the run waits for more jobs with its table in place
      const deadline = Date.now() + 20_000;
      while ((await clientTables(tb)).length === 0) {
        assert.ok(Date.now() < deadline, "the forge table never appeared");
        await new Promise((r) => setTimeout(r, 100));
      }
      p.kill("SIGKILL");
      await p.status;
      await p.stderr.cancel();
    } finally {
      try {
        p.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    assert.match((await clientTables(tb)).join("\n"), /table inet pathspider_forge_\d+/);
    const next = await run(
      [
        "env",
        `PATHSPIDER_JOURNAL_DIR=${journalDir}`,
        PATHSPIDER,
        "measure",
        "-i",
        tb.clientIface,
        "udpzero",
      ],
      { ns: tb.clientNs, stdin: jobsFor(tb, ["clean"]) },
    );
    assert.equal(next.code, 0, next.stderr);
    assert.match(
      next.stderr,
      /restored nftables table pathspider_forge_\d+, left changed by an earlier run/,
    );
    assert.deepEqual(await clientTables(tb), []);
    assert.equal(
      [...Deno.readDirSync(journalDir)].filter((d) => d.name.startsWith("journal-")).length,
      0,
    );
  });
});

Deno.test({
  name: "evilbit and udpzero give the original's conditions on every answering path",
  ignore: !havePeer,
  fn: async (t) => {
    await withTestbed(async (tb) => {
      const names = NAMES.filter((n) => n !== "offline");
      for (
        const [ours, theirs, dp] of [
          [["evilbit"], ["evilbit"], 80],
          [["evilbit", "--connect", "dnsudp"], ["evilbit", "--connect", "dnsudp"], 53],
          [["udpzero"], ["udpzero"], 53],
        ] as const
      ) {
        await t.step(ours.join(" "), async () => {
          // the original needs dp in every job
          const jobs = jobsFor(tb, [...names]).split("\n").filter(Boolean)
            .map((l) => JSON.stringify({ ...JSON.parse(l), dp }) + "\n").join("");
          const a = await measure(tb, [...ours, "--timeout", "2"], jobs);
          assert.equal(a.code, 0, a.stderr);
          // it notices the end of its input only when a packet arrives: keep a ping going
          const ping = tb.spawn(["ping", "-q", "-i", "0.2", "198.18.0.1"]);
          let b;
          try {
            b = await run(
              [
                "ip",
                "netns",
                "exec",
                tb.clientNs,
                PEER,
                "measure",
                "-i",
                tb.clientIface,
                ...theirs,
              ],
              { stdin: jobs, timeoutMs: 120_000 },
            );
          } finally {
            await ping.stop("SIGINT");
          }
          assert.equal(b.code, 0, b.stderr.slice(-2000));
          const theirResults = b.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
          assert.equal(theirResults.length, a.results.length);
          for (const r of a.results) {
            const o = theirResults.find((x) => x.dip === r.dip);
            assert.deepEqual(r.conditions, o?.conditions, `${ours.join(" ")} ${r.dip}`);
          }
        });
      }
    });
  },
});

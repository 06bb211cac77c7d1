/**
 * `observe` on a live interface: pathspider captures on the client's veth while curl and dig talk
 * to real servers over IPv4 and IPv6 with known marks (ECN negotiated through the client
 * namespace's tcp_ecn, DSCP AF21 set by nftables on output); after SIGINT its flow records must
 * agree with a tcpdump capture of the same traffic and show those marks.
 */
import assert from "node:assert/strict";
import { NET, Testbed } from "./lib/testbed.ts";
import { Background, deleteNamespace, run } from "./lib/netns.ts";
import { type PacketFields, readPackets, Tcpdump } from "./lib/tcpdump.ts";
import { capturing, packetSockets } from "./lib/capturing.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AF21 = 18;

/** What tcpdump saw of one flow, keyed like the observer (client side first). */
interface RefFlow {
  proto: number;
  sip: string;
  sp: number;
  dip: string;
  dp: number;
  pktFwd: number;
  pktRev: number;
  octFwd: number;
  octRev: number;
  synFwd?: number;
  synRev?: number;
}

function referenceFlows(pkts: PacketFields[]): Map<string, RefFlow> {
  const clients = new Set<string>([NET.client4, NET.client6]);
  const flows = new Map<string, RefFlow>();
  for (const p of pkts) {
    if (p.proto !== 6 && p.proto !== 17) continue;
    const fwd = clients.has(p.src);
    const [sip, sp, dip, dp] = fwd
      ? [p.src, p.sport, p.dst, p.dport]
      : [p.dst, p.dport, p.src, p.sport];
    const key = `${p.proto} ${sip} ${sp} ${dip} ${dp}`;
    let f = flows.get(key);
    if (!f) {
      f = { proto: p.proto, sip, sp, dip, dp, pktFwd: 0, pktRev: 0, octFwd: 0, octRev: 0 };
      flows.set(key, f);
    }
    if (fwd) {
      f.pktFwd++;
      f.octFwd += p.ipLen;
      if (p.proto === 6 && (p.tcpFlags & 0x12) === 0x02) f.synFwd ??= p.tcpFlags;
    } else {
      f.pktRev++;
      f.octRev += p.ipLen;
      if (p.proto === 6 && (p.tcpFlags & 0x12) === 0x12) f.synRev ??= p.tcpFlags;
    }
  }
  return flows;
}

Deno.test("live observe on a veth reports the packets, octets, SYN flags, DSCP and ECN that tcpdump sees", async () => {
  const tb = await Testbed.create({ targets: [{ name: "web" }], servers: ["http", "dns"] });
  try {
    const web = tb.target("web");
    // marks known in advance: ECN asked for by the client, DSCP AF21 on everything it sends to
    // the target (nftables keeps the ECN bits); the server answers unmarked
    await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_ecn=1"], tb.clientNs, { check: true });
    await tb.exec(["nft", "-f", "-"], tb.clientNs, {
      check: true,
      stdin: `table inet marks {
  chain out {
    type filter hook output priority mangle; policy accept;
    ip daddr ${web.v4} ip dscp set af21
    ip6 daddr ${web.v6} ip6 dscp set af21
  }
}
`,
    });
    const records = `${tb.dir}/flows.ndjson`;
    const ref = await Tcpdump.start(tb.clientNs, tb.clientIface, `${tb.dir}/ref.pcap`);
    const sockets = await packetSockets(tb.clientIface, tb.clientNs);
    const observe = tb.spawn([
      `${ROOT}bin/pathspider`,
      "observe",
      "-i",
      tb.clientIface,
      "--output",
      records,
      "basic",
      "tcp",
      "ecn",
      "dscp",
    ]);
    await capturing(tb.clientIface, tb.clientNs, sockets);
    for (const url of [`http://${web.v4}/big`, `http://[${web.v6}]/big`, `http://${web.v4}/`]) {
      const r = await tb.exec(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", url]);
      assert.equal(r.code, 0, `${url}: ${r.stderr}`);
    }
    for (const server of [web.v4!, web.v6!]) {
      const r = await tb.exec([
        "dig",
        "+short",
        "+time=2",
        "+tries=1",
        `@${server}`,
        "web.example.test",
        "A",
      ]);
      assert.equal(r.stdout.trim(), web.v4);
    }
    await new Promise((r) => setTimeout(r, 500));
    const st = await observe.stop("SIGINT", 10_000);
    await ref.stop();
    assert.ok(st.success, `observe exited with ${st.code}: ${observe.stderr}`);

    // only the traffic we made (not the kernel's own IPv6 neighbour/multicast chatter)
    const want = new Map(
      [...referenceFlows(await readPackets(ref.path))].filter(([, f]) =>
        f.dip === web.v4 || f.dip === web.v6
      ),
    );
    const got = (await Deno.readTextFile(records)).split("\n").filter(Boolean).map((l) =>
      JSON.parse(l) as Record<string, unknown>
    );
    const tcp = [...want.values()].filter((f) => f.proto === 6);
    const udp = [...want.values()].filter((f) => f.proto === 17);
    assert.equal(tcp.length, 3, "three HTTP connections in the reference capture");
    assert.equal(udp.length, 2, "two DNS exchanges in the reference capture");
    for (const f of want.values()) {
      const r = got.find((g) =>
        g.proto === f.proto && g.sip === f.sip && g.sp === f.sp && g.dip === f.dip && g.dp === f.dp
      );
      assert.ok(r, `a record for ${f.proto} ${f.sip}:${f.sp} -> ${f.dip}:${f.dp}`);
      const where = `${f.sip}:${f.sp} -> ${f.dip}:${f.dp}`;
      assert.equal(r.pkt_fwd, f.pktFwd, `pkt_fwd of ${where}`);
      assert.equal(r.pkt_rev, f.pktRev, `pkt_rev of ${where}`);
      assert.equal(r.oct_fwd, f.octFwd, `oct_fwd of ${where}`);
      assert.equal(r.oct_rev, f.octRev, `oct_rev of ${where}`);
      if (f.proto !== 6) continue;
      // SYN with ECE|CWR, SYN-ACK with ECE: ECN negotiated
      assert.equal(f.synFwd, 0xc2, `reference SYN of ${where}`);
      assert.equal(f.synRev, 0x52, `reference SYN-ACK of ${where}`);
      assert.equal(r.tcp_synflags_fwd, f.synFwd, `tcp_synflags_fwd of ${where}`);
      assert.equal(r.tcp_synflags_rev, f.synRev, `tcp_synflags_rev of ${where}`);
      assert.equal(r.tcp_connected, true, `tcp_connected of ${where}`);
      assert.equal(r.tcp_fin_fwd, true);
      assert.equal(r.tcp_fin_rev, true);
      assert.equal(r.dscp_mark_syn_fwd, AF21, `dscp_mark_syn_fwd of ${where}`);
      assert.equal(r.dscp_mark_data_fwd, AF21, `dscp_mark_data_fwd of ${where}`);
      assert.equal(r.dscp_mark_syn_rev, 0);
      assert.equal(r.dscp_mark_data_rev, 0);
      // Linux marks data ECT(0) once ECN is negotiated, never the SYNs
      assert.equal(r.ecn_ect0_data_fwd, true, `ecn_ect0_data_fwd of ${where}`);
      assert.equal(r.ecn_ect0_data_rev, true, `ecn_ect0_data_rev of ${where}`);
      assert.equal(r.ecn_ect0_syn_fwd, false);
      assert.equal(r.ecn_ce_data_fwd, false);
      assert.equal(r.ecn_ce_data_rev, false);
    }
    for (const f of udp) {
      const r = got.find((g) => g.proto === 17 && g.sip === f.sip && g.sp === f.sp)!;
      assert.equal(r.dscp_mark_data_fwd, AF21, "DNS query marked AF21");
      assert.equal(r.dscp_mark_data_rev, 0, "DNS answer unmarked");
    }
    assert.ok(got.some((g) => g.sip === NET.client6 || g.dip === NET.client6), "IPv6 flows seen");
  } finally {
    await tb.destroy();
  }
});

/**
 * Sends Ethernet frames tagged with VLAN 42 out of `dev` in namespace `ns` (a raw AF_PACKET
 * socket; this kernel has no 802.1Q module, so no VLAN device can make them): UDP from `src:5000`
 * to `dst:6000`, `n` of them, each way given by `pairs`.
 */
async function sendTagged(ns: string, dev: string, pairs: [string, string][]): Promise<void> {
  const py = `
import socket, struct, sys
dev = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    return (~(t + (t >> 16))) & 0xffff
for pair in sys.argv[2:]:
    src, dst = pair.split('>')
    payload = b'vlan test'
    udp = struct.pack('!HHHH', 5000 if src.endswith('.1') else 6000,
                      6000 if src.endswith('.1') else 5000, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    eth = b'\\xff' * 6 + b'\\x02\\x00\\x00\\x00\\x00\\x01' + struct.pack('!HHH', 0x8100, 42, 0x0800)
    s.send(eth + ip + udp)
`;
  await run(["python3", "-c", py, dev, ...pairs.map(([a, b]) => `${a}>${b}`)], {
    ns,
    check: true,
  });
}

Deno.test("live observe puts back the VLAN tag the kernel takes out of each frame", async () => {
  // a veth between two namespaces; frames tagged with VLAN 42 go through it, and observe captures
  // on the receiving end, where AF_PACKET hands the tag over beside the frame
  const a = `psvl${Deno.pid % 100000}a`, b = `psvl${Deno.pid % 100000}b`;
  const dir = await Deno.makeTempDir({ prefix: "psvl-" });
  let observe: Background | undefined;
  try {
    for (const ns of [a, b]) await run(["ip", "netns", "add", ns], { check: true });
    await run(
      ["ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b],
      { check: true },
    );
    await run(["ip", "link", "set", "va", "up"], { ns: a, check: true });
    await run(["ip", "link", "set", "vb", "up"], { ns: b, check: true });
    observe = new Background([
      `${ROOT}bin/pathspider`,
      "observe",
      "-i",
      "vb",
      "--output",
      `${dir}/flows.ndjson`,
      "--write",
      `${dir}/seen.pcap`,
      "basic",
    ], { ns: b });
    await capturing("vb", b);
    const A = "198.18.42.1", B = "198.18.42.2";
    await sendTagged(a, "va", [[A, B], [B, A], [A, B], [B, A], [A, B]]);
    await new Promise((r) => setTimeout(r, 500));
    const st = await observe.stop("SIGINT", 10_000);
    assert.ok(st.success, `observe exited with ${st.code}: ${observe.stderr}`);

    // the flow is there, parsed through the tag
    const flows = (await Deno.readTextFile(`${dir}/flows.ndjson`)).split("\n").filter(Boolean)
      .map((l) => JSON.parse(l));
    const udp = flows.find((f) => f.sip === A && f.dip === B);
    assert.ok(udp, JSON.stringify(flows));
    assert.deepEqual([udp.proto, udp.sp, udp.dp, udp.pkt_fwd, udp.pkt_rev], [17, 5000, 6000, 3, 2]);
    // and every frame written keeps its tag, as it was on the wire
    const dump = await run(["tcpdump", "-e", "-nn", "-r", `${dir}/seen.pcap`], { check: true });
    const lines = dump.stdout.trim().split("\n").filter((l) => l.includes("UDP"));
    assert.equal(lines.length, 5, dump.stdout);
    for (const l of lines) assert.match(l, /vlan 42/, l);
  } finally {
    await observe?.stop("SIGKILL", 2000).catch(() => {});
    for (const ns of [a, b]) await deleteNamespace(ns).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

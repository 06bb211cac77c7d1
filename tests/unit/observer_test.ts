import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as c from "./craft.ts";
import { Observer } from "../../src/observer/observer.ts";
import type { Chain, FlowRecord } from "../../src/observer/chain.ts";
import type { PacketView } from "../../src/observer/packet.ts";
import { makeChains } from "../../src/chains/registry.ts";

const A = "198.18.0.1", B = "198.18.0.2", R = "198.18.9.9";
const A6 = "fd00::1", B6 = "fd00::2", R6 = "fd00::99";

/** Runs the chains over the packets (one batch, or one batch per packet) and returns records. */
function observe(
  pkts: c.CraftedPacket[],
  chains: Chain[] | string[] = ["basic"],
  opts: { flush?: boolean; perPacket?: boolean } = {},
): { recs: FlowRecord[]; obs: Observer } {
  const recs: FlowRecord[] = [];
  const cs = typeof chains[0] === "string" ? makeChains(chains as string[]) : chains as Chain[];
  const obs = new Observer(cs, { emit: (r) => recs.push(r) });
  if (opts.perPacket) { for (const p of pkts) obs.push(c.batch([p])); }
  else obs.push(c.batch(pkts));
  if (opts.flush !== false) obs.flush();
  return { recs, obs };
}

Deno.test("a bidirectional TCP flow is one record with forward and reverse counts", () => {
  const { recs } = observe([
    { ts: 100.1, frame: c.tcp4(A, B, { sport: 40000, dport: 80, flags: c.F.SYN }) },
    { ts: 100.2, frame: c.tcp4(B, A, { sport: 80, dport: 40000, flags: c.F.SYN | c.F.ACK }) },
    {
      ts: 100.3,
      frame: c.tcp4(A, B, { sport: 40000, dport: 80, flags: c.F.ACK, payload: [1, 2] }),
    },
  ]);
  assertEquals(recs.length, 1);
  assertEquals(recs[0], {
    pkt_first: 100.1,
    sip: A,
    dip: B,
    proto: 6,
    sp: 40000,
    dp: 80,
    pkt_fwd: 2,
    pkt_rev: 1,
    oct_fwd: 40 + 42,
    oct_rev: 40,
    pkt_last: 100.3,
  });
  assertEquals(Object.keys(recs[0])[0], "pkt_first");
  assertEquals(Object.keys(recs[0]).at(-1), "pkt_last");
});

Deno.test("a flow still open at the end is flushed without _idle_bin", () => {
  const { recs } = observe([{ ts: 5, frame: c.udp4(A, B, { sport: 1, dport: 2 }) }], [
    "basic",
    "udp",
  ]);
  assertEquals(recs.length, 1);
  assert(!("_idle_bin" in recs[0]!));
  assertEquals(recs[0]!.udp_zero_checksum_fwd, false);
});

Deno.test("an ICMPv4 error is attributed to the flow its quotation names, in reverse", () => {
  const syn = c.ip4({ src: A, dst: B, proto: 6 }, c.tcp({ sport: 40000, dport: 80, flags: 2 }));
  const { recs } = observe([
    { ts: 10, frame: c.ether(syn) },
    // from a router on the path: other addresses, but the quotation names the flow
    {
      ts: 10.5,
      frame: c.ether(c.ip4({ src: R, dst: A, proto: 1 }, c.icmp(11, 0, syn.subarray(0, 28)))),
    },
  ], ["basic", "icmp"]);
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.pkt_fwd, 1);
  assertEquals(recs[0]!.pkt_rev, 1);
  assertEquals(recs[0]!.icmp_unreachable, false);
  const unreach = observe([
    { ts: 10, frame: c.ether(syn) },
    { ts: 10.5, frame: c.ether(c.ip4({ src: B, dst: A, proto: 1 }, c.icmp(3, 3, syn))) },
  ], ["basic", "icmp"]).recs;
  assertEquals(unreach.length, 1);
  assertEquals(unreach[0]!.icmp_unreachable, true);
});

Deno.test("an ICMPv4 quotation shorter than 20 bytes keys the ICMP packet itself", () => {
  const syn = c.ip4({ src: A, dst: B, proto: 6 }, c.tcp({ sport: 40000, dport: 80, flags: 2 }));
  const { recs } = observe([
    { ts: 10, frame: c.ether(syn) },
    {
      ts: 10.5,
      frame: c.ether(c.ip4({ src: R, dst: A, proto: 1 }, c.icmp(3, 1, syn.subarray(0, 19)))),
    },
  ]);
  assertEquals(recs.length, 2);
  assertEquals(recs[1]!.sip, R);
  assertEquals(recs[1]!.proto, 1);
  assertEquals(recs[1]!.sp, null);
});

Deno.test("an ICMPv6 error is attributed to the flow its quotation names (40-byte rule)", () => {
  const syn = c.ip6({ src: A6, dst: B6, proto: 6 }, c.tcp({ sport: 40000, dport: 80, flags: 2 }));
  const withPorts = observe([
    { ts: 10, frame: c.ether(syn) },
    { ts: 10.5, frame: c.ether(c.ip6({ src: R6, dst: A6, proto: 58 }, c.icmp(1, 4, syn))) },
  ], ["basic", "icmp"]).recs;
  assertEquals(withPorts.length, 1);
  assertEquals(withPorts[0]!.pkt_rev, 1);
  assertEquals(withPorts[0]!.icmp_unreachable, true);
  // 39 bytes of quotation: not a quotation, the ICMPv6 packet is its own flow
  const short = observe([
    { ts: 10, frame: c.ether(syn) },
    {
      ts: 10.5,
      frame: c.ether(c.ip6({ src: R6, dst: A6, proto: 58 }, c.icmp(1, 4, syn.subarray(0, 39)))),
    },
  ]).recs;
  assertEquals(short.length, 2);
  assertEquals(short[1]!.proto, 58);
});

Deno.test("IPv6 extension headers are skipped for the protocol but the key uses the raw next header", () => {
  const pkts: c.CraftedPacket[] = [
    {
      ts: 1,
      frame: c.ether(
        c.ip6(
          { src: A6, dst: B6, proto: 6, ext: [{ type: 0 }] },
          c.tcp({ sport: 5, dport: 6, flags: 2 }),
        ),
      ),
    },
    // same 5-tuple without the hop-by-hop header: a different flow for the original
    {
      ts: 2,
      frame: c.ether(
        c.ip6({ src: B6, dst: A6, proto: 6 }, c.tcp({ sport: 6, dport: 5, flags: 0x12 })),
      ),
    },
  ];
  const { recs } = observe(pkts, ["basic", "tcp"]);
  assertEquals(recs.length, 2);
  assertEquals(recs[0]!.proto, 6);
  assertEquals(recs[0]!.sp, 5);
  assertEquals(recs[0]!.tcp_synflags_fwd, 2);
  assertEquals(recs[1]!.sip, B6);
});

Deno.test("a truncated IPv6 extension header leaves the protocol null", () => {
  const f = c.ether(
    c.ip6(
      { src: A6, dst: B6, proto: 6, ext: [{ type: 0, body: new Array(14).fill(0) }] },
      c.tcp({ sport: 5, dport: 6, flags: 2 }),
    ),
  );
  const { recs } = observe([{ ts: 1, frame: f, caplen: 14 + 44 }], ["basic", "tcp"]);
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.proto, null);
  assertEquals(recs[0]!.sp, null);
  assertEquals(recs[0]!.tcp_synflags_fwd, null);
});

Deno.test("IPv4 non-first fragments of TCP are short keys; IPv6 ones are keyed by their data", () => {
  const frag4 = c.ether(
    c.ip4({ src: A, dst: B, proto: 6, fragOffset: 10, flags: 0 }, new Uint8Array(24)),
  );
  const r4 = observe([{ ts: 1, frame: frag4 }]);
  assertEquals(r4.recs.length, 0);
  assertEquals(r4.obs.counters.short, 1);
  const frag6 = c.ether(
    c.ip6(
      { src: A6, dst: B6, proto: 17, ext: [{ type: 44, body: [0, 0x50, 0, 0, 0, 9] }] },
      Uint8Array.from([0, 7, 0, 8, 1, 1, 1, 1]),
    ),
  );
  const r6 = observe([{ ts: 1, frame: frag6 }]);
  assertEquals(r6.recs.length, 1);
  assertEquals([r6.recs[0]!.sp, r6.recs[0]!.dp], [7, 8]);
});

Deno.test("a flow idle for 30 s completes and is emitted 5 s later, on the packet clock", () => {
  const recs: FlowRecord[] = [];
  const obs = new Observer(makeChains(["basic"]), { emit: (r) => recs.push(r) });
  obs.push(c.batch([{ ts: 1000.5, frame: c.udp4(A, B, { sport: 1, dport: 2 }) }]));
  // other traffic every second keeps the clock going
  for (let t = 1001; t <= 1030; t++) {
    obs.push(c.batch([{ ts: t, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  }
  assertEquals(recs.length, 0);
  // idle bin ceil(1000.5 + 30) = 1031: completes when the clock passes from 1030 to 1031, and
  // expires in bin 1030 + 5 (the clock before that advance)
  obs.push(c.batch([{ ts: 1030.9, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  obs.push(c.batch([{ ts: 1034.0, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  assertEquals(recs.length, 0);
  obs.push(c.batch([{ ts: 1034.5, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.sip, A);
  assertEquals(recs[0]!.pkt_last, 1000.5);
});

Deno.test("a completed flow keeps absorbing packets until it expires, then a new flow starts", () => {
  const recs: FlowRecord[] = [];
  const obs = new Observer(makeChains(["basic", "tcp"]), { emit: (r) => recs.push(r) });
  const seg = (ts: number, fwd: boolean, flags: number) => ({
    ts,
    frame: fwd
      ? c.tcp4(A, B, { sport: 40000, dport: 80, flags })
      : c.tcp4(B, A, { sport: 80, dport: 40000, flags }),
  });
  obs.push(c.batch([seg(50.2, true, c.F.SYN), seg(50.3, false, c.F.RST | c.F.ACK)]));
  // the RST completed the flow at clock 51: it expires in bin 56
  obs.push(c.batch([seg(53, true, c.F.ACK)]));
  assertEquals(recs.length, 0);
  // bin 56 is processed before the packet that reaches it: that SYN starts a new flow
  obs.push(c.batch([seg(56, true, c.F.SYN)]));
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.pkt_fwd, 2);
  assertEquals(recs[0]!.pkt_last, 53);
  assertEquals(recs[0]!.tcp_rst_rev, true);
  obs.flush();
  assertEquals(recs.length, 2);
  assertEquals(recs[1]!.pkt_first, 56);
  assertEquals(recs[1]!.pkt_first, 56);
});

Deno.test("a flow that goes idle during a long gap only leaves at flush, like the original", () => {
  const recs: FlowRecord[] = [];
  const obs = new Observer(makeChains(["basic"]), { emit: (r) => recs.push(r) });
  obs.push(c.batch([{ ts: 100, frame: c.udp4(A, B, { sport: 1, dport: 2 }) }]));
  // jump 100 s: the idle flow completes at bin 130, its expiry bin is 100 + 5, already past
  obs.push(c.batch([{ ts: 200, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  obs.push(c.batch([{ ts: 300, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  assertEquals(recs.filter((r) => r.sip === A).length, 0);
  // and it still absorbs packets of its 5-tuple
  obs.push(c.batch([{ ts: 301, frame: c.udp4(A, B, { sport: 1, dport: 2 }) }]));
  obs.flush();
  const a = recs.filter((r) => r.sip === A);
  assertEquals(a.length, 1);
  assertEquals(a[0]!.pkt_fwd, 2);
  // flush: the expiring flow before the active one
  assertEquals(recs.map((r) => r.sip), [A, R]);
});

Deno.test("a newFlow veto ignores the flow and its reverse until flush", () => {
  let calls = 0;
  const veto: Chain = {
    name: "veto",
    newFlow: (_rec: FlowRecord, pkt: PacketView) => pkt.proto !== 17,
    ip4: () => {
      calls++;
      return true;
    },
  };
  const { recs, obs } = observe([
    { ts: 1, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
    { ts: 2, frame: c.udp4(B, A, { sport: 2, dport: 1 }) },
    { ts: 3, frame: c.tcp4(A, B, { sport: 1, dport: 2, flags: 2 }) },
  ], [new (makeChains(["basic"])[0]!.constructor as new () => Chain)(), veto]);
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.proto, 6);
  assertEquals(obs.counters.ignored, 1);
  assertEquals(obs.counters.flows, 1);
  assertEquals(calls, 1);
});

Deno.test("a hook returning false completes the flow and skips the remaining hooks", () => {
  const seen: string[] = [];
  const stop: Chain = { name: "stop", ip4: () => (seen.push("stop"), false) };
  const after: Chain = {
    name: "after",
    ip4: () => (seen.push("after-ip4"), true),
    udp: () => (seen.push("after-udp"), true),
  };
  const recs: FlowRecord[] = [];
  const obs = new Observer([stop, after], { emit: (r) => recs.push(r) });
  obs.push(c.batch([{ ts: 10, frame: c.udp4(A, B, { sport: 1, dport: 2 }) }]));
  assertEquals(seen, ["stop"]);
  // completed at clock 10: emitted when the clock reaches bin 15
  obs.push(c.batch([{ ts: 14, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  assertEquals(recs.length, 0);
  obs.push(c.batch([{ ts: 14.01, frame: c.udp4(R, B, { sport: 1, dport: 2 }) }]));
  assertEquals(recs.length, 1);
});

Deno.test("a packet whose forward and reverse keys are equal counts as reverse, like the original", () => {
  const { recs } = observe([{ ts: 1, frame: c.udp4(A, A, { sport: 7, dport: 7 }) }]);
  assertEquals(recs[0]!.pkt_rev, 1);
  assertEquals(recs[0]!.pkt_fwd, 0);
});

Deno.test("with 3 port bytes, a packet joins the flow its reverse id names, as the original", () => {
  // The original's reverse id of port bytes x0 x1 x2 is x2 x0 x1: reversing twice does not
  // give them back. So B->A with [2, 3, 1] has A->B's [1, 2, 3] as its reverse id and joins
  // that flow, while B->A with [3, 1, 2] (the reverse id of A->B's) does not: a new flow.
  const three = (src: string, dst: string, b: number[]) =>
    c.ether(c.ip4({ src, dst, proto: 132 }, new Uint8Array(b)));
  const { recs } = observe([
    { ts: 1, frame: three(A, B, [1, 2, 3]) },
    { ts: 2, frame: three(B, A, [2, 3, 1]) },
    { ts: 3, frame: three(B, A, [3, 1, 2]) },
    { ts: 4, frame: three(A, B, [1, 2, 3]) },
  ]);
  assertEquals(
    recs.map((r) => [r.sip, r.pkt_fwd, r.pkt_rev]),
    [[A, 2, 1], [B, 1, 0]],
  );
});

Deno.test("link layers: VLAN tags, SLL, SLL2, raw IP and raw v4/v6 are understood", () => {
  const ip = c.ip4({ src: A, dst: B, proto: 17 }, c.udp({ sport: 1, dport: 2 }));
  const ip6 = c.ip6({ src: A6, dst: B6, proto: 17 }, c.udp({ sport: 1, dport: 2 }));
  const { recs, obs } = observe([
    { ts: 1, frame: c.ether(ip, { vlans: [10] }) },
    { ts: 1, frame: c.ether(ip, { vlans: [10, 20] }) },
    { ts: 1, frame: c.sll(ip), linktype: 113 },
    { ts: 1, frame: c.sll2(ip), linktype: 276 },
    { ts: 1, frame: ip, linktype: 101 },
    { ts: 1, frame: ip, linktype: 228 },
    { ts: 1, frame: ip6, linktype: 229 },
    { ts: 1, frame: ip6, linktype: 101 },
    { ts: 1, frame: c.sll2(ip6), linktype: 276 },
  ]);
  assertEquals(obs.counters.nonIp, 0);
  assertEquals(recs.length, 2);
  assertEquals(recs[0]!.pkt_fwd, 6);
  assertEquals(recs[1]!.pkt_fwd, 3);
});

Deno.test("non-IP, truncated and malformed packets are counted and skipped, never thrown", () => {
  const syn = c.tcp4(A, B, { sport: 1, dport: 2, flags: 2 });
  const { recs, obs } = observe([
    { ts: 1, frame: c.ether(new Uint8Array(28), { ethertype: 0x0806 }) }, // ARP
    { ts: 1, frame: syn, caplen: 10 }, // not even an Ethernet header
    { ts: 1, frame: syn, caplen: 14 + 12 }, // IPv4 header cut
    {
      ts: 1,
      frame: c.ether(
        c.ip4({ src: A, dst: B, proto: 6, ihl: 4 }, c.tcp({ sport: 1, dport: 2, flags: 2 })),
      ),
    },
    { ts: 1, frame: syn, caplen: 14 + 20 + 10 }, // TCP header cut: keyed, no TCP hooks
    { ts: 1, frame: c.udp4(A, B, { sport: 3, dport: 4 }), caplen: 14 + 20 + 5 },
    { ts: 1, frame: c.tcp4(A, B, { sport: 5, dport: 6, flags: 2, doff: 15 }) },
    { ts: 1, frame: new Uint8Array(0), linktype: 9999 },
  ], ["basic", "tcp", "udp", "ecn", "dscp", "evil"]);
  assertEquals(obs.counters.packets, 8);
  assertEquals(obs.counters.nonIp, 3);
  assertEquals(obs.counters.short, 1);
  assertEquals(obs.counters.malformed, 4);
  assertEquals(recs.length, 3);
  const cut = recs.find((r) => r.sp === 1)!;
  assertEquals(cut.pkt_fwd, 1);
  assertEquals(cut.tcp_synflags_fwd, null);
  const doff = recs.find((r) => r.sp === 5)!;
  assertEquals(doff.tcp_synflags_fwd, 2);
});

Deno.test("the packet clock and records use seconds + nanoseconds like libtrace", () => {
  const { recs } = observe([
    { ts: 1489136540.000001, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
    { ts: 1489136540.999999, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
  ]);
  assertEquals(recs[0]!.pkt_first, 1489136540.000001);
  assertEquals(recs[0]!.pkt_last, 1489136540.999999);
});

Deno.test("IPv6 addresses print like inet_ntop", () => {
  const pairs: [string, string][] = [
    ["::ffff:c612:1", "::ffff:198.18.0.1"],
    ["::c612:2", "::198.18.0.2"],
    ["::2", "::2"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80:0:0:0:1:0:0:0", "fe80::1:0:0:0"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"],
    ["::", "::"],
  ];
  const pkts = pairs.map(([a], i) => ({ ts: 1 + i, frame: c.udp6(a, B6, { sport: 1, dport: 2 }) }));
  const { recs } = observe(pkts);
  assertEquals(recs.map((r) => r.sip), pairs.map(([, s]) => s));
});

Deno.test("packets split over many batches give the same records as one batch", () => {
  const pkts: c.CraftedPacket[] = [];
  for (let i = 0; i < 200; i++) {
    pkts.push({
      ts: 1000 + i * 0.37,
      frame: c.tcp4(A, B, { sport: 1000 + (i % 17), dport: 80, flags: i % 5 === 0 ? 2 : 0x10 }),
    });
  }
  const one = observe(pkts, ["basic", "tcp"]).recs;
  const many = observe(pkts, ["basic", "tcp"], { perPacket: true }).recs;
  assertEquals(many, one);
  assertEquals(one.length, 17);
});

Deno.test("with resetIsFinal a flow reset by its responder is emitted at once; a reset from the initiator still waits", () => {
  const run = (resetIsFinal: boolean, from: "responder" | "initiator") => {
    const recs: FlowRecord[] = [];
    const obs = new Observer(makeChains(["basic", "tcp"]), {
      emit: (r) => recs.push(r),
      resetIsFinal,
    });
    obs.push(c.batch([
      { ts: 100.1, frame: c.tcp4(A, B, { sport: 40000, dport: 80, flags: c.F.SYN }) },
      {
        ts: 100.2,
        frame: from === "responder"
          ? c.tcp4(B, A, { sport: 80, dport: 40000, flags: c.F.RST | c.F.ACK })
          : c.tcp4(A, B, { sport: 40000, dport: 80, flags: c.F.RST }),
      },
    ]));
    const before = recs.length;
    obs.flush();
    return { before, after: recs.length, rec: recs[0] };
  };
  const refused = run(true, "responder");
  assertEquals([refused.before, refused.after], [1, 1]);
  assertEquals(refused.rec!.tcp_rst_rev, true);
  assertEquals(refused.rec!.pkt_rev, 1);
  // the original's behaviour: the flow waits for its expiry bin (here: until flush)
  assertEquals(run(false, "responder").before, 0);
  assertEquals(run(true, "initiator").before, 0);
});

Deno.test("with resetIsFinal a flow reset after it completed is emitted once, not again when its expiry comes", () => {
  const recs: FlowRecord[] = [];
  const obs = new Observer(makeChains(["basic", "tcp"]), {
    emit: (r) => recs.push(r),
    resetIsFinal: true,
  });
  const fwd = (flags: number) => c.tcp4(A, B, { sport: 40001, dport: 80, flags });
  const rev = (flags: number) => c.tcp4(B, A, { sport: 80, dport: 40001, flags });
  obs.push(c.batch([
    { ts: 200.1, frame: fwd(c.F.SYN) },
    { ts: 200.2, frame: rev(c.F.SYN | c.F.ACK) },
    { ts: 200.3, frame: fwd(c.F.FIN | c.F.ACK) },
    // both FINs: the flow is complete and waits for its expiry bin
    { ts: 200.4, frame: rev(c.F.FIN | c.F.ACK) },
    // then the responder resets it: out at once
    { ts: 200.5, frame: rev(c.F.RST) },
    // the packet clock passes the expiry bin
    { ts: 230.0, frame: c.tcp4(A, B, { sport: 40002, dport: 80, flags: c.F.SYN }) },
  ]));
  obs.flush();
  const ours = recs.filter((r) => r.sp === 40001);
  assertEquals(ours.length, 1);
  assertEquals(ours[0]!.tcp_rst_rev, true);
  assertEquals(recs.length, 2);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord, runChains } from "./chain_run.ts";
import { TcpOptions, TO_MSS, TO_SACKOK, TO_TS, TO_WS } from "../../src/chains/tcp.ts";
import { PacketView } from "../../src/observer/packet.ts";
import { parseRecord } from "../../src/observer/parse.ts";

const A = "198.18.0.1", B = "198.18.0.2";
const fwd = (flags: number, payload: number[] = []) =>
  c.tcp4(A, B, { sport: 40000, dport: 80, flags, payload });
const rev = (flags: number, payload: number[] = []) =>
  c.tcp4(B, A, { sport: 80, dport: 40000, flags, payload });
const { SYN, ACK, FIN, RST, ECE, CWR } = c.F;

Deno.test("tcp: a handshake and a close from both sides give the manual's fields", () => {
  const r = firstRecord(["tcp"], [
    fwd(SYN),
    rev(SYN | ACK),
    fwd(ACK),
    fwd(ACK | FIN),
    rev(ACK | FIN),
    fwd(ACK),
  ]);
  assertEquals(r.tcp_synflags_fwd, SYN);
  assertEquals(r.tcp_synflags_rev, SYN | ACK);
  assertEquals(r.tcp_connected, true);
  assertEquals(r.tcp_fin_fwd, true);
  assertEquals(r.tcp_fin_rev, true);
  assertEquals(r.tcp_rst_fwd, false);
  assertEquals(r.tcp_rst_rev, false);
  assertEquals(Object.keys(r), [
    "pkt_first",
    "tcp_synflags_fwd",
    "tcp_synflags_rev",
    "tcp_fin_fwd",
    "tcp_fin_rev",
    "tcp_rst_fwd",
    "tcp_rst_rev",
    "tcp_connected",
    "pkt_last",
  ]);
});

Deno.test("tcp: a FIN from the initiator sets tcp_fin_fwd (the manual, not the original)", () => {
  const r = firstRecord(["tcp"], [fwd(SYN), rev(SYN | ACK), fwd(ACK | FIN)]);
  assertEquals(r.tcp_fin_fwd, true);
  assertEquals(r.tcp_fin_rev, false);
  const r2 = firstRecord(["tcp"], [fwd(SYN), rev(SYN | ACK), rev(ACK | FIN)]);
  assertEquals(r2.tcp_fin_fwd, false);
  assertEquals(r2.tcp_fin_rev, true);
});

Deno.test("tcp: the first SYN's flags are kept", () => {
  const r = firstRecord(["tcp"], [
    fwd(SYN | ECE | CWR),
    fwd(SYN),
    rev(SYN | ACK | ECE),
    rev(SYN | ACK),
  ]);
  assertEquals(r.tcp_synflags_fwd, SYN | ECE | CWR);
  assertEquals(r.tcp_synflags_rev, SYN | ACK | ECE);
});

Deno.test("tcp: no handshake without a SYN-ACK, or with the ACK in the wrong direction", () => {
  assertEquals(runChains(["tcp"], [fwd(SYN), rev(ACK), fwd(ACK)])[0]!.tcp_connected, false);
  assertEquals(runChains(["tcp"], [fwd(SYN), rev(SYN | ACK), rev(ACK)])[0]!.tcp_connected, false);
});

Deno.test("tcp: a RST completes the flow, later packets start a new one after expiry", () => {
  const recs = runChains(["basic", "tcp"], [
    { ts: 10, frame: fwd(SYN) },
    { ts: 10, frame: rev(RST | ACK) },
    { ts: 12, frame: fwd(SYN) }, // still the expiring flow
    { ts: 16, frame: fwd(SYN) }, // after bin 15: a new flow
  ]);
  assertEquals(recs.length, 2);
  assertEquals(recs[0]!.tcp_rst_rev, true);
  assertEquals(recs[0]!.pkt_fwd, 2);
  assertEquals(recs[1]!.tcp_rst_rev, false);
});

Deno.test("tcp: a UDP flow keeps the initial values", () => {
  const r = firstRecord(["tcp"], [c.udp4(A, B, { sport: 1, dport: 2 })]);
  assertEquals(r.tcp_synflags_fwd, null);
  assertEquals(r.tcp_connected, false);
});

function view(frame: Uint8Array): PacketView {
  const pv = new PacketView();
  const b = c.batch([{ ts: 1, frame }]);
  parseRecord(pv, b.buf, b.view, 0);
  return pv;
}

Deno.test("tcp options: kinds, values and the last of repeated kinds", () => {
  const opts = [
    2,
    4,
    0x05,
    0xb4,
    1,
    3,
    3,
    7,
    4,
    2,
    8,
    10,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    2,
    4,
    0x02,
    0x18,
  ];
  const pv = view(c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN, options: opts }));
  const o = new TcpOptions().parse(pv);
  assertEquals(o.malformed, false);
  assertEquals([...o.value(TO_MSS)!], [0x02, 0x18]);
  assertEquals([...o.value(TO_WS)!], [7]);
  assertEquals([...o.value(TO_SACKOK)!], []);
  assertEquals(o.value(TO_TS)!.length, 8);
  assertEquals(o.has(30), false);
});

Deno.test("tcp options: the parser stops at a zero or one length, and at a missing length", () => {
  for (const bad of [[3, 0, 7], [3, 1, 7], [1, 1, 1, 3]]) {
    const pv = view(
      c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN, options: [2, 4, 5, 0xb4, ...bad] }),
    );
    const o = new TcpOptions().parse(pv);
    assertEquals(o.malformed, true, `options ${bad}`);
    assertEquals([...o.value(TO_MSS)!], [5, 0xb4]);
    assertEquals(o.has(TO_WS), false);
  }
});

Deno.test("tcp options: EOL ends the list and a length past the header is cut", () => {
  const pv = view(c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN, options: [0, 2, 4, 1, 1] }));
  assertEquals(new TcpOptions().parse(pv).has(TO_MSS), false);
  const pv2 = view(c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN, options: [1, 1, 2, 40] }));
  const o = new TcpOptions().parse(pv2);
  assertEquals(o.value(TO_MSS)!.length, 0);
  assertEquals(o.malformed, false);
});

Deno.test("tcp options: a truncated capture cuts the options without reading past it", () => {
  const f = c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN, options: [2, 4, 5, 0xb4, 3, 3, 7, 0] });
  const pv = new PacketView();
  const b = c.batch([{ ts: 1, frame: f, caplen: 14 + 20 + 20 + 3 }]);
  parseRecord(pv, b.buf, b.view, 0);
  const o = new TcpOptions().parse(pv);
  // like the original's slice: the option is there, with the one value byte captured
  assertEquals([...o.value(TO_MSS)!], [5]);
  assertEquals(o.has(TO_WS), false);
});

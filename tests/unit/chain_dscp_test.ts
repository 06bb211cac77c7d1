import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2", A6 = "fd00::1", B6 = "fd00::2";
const { SYN, ACK } = c.F;
const dscp = (r: Record<string, unknown>) => [
  r.dscp_mark_syn_fwd,
  r.dscp_mark_syn_rev,
  r.dscp_mark_data_fwd,
  r.dscp_mark_data_rev,
];

Deno.test("dscp: SYN and data codepoints per direction; bare ACKs are ignored", () => {
  for (const [mk, a, b] of [[c.tcp4, A, B], [c.tcp6, A6, B6]] as const) {
    const r = firstRecord(["dscp"], [
      mk(a, b, { sport: 1, dport: 2, flags: SYN }, { tos: 46 << 2, tclass: 46 << 2 }),
      mk(b, a, { sport: 2, dport: 1, flags: SYN | ACK }, { tos: 8 << 2 | 1, tclass: 8 << 2 | 1 }),
      mk(a, b, { sport: 1, dport: 2, flags: ACK }, { tos: 10 << 2, tclass: 10 << 2 }),
      mk(a, b, { sport: 1, dport: 2, flags: ACK, payload: [1] }, { tos: 12 << 2, tclass: 12 << 2 }),
    ]);
    assertEquals(dscp(r), [46, 8, 12, null]);
  }
});

Deno.test("dscp: the first SYN and the first data packet win (the manual), zero included", () => {
  const r = firstRecord(["dscp"], [
    c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN }, { tos: 0 }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN }, { tos: 46 << 2 }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: ACK, payload: [1] }, { tos: 0 }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: ACK, payload: [1] }, { tos: 46 << 2 }),
  ]);
  assertEquals(dscp(r), [0, null, 0, null]);
});

Deno.test("dscp: every non-TCP packet is data; fields start null", () => {
  const r = firstRecord(["dscp"], [
    c.udp4(B, A, { sport: 2, dport: 1 }, { tos: 48 << 2 }),
    c.udp4(A, B, { sport: 1, dport: 2 }, { tos: 0 }),
  ]);
  assertEquals(dscp(r), [null, null, 48, 0]);
  assertEquals(Object.keys(r).slice(1, 5), [
    "dscp_mark_syn_fwd",
    "dscp_mark_syn_rev",
    "dscp_mark_data_fwd",
    "dscp_mark_data_rev",
  ]);
});

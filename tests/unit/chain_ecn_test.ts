import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2", A6 = "fd00::1", B6 = "fd00::2";
const { SYN, ACK } = c.F;

function trueFields(r: Record<string, unknown>): string[] {
  return Object.keys(r).filter((k) => r[k] === true).sort();
}

Deno.test("ecn: the twelve fields start false, in the original's order", () => {
  const r = firstRecord(["ecn"], [c.udp4(A, B, { sport: 1, dport: 2 })]);
  assertEquals(Object.keys(r).slice(1, 13), [
    "ecn_ect0_syn_fwd",
    "ecn_ect1_syn_fwd",
    "ecn_ce_syn_fwd",
    "ecn_ect0_data_fwd",
    "ecn_ect1_data_fwd",
    "ecn_ce_data_fwd",
    "ecn_ect0_syn_rev",
    "ecn_ect1_syn_rev",
    "ecn_ce_syn_rev",
    "ecn_ect0_data_rev",
    "ecn_ect1_data_rev",
    "ecn_ce_data_rev",
  ]);
  assertEquals(trueFields(r), []);
});

Deno.test("ecn: marks on SYNs and on other packets, per direction, IPv4 and IPv6", () => {
  for (const [mk, a, b] of [[c.tcp4, A, B], [c.tcp6, A6, B6]] as const) {
    const r = firstRecord(["ecn"], [
      mk(a, b, { sport: 1, dport: 2, flags: SYN }, { tos: 2, tclass: 2 }),
      mk(b, a, { sport: 2, dport: 1, flags: SYN | ACK }, { tos: 1, tclass: 1 }),
      mk(a, b, { sport: 1, dport: 2, flags: ACK }, { tos: 3, tclass: 3 }),
      mk(b, a, { sport: 2, dport: 1, flags: ACK, payload: [1] }, { tos: 2, tclass: 2 }),
      mk(a, b, { sport: 1, dport: 2, flags: ACK }, { tos: 0xb8, tclass: 0xb8 }), // DSCP only
    ]);
    assertEquals(trueFields(r), [
      "ecn_ce_data_fwd",
      "ecn_ect0_data_rev",
      "ecn_ect0_syn_fwd",
      "ecn_ect1_syn_rev",
    ]);
  }
});

Deno.test("ecn: a non-TCP packet counts as data", () => {
  const r = firstRecord(["ecn"], [c.udp4(A, B, { sport: 1, dport: 2 }, { tos: 1 })]);
  assertEquals(trueFields(r), ["ecn_ect1_data_fwd"]);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord, runChains } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2";
const { SYN, ACK } = c.F;
const EVIL = 4, DF = 2;
const evil = (r: Record<string, unknown>) => [
  r.evilbit_syn_fwd,
  r.evilbit_syn_rev,
  r.evilbit_data_fwd,
  r.evilbit_data_rev,
];

Deno.test("evil: the bit on SYNs (last wins) and on the first data packet per direction", () => {
  const r = firstRecord(["evil"], [
    c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN }, { flags: DF }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: SYN }, { flags: EVIL }),
    c.tcp4(B, A, { sport: 2, dport: 1, flags: SYN | ACK }, { flags: DF }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: ACK }, { flags: EVIL }), // no payload: ignored
    c.tcp4(B, A, { sport: 2, dport: 1, flags: ACK, payload: [1] }, { flags: EVIL }),
    c.tcp4(B, A, { sport: 2, dport: 1, flags: ACK, payload: [1] }, { flags: DF }),
  ]);
  assertEquals(evil(r), [true, false, null, true]);
});

Deno.test("evil: later data packets keep the flow open and later chains still run", () => {
  // the original returns None here, cutting the flow and skipping the tcp chain's hook
  const recs = runChains(["basic", "evil", "tcp"], [
    { ts: 1, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
    { ts: 2, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
    { ts: 20, frame: c.udp4(A, B, { sport: 1, dport: 2 }) },
  ]);
  assertEquals(recs.length, 1);
  assertEquals(recs[0]!.pkt_fwd, 3);
  assertEquals(recs[0]!.evilbit_data_fwd, false);
  const t = firstRecord(["evil", "tcp"], [
    c.tcp4(A, B, { sport: 1, dport: 2, flags: ACK, payload: [1] }),
    c.tcp4(A, B, { sport: 1, dport: 2, flags: ACK | c.F.FIN, payload: [1] }),
  ]);
  assertEquals(t.tcp_fin_fwd, true);
});

Deno.test("evil: IPv6 packets leave the fields null", () => {
  const r = firstRecord(["evil"], [c.udp6("fd00::1", "fd00::2", { sport: 1, dport: 2 })]);
  assertEquals(evil(r), [null, null, null, null]);
});

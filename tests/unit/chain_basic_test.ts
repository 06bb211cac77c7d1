import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord, runChains } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2";

Deno.test("basic: fields in the original's order, octets are captured IP bytes", () => {
  const padded = new Uint8Array(60);
  padded.set(c.tcp4(B, A, { sport: 80, dport: 40000, flags: c.F.ACK }));
  const r = firstRecord(["basic"], [
    c.tcp4(A, B, { sport: 40000, dport: 80, flags: c.F.SYN }),
    padded, // a 40-byte segment in a 60-byte Ethernet frame: 46 bytes, as libtrace counts
  ]);
  assertEquals(Object.keys(r), [
    "pkt_first",
    "sip",
    "dip",
    "proto",
    "sp",
    "dp",
    "pkt_fwd",
    "pkt_rev",
    "oct_fwd",
    "oct_rev",
    "pkt_last",
  ]);
  assertEquals([r.sip, r.dip, r.proto, r.sp, r.dp], [A, B, 6, 40000, 80]);
  assertEquals([r.pkt_fwd, r.pkt_rev, r.oct_fwd, r.oct_rev], [1, 1, 40, 46]);
});

Deno.test("basic: flows without ports have null ports", () => {
  const r = firstRecord(["basic"], [
    c.ether(c.ip4({ src: A, dst: B, proto: 47 }, new Uint8Array(8))),
  ]);
  assertEquals([r.proto, r.sp, r.dp], [47, null, null]);
});

Deno.test("noop: adds no field and keeps the flow", () => {
  const recs = runChains(["noop"], [
    c.udp4(A, B, { sport: 1, dport: 2 }),
    c.ether(c.ip4({ src: A, dst: B, proto: 1 }, c.icmp(8, 0))),
    c.tcp6("fd00::1", "fd00::2", { sport: 1, dport: 2, flags: 2 }),
  ]);
  assertEquals(recs.map((r) => Object.keys(r)), [
    ["pkt_first", "pkt_last"],
    ["pkt_first", "pkt_last"],
    ["pkt_first", "pkt_last"],
  ]);
});

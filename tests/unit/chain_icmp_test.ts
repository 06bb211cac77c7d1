import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord, runChains } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2", R = "198.18.0.254";
const A6 = "fd00::1", B6 = "fd00::2", R6 = "fd00::fe";
const { SYN } = c.F;

const syn4 = c.ip4({ src: A, dst: B, proto: 6 }, c.tcp({ sport: 40000, dport: 80, flags: SYN }));
/** An ICMPv4 error from `src` to A quoting the first 28 bytes of `quoted`. */
const err4 = (src: string, type: number, code: number, quoted: Uint8Array) =>
  c.ether(c.ip4({ src, dst: A, proto: 1 }, c.icmp(type, code, quoted.subarray(0, 28))));

Deno.test("icmp: an unreachable for the flow sets icmp_unreachable and completes the flow", () => {
  const recs = runChains(["basic", "icmp"], [
    c.ether(syn4),
    err4(R, 3, 1, syn4),
    { ts: 20, frame: c.ether(syn4) }, // after the 5 s of expiry: a new flow
  ]);
  assertEquals(recs.map((r) => [r.pkt_fwd, r.pkt_rev, r.icmp_unreachable]), [
    [1, 1, true],
    [1, 0, false],
  ]);
});

Deno.test("icmp: time exceeded is not recorded", () => {
  const rec = firstRecord(["basic", "icmp"], [c.ether(syn4), err4(R, 11, 0, syn4)]);
  assertEquals([rec.pkt_rev, rec.icmp_unreachable], [1, false]);
});

Deno.test("icmp: an unreachable sent by the flow's own source is not recorded", () => {
  // A sends an unreachable about a datagram B sent it: it quotes B -> A, so it belongs to the
  // flow A -> B in the forward direction
  const u = c.ip4({ src: B, dst: A, proto: 17 }, c.udp({ sport: 53, dport: 50000 }));
  const fwdErr = c.ether(c.ip4({ src: A, dst: B, proto: 1 }, c.icmp(3, 3, u.subarray(0, 28))));
  const rec = firstRecord(["basic", "icmp"], [
    c.udp4(A, B, { sport: 50000, dport: 53 }),
    fwdErr,
  ]);
  assertEquals([rec.pkt_fwd, rec.icmp_unreachable], [2, false]);
});

Deno.test("icmp: an ICMPv6 unreachable quoting the flow sets icmp_unreachable", () => {
  const u6 = c.ip6({ src: A6, dst: B6, proto: 17 }, c.udp({ sport: 50000, dport: 53 }));
  const e6 = c.ether(c.ip6({ src: R6, dst: A6, proto: 58 }, c.icmp(1, 4, u6.subarray(0, 48))));
  const rec = firstRecord(["basic", "icmp"], [c.ether(u6), e6]);
  assertEquals([rec.pkt_rev, rec.icmp_unreachable], [1, true]);
});

Deno.test("icmp: an ICMP message too short to quote anything is a flow of its own", () => {
  const recs = runChains(["basic", "icmp"], [c.ether(syn4), err4(R, 3, 1, new Uint8Array(0))]);
  assertEquals(recs.map((r) => [r.proto, r.icmp_unreachable]), [[6, false], [1, false]]);
});

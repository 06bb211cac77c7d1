import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2";

Deno.test("udp: the last datagram of each direction decides the zero-checksum field", () => {
  const r = firstRecord(["udp"], [
    c.udp4(A, B, { sport: 1, dport: 2, checksum: 0 }),
    c.udp4(A, B, { sport: 1, dport: 2, checksum: 5 }),
    c.udp4(B, A, { sport: 2, dport: 1, checksum: 0 }),
  ]);
  assertEquals([r.udp_zero_checksum_fwd, r.udp_zero_checksum_rev], [false, true]);
});

Deno.test("udp: a TCP flow or a truncated UDP header leaves the fields null", () => {
  const t = firstRecord(["udp"], [c.tcp4(A, B, { sport: 1, dport: 2, flags: 2 })]);
  assertEquals([t.udp_zero_checksum_fwd, t.udp_zero_checksum_rev], [null, null]);
  const u = firstRecord(["udp"], [
    { ts: 1, frame: c.udp4(A, B, { sport: 1, dport: 2, checksum: 0 }), caplen: 14 + 20 + 6 },
  ]);
  assertEquals([u.udp_zero_checksum_fwd, u.udp_zero_checksum_rev], [null, null]);
});

Deno.test("udp: IPv6 datagrams are seen too", () => {
  const r = firstRecord(["basic", "udp"], [
    c.udp6("fd00::1", "fd00::2", { sport: 53, dport: 9, checksum: 0 }),
  ]);
  assertEquals([r.sp, r.dp, r.udp_zero_checksum_fwd], [53, 9, true]);
});

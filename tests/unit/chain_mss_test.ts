import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord } from "./chain_run.ts";
import { bigEndian } from "../../src/chains/mss.ts";

const A = "198.18.0.1", B = "198.18.0.2";
const { SYN, ACK } = c.F;
const MSS = (v: number) => [2, 4, v >> 8, v & 255];

const syn = (options: number[], flags = SYN) =>
  c.tcp4(A, B, { sport: 40000, dport: 80, flags, options });
const synack = (options: number[]) =>
  c.tcp4(B, A, { sport: 80, dport: 40000, flags: SYN | ACK, options });
const fields = (r: Record<string, unknown>) => [
  r.mss_len_fwd,
  r.mss_value_fwd,
  r.mss_len_rev,
  r.mss_value_rev,
];

Deno.test("mss: the MSS of the SYN and of the SYN-ACK are recorded with their lengths", () => {
  const r = firstRecord(["mss"], [syn([1, 1, ...MSS(1460)]), synack(MSS(1380))]);
  assertEquals(fields(r), [4, 1460, 4, 1380]);
  assertEquals(Object.keys(r), [
    "pkt_first",
    "mss_len_fwd",
    "mss_len_rev",
    "mss_value_fwd",
    "mss_value_rev",
    "pkt_last",
  ]);
});

Deno.test("mss: no MSS option, or MSS on a segment without SYN, leaves the fields null", () => {
  const r = firstRecord(["mss"], [syn([1, 1, 1, 1]), synack([]), syn(MSS(1460), ACK)]);
  assertEquals(fields(r), [null, null, null, null]);
});

Deno.test("mss: odd option lengths give the length and the value of the bytes present", () => {
  // length 3: one value byte; length 2: no value (int.from_bytes of nothing is 0)
  const r = firstRecord(["mss"], [syn([2, 3, 0x40, 1]), synack([2, 2, 1, 1])]);
  assertEquals(fields(r), [3, 0x40, 2, 0]);
});

Deno.test("mss: the last MSS option of a header wins, and a later SYN overwrites", () => {
  const r = firstRecord(["mss"], [syn([...MSS(1460), ...MSS(536)]), syn(MSS(1200))]);
  assertEquals(fields(r).slice(0, 2), [4, 1200]);
  const r2 = firstRecord(["mss"], [syn([...MSS(1460), ...MSS(536)])]);
  assertEquals(fields(r2).slice(0, 2), [4, 536]);
});

Deno.test("mss: options after an end-of-list are not read", () => {
  const r = firstRecord(["mss"], [syn([0, 0, 0, 0, ...MSS(1460)])]);
  assertEquals(fields(r).slice(0, 2), [null, null]);
});

Deno.test("mss: a zero option length stops the parser instead of looping (MSS before it stays)", () => {
  const r = firstRecord(["mss"], [syn([...MSS(1460), 8, 0, 1, 1])]);
  assertEquals(fields(r).slice(0, 2), [4, 1460]);
  const r2 = firstRecord(["mss"], [syn([8, 0, ...MSS(1460)])]);
  assertEquals(fields(r2).slice(0, 2), [null, null]);
});

Deno.test("mss: a missing length byte or an option cut by the header end is handled", () => {
  // a kind in the last byte of the options, with no length byte
  const r = firstRecord(["mss"], [syn([...MSS(1460), 1, 1, 1, 8])]);
  assertEquals(fields(r).slice(0, 2), [4, 1460]);
  // MSS claims 10 bytes, 6 are there: the value is what the header holds (as the original)
  const r2 = firstRecord(["mss"], [syn([1, 1, 2, 10, 5, 0xb4, 0, 0])]);
  assertEquals(fields(r2).slice(0, 2), [6, 0x05b4_0000]);
});

Deno.test("mss: a data offset beyond the captured segment reads the options that are there", () => {
  const frame = syn(MSS(1460));
  frame[14 + 20 + 12] = 0xf0; // 60-byte header in a 24-byte segment
  const r = firstRecord(["mss"], [frame]);
  assertEquals(fields(r).slice(0, 2), [4, 1460]);
});

Deno.test("mss: IPv6 SYNs are read the same way", () => {
  const s6 = c.tcp6("fd00::1", "fd00::2", {
    sport: 40000,
    dport: 80,
    flags: SYN,
    options: MSS(1440),
  });
  const r = firstRecord(["mss"], [s6]);
  assertEquals(fields(r).slice(0, 2), [4, 1440]);
});

Deno.test("mss: values longer than 6 bytes are exact big integers", () => {
  const b = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(bigEndian(b, 0, 8), 0x0102030405060708n);
  assertEquals(bigEndian(b, 2, 2), 0x0304);
  assertEquals(bigEndian(b, 0, 0), 0);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord } from "./chain_run.ts";

const A = "198.18.0.1", B = "198.18.0.2";
const { SYN, ACK } = c.F;
const COOKIE = [1, 2, 3, 4, 5, 6, 7, 8];
const IANA = (cookie: number[]) => [34, 2 + cookie.length, ...cookie];
const EXP = (kind: number, cookie: number[]) => [kind, 4 + cookie.length, 0xf9, 0x89, ...cookie];

const syn = (options: number[], payload: number[] = [], seq = 1000) =>
  c.tcp4(A, B, { sport: 40000, dport: 80, flags: SYN, seq, options, payload });
const synack = (options: number[], ack: number) =>
  c.tcp4(B, A, { sport: 80, dport: 40000, flags: SYN | ACK, seq: 5000, ack, options });

function tfo(r: Record<string, unknown>) {
  return {
    syn: [r.tfo_synkind, r.tfo_synclen, r.tfo_seq, r.tfo_dlen],
    ack: [r.tfo_ackkind, r.tfo_ackclen, r.tfo_ack],
  };
}

Deno.test("tfo: IANA cookie with data on the SYN, cookie echoed and data acknowledged", () => {
  const data = new Array(100).fill(0x41);
  const r = firstRecord(["tfo"], [syn(IANA(COOKIE), data), synack(IANA(COOKIE), 1101)]);
  assertEquals(tfo(r), { syn: [34, 8, 1000, 100], ack: [34, 8, 1101] });
  assertEquals(Object.keys(r), [
    "pkt_first",
    "tfo_synkind",
    "tfo_ackkind",
    "tfo_synclen",
    "tfo_ackclen",
    "tfo_seq",
    "tfo_dlen",
    "tfo_ack",
    "pkt_last",
  ]);
});

Deno.test("tfo: a cookie request with the experimental option 254 and its answer", () => {
  const r = firstRecord(["tfo"], [
    syn([2, 4, 5, 0xb4, ...EXP(254, [])]),
    synack(EXP(254, COOKIE), 1001),
  ]);
  assertEquals(tfo(r), { syn: [254, 0, 1000, 0], ack: [254, 8, 1001] });
});

Deno.test("tfo: option 255 with the TFO experiment id is measured on itself", () => {
  // the original reads option 254 here and its observer dies (docs/differences.md)
  const r = firstRecord(["tfo"], [syn(EXP(255, [0xaa, 0xbb])), synack([], 1001)]);
  assertEquals(tfo(r), { syn: [255, 2, 1000, 0], ack: [0, 0, 1001] });
});

Deno.test("tfo: kinds are tried in order 34, 254, 255; other experiment ids are not TFO", () => {
  const r = firstRecord(["tfo"], [syn([...EXP(254, [9, 9]), ...IANA(COOKIE)])]);
  assertEquals(tfo(r).syn, [34, 8, 1000, 0]);
  const r2 = firstRecord(["tfo"], [syn([...EXP(255, [9]), ...EXP(254, [9, 9])])]);
  assertEquals(tfo(r2).syn, [254, 2, 1000, 0]);
  const r3 = firstRecord(["tfo"], [syn([254, 6, 0x12, 0x34, 0, 0]), synack(IANA(COOKIE), 1001)]);
  assertEquals(tfo(r3), { syn: [0, 0, 0, 0], ack: [0, 0, 0] });
});

Deno.test("tfo: a SYN-ACK cookie without a TFO SYN is not recorded", () => {
  const r = firstRecord(["tfo"], [syn([2, 4, 5, 0xb4]), synack(IANA(COOKIE), 1001)]);
  assertEquals(tfo(r), { syn: [0, 0, 0, 0], ack: [0, 0, 0] });
});

Deno.test("tfo: a SYN-ACK without cookie still records the acknowledgement number", () => {
  const r = firstRecord(["tfo"], [syn(IANA(COOKIE), [1, 2, 3]), synack([], 1001)]);
  // the SYN data was not acknowledged: ack = seq + 1
  assertEquals(tfo(r), { syn: [34, 8, 1000, 3], ack: [0, 0, 1001] });
});

Deno.test("tfo: a retransmitted SYN without option keeps the first SYN's fields", () => {
  const r = firstRecord(["tfo"], [syn(IANA(COOKIE), [1], 1000), syn([], [], 2000)]);
  assertEquals(tfo(r).syn, [34, 8, 1000, 1]);
});

Deno.test("tfo: sequence numbers above 2^31 are kept unsigned", () => {
  const r = firstRecord(["tfo"], [syn(IANA([]), [], 0xfffffff0), synack([], 0xfffffff1)]);
  assertEquals(tfo(r), { syn: [34, 0, 0xfffffff0, 0], ack: [0, 0, 0xfffffff1] });
});

Deno.test("tfo: malformed options (zero length, missing length byte) end the search", () => {
  const r = firstRecord(["tfo"], [syn([8, 0, ...IANA(COOKIE)])]);
  assertEquals(tfo(r).syn, [0, 0, 0, 0]);
  const r2 = firstRecord(["tfo"], [syn([...IANA(COOKIE), 1, 8])]);
  assertEquals(tfo(r2).syn, [34, 8, 1000, 0]);
});

Deno.test("tfo: IPv6 SYN data is counted", () => {
  const s6 = c.tcp6("fd00::1", "fd00::2", {
    sport: 40000,
    dport: 80,
    flags: SYN,
    options: IANA(COOKIE),
    payload: new Array(39).fill(0x42),
  });
  const r = firstRecord(["tfo"], [s6]);
  assertEquals(tfo(r).syn, [34, 8, 1000, 39]);
});

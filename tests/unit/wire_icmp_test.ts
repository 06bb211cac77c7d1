import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { IcmpQuote, optionMap } from "../../src/wire/icmp.ts";

/** Hex text (spaces ignored) to bytes. */
function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  return new Uint8Array(t.match(/../g)!.map((b) => parseInt(b, 16)));
}

// IPv4 header of the probe: ToS 0xb9 (EF, ECT(1)), id 1, reserved flag set, TTL 1, TCP,
// 198.18.0.2 -> 198.19.0.1
const IP4 = "45b9 0034 0001 8000 0106 0000 c6120002 c6130001";
// TCP header: 61000 -> 80, seq 0x01020304, ack 0, data offset 8 with AE, flags CWR+ECE+SYN,
// window 8192, options MSS 1460, SACK-permitted, NOP, NOP, WS 7, NOP
const TCP = "ee48 0050 01020304 00000000 81c2 2000 0000 0000 020405b4 04020101 01030307";

Deno.test("icmp: a time-exceeded quoting the whole TCP header gives every field", () => {
  const msg = hex(`0b00 0000 00000000 ${IP4} ${TCP}`);
  const q = new IcmpQuote();
  assertEquals(q.parse(msg, 0, msg.length, 4), true);
  assertEquals(
    [q.type, q.code, q.version, q.tos, q.ttl, q.proto, q.src(), q.dst(), q.sport, q.dport],
    [11, 0, 4, 0xb9, 1, 6, "198.18.0.2", "198.19.0.1", 61000, 80],
  );
  assertEquals(q.fragWord & 0x8000, 0x8000);
  assertEquals(q.tcpSeq(), 0x01020304);
  assertEquals(q.tcpFlags(), 0x1c2);
  assertEquals([...optionMap(q.tcpOptions()!)], [[2, "05b4"], [4, ""], [3, "07"]]);
});

Deno.test("icmp: RFC 792's 8 quoted bytes give ports and sequence, not flags or options", () => {
  const msg = hex(`0b00 0000 00000000 ${IP4} ${TCP.replace(/\s+/g, "").slice(0, 16)}`);
  const q = new IcmpQuote();
  assertEquals(q.parse(msg, 0, msg.length, 4), true);
  assertEquals([q.sport, q.dport, q.tcpSeq(), q.tcpFlags(), q.tcpOptions()], [
    61000,
    80,
    0x01020304,
    -1,
    null,
  ]);
});

Deno.test("icmp: an RFC 4884 length bounds the quotation before the extension structure", () => {
  // length 8 words: 32 bytes quoted (IP header + 12 TCP bytes), then an extension header
  const quoted = hex(`${IP4} ${TCP}`).subarray(0, 32);
  const msg = new Uint8Array(8 + 32 + 8);
  msg.set(hex("0b00 0000 0008 0000"));
  msg.set(quoted, 8);
  msg.set(hex("2000 0000 0008 0101"), 40);
  const q = new IcmpQuote();
  assertEquals(q.parse(msg, 0, msg.length, 4), true);
  assertEquals([q.end, q.tcpSeq(), q.tcpFlags()], [40, 0x01020304, -1]);
});

Deno.test("icmp: an ICMPv6 time-exceeded quoting an IPv6 probe, traffic class across nibbles", () => {
  // version 6, traffic class 0xb9, payload 32, TCP, hop limit 1, fd00:c::2 -> fd00:5::1
  const ip6 =
    "6b900000 0020 0601 fd00000c000000000000000000000002 fd000005000000000000000000000001";
  const msg = hex(`0300 0000 00000000 ${ip6} ${TCP}`);
  const q = new IcmpQuote();
  assertEquals(q.parse(msg, 0, msg.length, 6), true);
  assertEquals(
    [q.type, q.version, q.tos, q.ttl, q.proto, q.src(), q.dst(), q.tcpFlags()],
    [3, 6, 0xb9, 1, 6, "fd00:c::2", "fd00:5::1", 0x1c2],
  );
});

Deno.test("icmp: echo replies, short messages and quotations without an IP header are refused", () => {
  const q = new IcmpQuote();
  const echo = hex("0000 0000 00010001 00000000");
  assertEquals(q.parse(echo, 0, echo.length, 4), false);
  const short = hex("0b00 0000 0000");
  assertEquals(q.parse(short, 0, short.length, 4), false);
  const half = hex(`0b00 0000 00000000 ${IP4}`).subarray(0, 8 + 19);
  assertEquals(q.parse(half, 0, half.length, 4), false);
  assertEquals(q.parse(echo, 0, echo.length, 6), false);
});

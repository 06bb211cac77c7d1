import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { AddrSet } from "../../src/spider/addrset.ts";

Deno.test("the address set tells new targets from repeated ones, however they are spelled", () => {
  const s = new AddrSet();
  assertEquals(s.add("198.18.0.1"), true);
  assertEquals(s.add("198.18.0.1"), false);
  assertEquals(s.add("2001:DB8:0:0::1"), true);
  assertEquals(s.add("2001:db8::1"), false);
  // an IPv4-mapped IPv6 literal is another target than the IPv4 address
  assertEquals(s.add("::ffff:198.18.0.1"), true);
  assertEquals(s.add("::ffff:c612:1"), false);
  // the all-zero addresses are kept too
  assertEquals(s.add("0.0.0.0"), true);
  assertEquals(s.add("0.0.0.0"), false);
  assertEquals(s.add("::"), true);
  assertEquals(s.add("0::0"), false);
  assertEquals(s.size, 5);
});

Deno.test("the address set keeps 300,000 distinct targets of both families through its growth", () => {
  const s = new AddrSet();
  for (let i = 0; i < 150_000; i++) {
    assertEquals(s.add(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`), true);
    assertEquals(s.add(`fd00:6::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`), true);
  }
  assertEquals(s.size, 300_000);
  for (let i = 0; i < 150_000; i += 997) {
    assertEquals(s.add(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`), false);
    assertEquals(
      s.add(`fd00:6:0:0:0:0:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`),
      false,
    );
  }
});

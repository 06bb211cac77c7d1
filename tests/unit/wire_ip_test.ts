/**
 * The address scanner of src/wire/ip.ts against independent references: the WHATWG URL
 * parser for IPv6 (its host serialiser is RFC 5952 text) and a strict dotted-quad expression for
 * IPv4, on hand-picked spellings and on random ones.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  canonicalIp,
  formatIp,
  formatIpNtop,
  ipBytes,
  ipValue,
  ipVersion,
  parseIpInto,
} from "../../src/wire/ip.ts";

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The URL parser's reading of an IPv6 literal: its canonical text, or null. */
function urlV6(s: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return null;
  try {
    const h = new URL(`http://[${s}]/`).hostname;
    return h.slice(1, -1);
  } catch {
    return null;
  }
}

function reference(s: string): { v: 0 | 4 | 6; canon: string } {
  if (V4.test(s)) return { v: 4, canon: s };
  const u = urlV6(s);
  return u === null ? { v: 0, canon: s } : { v: 6, canon: u };
}

const CASES = [
  "198.18.0.1",
  "0.0.0.0",
  "255.255.255.255",
  "256.1.1.1",
  "01.2.3.4",
  "1.2.3",
  "1.2.3.4.5",
  "1..2.3",
  "::",
  "::1",
  "1::",
  "fd00:5::1f3",
  "FD00:0:0:0:0:0:0:1",
  "2001:db8:0:0:1:0:0:1",
  "2001:0db8::0001",
  "1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7",
  "1::2::3",
  ":::",
  ":1",
  "1:",
  "1:::2",
  "12345::1",
  "::ffff:198.18.0.1",
  "::ffff:1.2.3.04",
  "1:2:3:4:5:6:1.2.3.4",
  "1:2:3:4:5:6:7:1.2.3.4",
  "::1.2.3.4",
  "fe80::1%eth0",
  "",
  "x",
  "1:2:3:4:5:6:7::",
  "::2:3:4:5:6:7:8",
  "0:0:1:0:0:0:1:0",
];

Deno.test("the scanner reads hand-picked spellings as the references do", () => {
  for (const s of CASES) {
    const ref = reference(s);
    assertEquals(ipVersion(s), ref.v, s);
    assertEquals(canonicalIp(s), ref.canon, s);
  }
});

Deno.test("random spellings of random addresses: same validity and canonical text", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const ALPHABET = "0123456789abcdefABCDEF:.:%";
  for (let t = 0; t < 20000; t++) {
    let s: string;
    if (t % 3 === 0) {
      // junk made of address characters
      s = Array.from({ length: 1 + rnd(20) }, () => ALPHABET[rnd(ALPHABET.length)]).join("");
    } else {
      // a real address, written with random zero runs, case and leading zeros
      const groups = Array.from({ length: 8 }, () => (rnd(3) === 0 ? 0 : rnd(0x10000)));
      let parts = groups.map((g) => {
        let h = g.toString(16);
        if (rnd(4) === 0) h = h.padStart(4, "0");
        return rnd(2) ? h.toUpperCase() : h;
      });
      if (rnd(2)) {
        const a = rnd(8), b = a + rnd(8 - a);
        if (groups.slice(a, b + 1).every((g) => g === 0)) {
          parts = [...parts.slice(0, a), "", ...parts.slice(b + 1)];
          if (a === 0) parts.unshift("");
          if (b === 7) parts.push("");
        }
      }
      s = parts.join(":");
      if (rnd(10) === 0) s = `::ffff:${rnd(256)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
    }
    const ref = reference(s);
    assertEquals(ipVersion(s), ref.v, s);
    assertEquals(canonicalIp(s), ref.canon, s);
  }
});

Deno.test("parseIpInto writes the bytes and formatIp writes them back", () => {
  const b = new Uint8Array(16);
  assertEquals(parseIpInto("198.18.0.7", b), 4);
  assertEquals([...b.subarray(0, 4)], [198, 18, 0, 7]);
  assertEquals(formatIp(b, 0, 4), "198.18.0.7");
  assertEquals(parseIpInto("fd00:c::2", b), 6);
  assertEquals(b[0], 0xfd);
  assertEquals(b[15], 2);
  assertEquals(formatIp(b, 0, 16), "fd00:c::2");
  assertEquals(parseIpInto("nonsense", b), 0);
});

/** The bytes of an address (4 or 16), or null. */
function bytes(addr: string): number[] | null {
  const b = new Uint8Array(16);
  const v = parseIpInto(addr, b);
  return v === 0 ? null : [...b.subarray(0, v === 4 ? 4 : 16)];
}

Deno.test("parseIpInto reads IPv4 and IPv6 literals, with an embedded IPv4 tail", () => {
  assertEquals(bytes("198.18.0.2"), [198, 18, 0, 2]);
  assertEquals(bytes("fd00::2"), [0xfd, 0, ...Array(13).fill(0), 2]);
  assertEquals(bytes("::ffff:198.18.0.1"), [...Array(10).fill(0), 255, 255, 198, 18, 0, 1]);
  assertEquals(bytes("::"), Array(16).fill(0));
  assertEquals(bytes("1:2:3:4:5:6:7:8")![15], 8);
  for (
    const bad of [
      "",
      "256.1.1.1",
      "1.2.3",
      "www.example.test",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "12345::",
      "1:2:3:4:5:6:7::8",
    ]
  ) {
    assertEquals(bytes(bad), null, bad);
  }
});

Deno.test("formatIp writes IPv6 as RFC 5952: longest zero run compressed, lower case", () => {
  const text = (addr: string) => {
    const b = new Uint8Array(16);
    const v = parseIpInto(addr, b);
    return formatIp(b, 0, v === 4 ? 4 : 16);
  };
  assertEquals(text("FD00:0:0:0:0:0:0:2"), "fd00::2");
  assertEquals(text("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
  assertEquals(text("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assertEquals(text("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
  assertEquals(text("::"), "::");
  assertEquals(text("198.18.0.1"), "198.18.0.1");
});

Deno.test("formatIpNtop writes what glibc inet_ntop does: a dotted tail for mapped and compatible", () => {
  const ntop = (hexText: string) => {
    const b = Uint8Array.from(hexText.match(/../g)!.map((x) => parseInt(x, 16)));
    return formatIpNtop(b, 0, b.length === 4 ? 4 : 16);
  };
  // the expected texts are Python's socket.inet_ntop(AF_INET6, ...) on glibc
  assertEquals(ntop("c6120001"), "198.18.0.1");
  assertEquals(ntop("00000000000000000000ffffc6120001"), "::ffff:198.18.0.1");
  assertEquals(ntop("000000000000000000000000c6120001"), "::198.18.0.1");
  assertEquals(ntop("00000000000000000000ffff00000000"), "::ffff:0.0.0.0");
  assertEquals(ntop("00000000000000000000000000000001"), "::1");
  assertEquals(ntop("00000000000000000000000000000000"), "::");
  assertEquals(ntop("00000000000000000000fffe00000001"), "::fffe:0:1");
  assertEquals(ntop("00000000000000000001ffffc6120001"), "::1:ffff:c612:1");
  assertEquals(ntop("fd000000000000000000000000000000"), "fd00::");
  assertEquals(ntop("20010db8000000010000000000000001"), "2001:db8:0:1::1");
  assertEquals(ntop("20010db8000000000001000000000001"), "2001:db8::1:0:0:1");
  assertEquals(ntop("00010000000100000001000000010000"), "1:0:1:0:1:0:1:0");
  // at an offset into a larger buffer
  const b = new Uint8Array(20);
  b.set([0xfd, 0, 0, 5], 4);
  b[19] = 1;
  assertEquals(formatIpNtop(b, 4, 16), "fd00:5::1");
});

Deno.test("ipBytes and ipValue read the same grammar as ipVersion", () => {
  assertEquals([...ipBytes("198.18.0.1")], [198, 18, 0, 1]);
  assertEquals(ipBytes("fd00::1").length, 16);
  for (const bad of ["01.2.3.4", "fe80::1%eth0", "1.2.3", "", "x"]) {
    let threw = false;
    try {
      ipBytes(bad);
    } catch {
      threw = true;
    }
    assertEquals(threw, true, bad);
    assertEquals(ipValue(bad), null, bad);
  }
  assertEquals(ipValue("198.18.0.1"), { family: 4, value: 0xc6120001n });
  assertEquals(ipValue("255.255.255.255"), { family: 4, value: 0xffffffffn });
  assertEquals(ipValue("::ffff:198.18.0.1"), { family: 6, value: 0xffffc6120001n });
  assertEquals(ipValue("ffff::"), { family: 6, value: 0xffffn << 112n });
});

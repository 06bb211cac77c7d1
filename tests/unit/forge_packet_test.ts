/**
 * Forged packets byte for byte. The reference bytes were produced by Scapy 2.5 (the packet
 * library the original PATHspider forged with) for the same field values, so headers, flags,
 * the evil bit and checksums are checked against an independent implementation. The UDP
 * options area (which Scapy does not know) is checked against values worked out by hand from
 * RFC 9868 §8-9.
 */
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { buildPacket, IPV4_DF, type PacketSpec } from "../../src/wire/build.ts";
import { TCP_CWR, TCP_ECE, TCP_SYN } from "../../src/wire/tcp.ts";
import { finish, sum16 } from "../../src/wire/checksum.ts";
import { surplusAreaValid, udpOptionsArea } from "../../src/wire/udp_options.ts";
import { ipBytes } from "../../src/wire/ip.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** DNS query id 0xabcd, RD, A IN for www.example.test (34 bytes). */
const QUERY = hex("abcd0100000100000000000003777777076578616d706c6504746573740000010001");

const V4 = { src: "198.18.0.2", dst: "198.19.0.1" };
const V6 = { src: "fd00:c::2", dst: "fd00:5::1" };

function syn(extra: Partial<PacketSpec> = {}): PacketSpec {
  return {
    ...V4,
    id: 0x1234,
    ...extra,
    l4: { proto: "tcp", sport: 61000, dport: 80, seq: 0x01020304, flags: TCP_SYN },
  };
}

Deno.test("an IPv4 SYN matches Scapy's bytes, checksums included", () => {
  assertEquals(
    toHex(buildPacket(syn())),
    "45000028123400004006dc73c6120002c6130001ee480050010203040000000050022000111b0000",
  );
});

Deno.test("the evil bit is the IPv4 reserved flag, and the header checksum follows it", () => {
  const pkt = buildPacket(syn({ evil: true }));
  assertEquals(
    toHex(pkt),
    "450000281234800040065c73c6120002c6130001ee480050010203040000000050022000111b0000",
  );
  assertEquals(pkt[6]! & 0x80, 0x80);
});

Deno.test("ToS, TTL, DF, ECE/CWR flags and TCP options land where Scapy puts them", () => {
  const pkt = buildPacket({
    ...V4,
    id: 9,
    tos: 0xb8,
    ttl: 3,
    df: true,
    l4: {
      proto: "tcp",
      sport: 61004,
      dport: 80,
      seq: 1,
      flags: TCP_SYN | TCP_ECE | TCP_CWR,
      options: hex("020405b4"),
    },
  });
  assertEquals(
    toHex(pkt),
    "45b8002c000940000306eae2c6120002c6130001ee4c0050000000010000000060c22000fc9f0000020405b4",
  );
  assertEquals((pkt[6]! << 8 | pkt[7]!) & IPV4_DF, IPV4_DF);
});

Deno.test("a UDP DNS query over IPv4 matches Scapy's, with the checksum or with zero", () => {
  const spec = (zero: boolean): PacketSpec => ({
    ...V4,
    id: 7,
    l4: { proto: "udp", sport: 61001, dport: 53, payload: QUERY, zeroChecksum: zero },
  });
  const head = "4500003e000700004011ee7fc6120002c6130001ee490035002a";
  const q = toHex(QUERY);
  assertEquals(toHex(buildPacket(spec(false))), `${head}25af${q}`);
  assertEquals(toHex(buildPacket(spec(true))), `${head}0000${q}`);
});

Deno.test("IPv6 UDP and TCP packets match Scapy's, pseudo-header checksums included", () => {
  assertEquals(
    toHex(buildPacket({
      ...V6,
      l4: { proto: "udp", sport: 61002, dport: 53, payload: QUERY },
    })),
    "60000000002a1140fd00000c000000000000000000000002fd000005000000000000000000000001" +
      "ee4a0035002ab7c1" + toHex(QUERY),
  );
  assertEquals(
    toHex(buildPacket({
      ...V6,
      l4: { proto: "tcp", sport: 61003, dport: 443, seq: 5, flags: TCP_SYN },
    })),
    "6000000000140640fd00000c000000000000000000000002fd000005000000000000000000000001" +
      "ee4b01bb000000050000000050022000a5c10000",
  );
});

Deno.test("IPv6 has no evil bit and families cannot be mixed", () => {
  assertThrows(() => buildPacket(syn({ ...V6, evil: true })), /no evil bit/);
  assertThrows(() => buildPacket(syn({ src: "198.18.0.2", dst: "fd00::1" })), /family/);
  assertThrows(() => buildPacket(syn({ dst: "198.19.0.300" })), /not an IP address/);
});

Deno.test("the UDP options area follows the payload; UDP length and checksum ignore it", () => {
  const pkt = buildPacket({
    ...V4,
    id: 7,
    l4: { proto: "udp", sport: 61001, dport: 53, payload: QUERY, udpOptions: hex("0100") },
  });
  // 62 bytes of IP+UDP+DNS end on an even offset: no alignment byte, OCS = ~(0x0100 + 4)
  assertEquals(pkt.length, 66);
  assertEquals(pkt[2]! << 8 | pkt[3]!, 66); // IP total length includes the surplus area
  assertEquals(toHex(pkt.subarray(24, 28)), "002a25af"); // UDP length 42, checksum as without
  assertEquals(toHex(pkt.subarray(62)), "fefb0100");
  // the IPv4 header checksum covers the longer total length
  assertEquals(finish(sum16(pkt, 0, 20)), 0);
});

Deno.test("an odd-length payload gets one zero alignment byte before the OCS", () => {
  const q = QUERY.subarray(0, 33); // any 33 bytes
  const area = udpOptionsArea(20 + 8 + 33, hex("0100"));
  assertEquals(toHex(area), "00fefa0100"); // OCS = ~(0x0100 + 5 bytes of area)
  assertEquals(surplusAreaValid(area, 61), true);
  const pkt = buildPacket({
    ...V6,
    l4: { proto: "udp", sport: 1, dport: 53, payload: q, udpOptions: hex("0100") },
  });
  assertEquals(pkt[4]! << 8 | pkt[5]!, 8 + 33 + 5); // IPv6 payload length includes the area
  assertEquals(toHex(pkt.subarray(40 + 8 + 33)), "00fefa0100");
});

Deno.test("the OCS makes the area sum to zero, and is left zero (unused) with a zero UDP checksum", () => {
  const opts = hex("0104055c0100"); // MDS 1372, NOP, EOL
  for (const end of [61, 62]) {
    const area = udpOptionsArea(end, opts);
    assertEquals(surplusAreaValid(area, end), true);
    const broken = area.slice();
    broken[broken.length - 1]! ^= 1;
    assertEquals(surplusAreaValid(broken, end), false);
  }
  const pkt = buildPacket({
    ...V4,
    l4: {
      proto: "udp",
      sport: 1,
      dport: 2,
      payload: QUERY,
      zeroChecksum: true,
      udpOptions: hex("0100"),
    },
  });
  assertEquals(toHex(pkt.subarray(26, 28)), "0000");
  assertEquals(toHex(pkt.subarray(62)), "00000100");
});

Deno.test("IPv6 addresses parse with compression and a trailing dotted quad", () => {
  assertEquals(toHex(ipBytes("fd00:5::1")), "fd000005000000000000000000000001");
  assertEquals(toHex(ipBytes("::ffff:198.18.0.2")), "00000000000000000000ffffc6120002");
  assertEquals(toHex(ipBytes("1:2:3:4:5:6:7:8")), "00010002000300040005000600070008");
  assertThrows(() => ipBytes("1::2::3"));
  assertThrows(() => ipBytes("1:2:3:4:5:6:7:8:9"));
});

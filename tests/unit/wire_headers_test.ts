/**
 * The header modules of src/wire (ipv4, ipv6, tcp, udp, capture_record) on literal bytes:
 * deconstruct (the checked views read every field), construct (the emitters write the same
 * bytes), impossible lengths (no view), checksums. The packets are the Scapy-made references of
 * forge_packet_test.ts, so both directions are checked against an independent implementation.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { pseudoSum } from "../../src/wire/checksum.ts";
import { emitIpv4Header, IPV4_DF, IPV4_SRC, Ipv4Packet } from "../../src/wire/ipv4.ts";
import { emitIpv6Header, IPV6_SRC, Ipv6Packet } from "../../src/wire/ipv6.ts";
import { emitTcp, TCP_CWR, TCP_ECE, TCP_SYN, TcpPacket } from "../../src/wire/tcp.ts";
import { emitUdp, UdpPacket } from "../../src/wire/udp.ts";
import {
  REC_CAPLEN,
  REC_DIRECTION,
  REC_HEADER_LEN,
  REC_LINKTYPE,
  REC_TS_NSEC,
  REC_TS_SEC,
  REC_WIRE_LEN,
  recordSize,
  writeRecord,
} from "../../src/wire/capture_record.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Scapy: IPv4 SYN with ToS 0xb8, TTL 3, DF, ECE|CWR|SYN, MSS 1460 (44 bytes). */
const SYN4 = hex(
  "45b8002c000940000306eae2c6120002c6130001ee4c0050000000010000000060c22000fc9f0000020405b4",
);
/** Scapy: IPv6 SYN fd00:c::2 -> fd00:5::1, 61003 -> 443, seq 5 (60 bytes). */
const SYN6 = hex(
  "6000000000140640fd00000c000000000000000000000002fd000005000000000000000000000001" +
    "ee4b01bb000000050000000050022000a5c10000",
);
/** Scapy: IPv4 UDP 61001 -> 53 with a 34-byte DNS query (62 bytes). */
const QUERY = hex("abcd0100000100000000000003777777076578616d706c6504746573740000010001");
const UDP4 = hex("4500003e000700004011ee7fc6120002c6130001ee490035002a25af" + toHex(QUERY));

Deno.test("Ipv4Packet reads every field of a literal header", () => {
  const ip = Ipv4Packet.checked(SYN4, 0, SYN4.length)!;
  assertEquals(ip.headerLen, 20);
  assertEquals(ip.tos, 0xb8);
  assertEquals(ip.totalLen, 44);
  assertEquals(ip.ident, 9);
  assertEquals(ip.flagsFrag, IPV4_DF);
  assertEquals([ip.evil, ip.fragOffset], [false, 0]);
  assertEquals([ip.ttl, ip.protocol, ip.checksum], [3, 6, 0xeae2]);
  assertEquals([...ip.src, ...ip.dst], [198, 18, 0, 2, 198, 19, 0, 1]);
  assertEquals(ip.checksumValid(), true);
});

Deno.test("Ipv4Packet refuses impossible lengths and versions instead of reading past them", () => {
  assertEquals(Ipv4Packet.checked(SYN4, 0, 19), null); // shorter than a header
  const opts = SYN4.slice();
  opts[0] = 0x46; // IHL 6: 24 bytes
  assertEquals(Ipv4Packet.checked(opts, 0, 23), null);
  assertEquals(Ipv4Packet.checked(opts, 0, 24)?.headerLen, 24);
  const ihl4 = SYN4.slice();
  ihl4[0] = 0x44; // IHL 4: 16 bytes
  assertEquals(Ipv4Packet.checked(ihl4, 0, 44), null);
  assertEquals(Ipv4Packet.checked(SYN6, 0, SYN6.length), null); // version 6
  assertEquals(Ipv4Packet.checked(SYN4, 30, 60), null); // end past the buffer
});

Deno.test("emitIpv4Header writes Scapy's header bytes, checksum included", () => {
  const b = new Uint8Array(20);
  emitIpv4Header(b, 0, {
    tos: 0xb8,
    totalLen: 44,
    ident: 9,
    flagsFrag: IPV4_DF,
    ttl: 3,
    protocol: 6,
    src: SYN4.subarray(12, 16),
    dst: SYN4.subarray(16, 20),
  });
  assertEquals(toHex(b), toHex(SYN4.subarray(0, 20)));
});

Deno.test("Ipv6Packet reads every field, emitIpv6Header writes the same bytes", () => {
  const ip = Ipv6Packet.checked(SYN6, 0, SYN6.length)!;
  assertEquals([ip.trafficClass, ip.flowLabel, ip.payloadLen], [0, 0, 20]);
  assertEquals([ip.nextHeader, ip.hopLimit], [6, 64]);
  assertEquals(toHex(ip.src), "fd00000c000000000000000000000002");
  assertEquals(toHex(ip.dst), "fd000005000000000000000000000001");
  assertEquals(Ipv6Packet.checked(SYN6, 0, 39), null);
  assertEquals(Ipv6Packet.checked(SYN4, 0, SYN4.length), null);
  const b = new Uint8Array(40);
  emitIpv6Header(b, 0, {
    trafficClass: 0,
    flowLabel: 0,
    payloadLen: 20,
    nextHeader: 6,
    hopLimit: 64,
    src: ip.src,
    dst: ip.dst,
  });
  assertEquals(toHex(b), toHex(SYN6.subarray(0, 40)));
  // traffic class and flow label straddle nibbles
  emitIpv6Header(b, 0, {
    trafficClass: 0xb9,
    flowLabel: 0xabcde,
    payloadLen: 20,
    nextHeader: 6,
    hopLimit: 64,
    src: ip.src,
    dst: ip.dst,
  });
  assertEquals(toHex(b.subarray(0, 4)), "6b9abcde");
  const v = Ipv6Packet.checked(b, 0, 40)!;
  assertEquals([v.trafficClass, v.flowLabel], [0xb9, 0xabcde]);
});

Deno.test("TcpPacket reads a literal header with options; emitTcp writes it back", () => {
  const tcp = TcpPacket.checked(SYN4, 20, SYN4.length)!;
  assertEquals([tcp.sport, tcp.dport, tcp.seq, tcp.ack], [61004, 80, 1, 0]);
  assertEquals(tcp.flags, TCP_SYN | TCP_ECE | TCP_CWR);
  assertEquals([tcp.headerLen, tcp.window, tcp.checksum], [24, 8192, 0xfc9f]);
  assertEquals(toHex(tcp.options), "020405b4");
  assertEquals(TcpPacket.checked(SYN4, 20, 43), null); // options cut
  const b = SYN4.slice();
  b.fill(0, 20);
  const len = emitTcp(b, 20, {
    sport: 61004,
    dport: 80,
    seq: 1,
    ack: 0,
    flags: TCP_SYN | TCP_ECE | TCP_CWR,
    window: 8192,
    options: hex("020405b4"),
  }, pseudoSum(b, IPV4_SRC, 4, 6, 24));
  assertEquals(len, 24);
  assertEquals(toHex(b), toHex(SYN4));
});

Deno.test("the AE flag is bit 8: the low bit of the data offset byte", () => {
  const b = new Uint8Array(20);
  emitTcp(b, 0, { sport: 1, dport: 2, seq: 0, ack: 0, flags: 0x1c2, window: 0 }, 0);
  assertEquals(b[12], 0x51);
  assertEquals(b[13], 0xc2);
  assertEquals(TcpPacket.checked(b, 0, 20)!.flags, 0x1c2);
});

Deno.test("UdpPacket reads a literal header; emitUdp writes it, with the checksum or zero", () => {
  const udp = UdpPacket.checked(UDP4, 20, UDP4.length)!;
  assertEquals([udp.sport, udp.dport, udp.length, udp.checksum], [61001, 53, 42, 0x25af]);
  assertEquals(UdpPacket.checked(UDP4, 20, 27), null);
  for (const zero of [false, true]) {
    const b = UDP4.slice();
    b.fill(0, 20);
    const len = emitUdp(
      b,
      20,
      { sport: 61001, dport: 53, payload: QUERY, zeroChecksum: zero },
      pseudoSum(b, IPV4_SRC, 4, 17, 42),
    );
    assertEquals(len, 42);
    assertEquals(UdpPacket.checked(b, 20, b.length)!.checksum, zero ? 0 : 0x25af);
  }
  // an IPv6 pseudo-header: the Scapy bytes of forge_packet_test.ts
  const b6 = new Uint8Array(40 + 42);
  b6.set(SYN6.subarray(8, 40), IPV6_SRC);
  emitUdp(b6, 40, { sport: 61002, dport: 53, payload: QUERY }, pseudoSum(b6, IPV6_SRC, 16, 17, 42));
  assertEquals(UdpPacket.checked(b6, 40, b6.length)!.checksum, 0xb7c1);
});

Deno.test("a capture record: header fields at their offsets, padding to 4", () => {
  const frame = hex("0102030405");
  const buf = new Uint8Array(64).fill(0xee);
  const dv = new DataView(buf.buffer);
  const end = writeRecord(buf, dv, 0, {
    tsSec: 0x01020304,
    tsNsec: 999_999_999,
    wireLen: 60,
    linktype: 101,
    direction: 5,
  }, frame);
  assertEquals(end, recordSize(5));
  assertEquals(end, 28);
  assertEquals(
    toHex(buf.subarray(0, end)),
    "04030201" + "ffc99a3b" + "05000000" + "3c000000" + "6500" + "05" + "00" + "0102030405" +
      "000000",
  );
  assertEquals(dv.getUint32(REC_TS_SEC, true), 0x01020304);
  assertEquals(dv.getUint32(REC_TS_NSEC, true), 999_999_999);
  assertEquals(dv.getUint32(REC_CAPLEN, true), 5);
  assertEquals(dv.getUint32(REC_WIRE_LEN, true), 60);
  assertEquals(dv.getUint16(REC_LINKTYPE, true), 101);
  assertEquals(buf[REC_DIRECTION], 5);
  assertEquals(buf[REC_HEADER_LEN], 1);
  assertEquals([recordSize(0), recordSize(1), recordSize(4)], [20, 24, 24]);
});

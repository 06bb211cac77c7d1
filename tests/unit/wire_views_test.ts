/**
 * The observer's parser (src/observer/parse.ts) writes field offsets as numbers for speed; this
 * test holds it to the offsets named in src/wire: random packets built by the wire builders,
 * framed by every link layer the parser knows (with the wire/link.ts and capture_record.ts
 * offsets), must give the packet view the values the wire modules' checked views read.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { buildPacket, type PacketSpec } from "../../src/wire/build.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  recordSize,
  writeRecord,
} from "../../src/wire/capture_record.ts";
import { formatIpNtop } from "../../src/wire/ip.ts";
import { Ipv4Packet } from "../../src/wire/ipv4.ts";
import { Ipv6Packet } from "../../src/wire/ipv6.ts";
import {
  ETH_HEADER_LEN,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  SLL2_HEADER_LEN,
  SLL2_PROTOCOL,
  SLL_HEADER_LEN,
  SLL_PROTOCOL,
  VLAN_INNER_TYPE,
  VLAN_TAG_LEN,
} from "../../src/wire/link.ts";
import { TcpPacket } from "../../src/wire/tcp.ts";
import { UdpPacket } from "../../src/wire/udp.ts";
import { PacketView } from "../../src/observer/packet.ts";
import { PARSE_OK, parseRecord } from "../../src/observer/parse.ts";

let seed = 4242;
const rnd = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};

function randomSpec(): PacketSpec {
  const v6 = rnd(2) === 1;
  const addr = () =>
    v6
      ? `fd00:${rnd(0x10000).toString(16)}::${rnd(0x10000).toString(16)}`
      : `198.${18 + rnd(2)}.${rnd(256)}.${rnd(256)}`;
  const payload = Uint8Array.from({ length: rnd(40) }, () => rnd(256));
  const ip = {
    src: addr(),
    dst: addr(),
    tos: rnd(256),
    ttl: 1 + rnd(255),
    id: rnd(0x10000),
    evil: !v6 && rnd(2) === 1,
    df: rnd(2) === 1,
    flowLabel: rnd(0x100000),
  };
  if (rnd(2) === 0) {
    return { ...ip, l4: { proto: "udp", sport: rnd(0x10000), dport: rnd(0x10000), payload } };
  }
  const options = Uint8Array.from({ length: rnd(5) * 4 }, () => 1); // NOPs
  return {
    ...ip,
    l4: {
      proto: "tcp",
      sport: rnd(0x10000),
      dport: rnd(0x10000),
      flags: rnd(0x200),
      seq: rnd(0x7fffffff) * 2 + rnd(2),
      ack: rnd(0x7fffffff),
      window: rnd(0x10000),
      options,
      payload,
    },
  };
}

/** The IP packet framed for `linktype` (and an 802.1Q tag on Ethernet when `vlan`). */
function frame(ip: Uint8Array, linktype: number, vlan: boolean): Uint8Array {
  const et = ip[0]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  let head: Uint8Array;
  if (linktype === LINKTYPE_ETHERNET) {
    head = new Uint8Array(ETH_HEADER_LEN + (vlan ? VLAN_TAG_LEN : 0));
    const inner = vlan ? ETHERTYPE_VLAN : et;
    head[ETH_TYPE] = inner >> 8;
    head[ETH_TYPE + 1] = inner & 0xff;
    if (vlan) {
      head[ETH_HEADER_LEN + VLAN_INNER_TYPE] = et >> 8;
      head[ETH_HEADER_LEN + VLAN_INNER_TYPE + 1] = et & 0xff;
    }
  } else if (linktype === LINKTYPE_LINUX_SLL) {
    head = new Uint8Array(SLL_HEADER_LEN);
    head[SLL_PROTOCOL] = et >> 8;
    head[SLL_PROTOCOL + 1] = et & 0xff;
  } else if (linktype === LINKTYPE_LINUX_SLL2) {
    head = new Uint8Array(SLL2_HEADER_LEN);
    head[SLL2_PROTOCOL] = et >> 8;
    head[SLL2_PROTOCOL + 1] = et & 0xff;
  } else head = new Uint8Array(0);
  const f = new Uint8Array(head.length + ip.length);
  f.set(head);
  f.set(ip, head.length);
  return f;
}

Deno.test("the observer's parser reads what the wire modules' views read", () => {
  const pkt = new PacketView();
  const links = [
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
  ];
  for (let t = 0; t < 3000; t++) {
    const spec = randomSpec();
    const ip = buildPacket(spec);
    const v6 = ip[0]! >> 4 === 6;
    let linktype = links[rnd(links.length)]!;
    if (linktype === LINKTYPE_IPV4 && v6) linktype = LINKTYPE_IPV6;
    if (linktype === LINKTYPE_IPV6 && !v6) linktype = LINKTYPE_IPV4;
    const f = frame(ip, linktype, rnd(2) === 1);
    const buf = new Uint8Array(recordSize(f.length) + 8);
    const dv = new DataView(buf.buffer);
    const sec = rnd(2e9), nsec = rnd(1e9);
    writeRecord(buf, dv, 4, { tsSec: sec, tsNsec: nsec, wireLen: f.length, linktype }, f);
    const what = `${t}: ${JSON.stringify({ ...spec, l4: spec.l4.proto })} link ${linktype}`;
    assertEquals(parseRecord(pkt, buf, dv, 4), PARSE_OK, what);
    assertEquals([pkt.tsSec, pkt.tsNsec, pkt.wireLen], [sec, nsec, f.length], what);
    const ipOff = pkt.ipOff;
    assertEquals(ipOff, 4 + 20 + f.length - ip.length, what);
    let l4: number;
    if (v6) {
      const h = Ipv6Packet.checked(buf, ipOff, pkt.ipEnd)!;
      assertEquals([pkt.ipVersion, pkt.trafficClass, pkt.proto], [6, h.trafficClass, h.nextHeader]);
      assertEquals(pkt.srcAddr(), formatIpNtop(h.src, 0, 16), what);
      assertEquals(pkt.dstAddr(), formatIpNtop(h.dst, 0, 16), what);
      l4 = ipOff + 40;
    } else {
      const h = Ipv4Packet.checked(buf, ipOff, pkt.ipEnd)!;
      assertEquals(
        [pkt.ipVersion, pkt.trafficClass, pkt.proto, pkt.ipEvil, pkt.fragOffset],
        [4, h.tos, h.protocol, h.evil, h.fragOffset],
        what,
      );
      assertEquals(pkt.srcAddr(), formatIpNtop(h.src, 0, 4), what);
      assertEquals(pkt.dstAddr(), formatIpNtop(h.dst, 0, 4), what);
      l4 = ipOff + h.headerLen;
    }
    assertEquals(pkt.l4Off, l4, what);
    if (spec.l4.proto === "tcp") {
      const h = TcpPacket.checked(buf, l4, pkt.ipEnd)!;
      assertEquals(
        [pkt.tcpOff, pkt.tcpSrcPort, pkt.tcpDstPort, pkt.tcpSeq, pkt.tcpAck, pkt.tcpFlags],
        [l4, h.sport, h.dport, h.seq, h.ack, h.flags],
        what,
      );
      assertEquals([pkt.tcpHdrLen, pkt.tcpPayloadOff], [h.headerLen, l4 + h.headerLen], what);
    } else {
      const h = UdpPacket.checked(buf, l4, pkt.ipEnd)!;
      assertEquals(
        [pkt.udpOff, pkt.udpSrcPort, pkt.udpDstPort, pkt.udpChecksum],
        [l4, h.sport, h.dport, h.checksum],
        what,
      );
      assertEquals(pkt.udpPayloadLen, h.length - 8, what);
    }
  }
});

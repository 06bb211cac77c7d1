/**
 * The `basic` chain: addresses, protocol, ports, packet and octet counts per direction.
 *
 * Fields (manual 1.5): `sip`, `dip` (str), `proto`, `sp`, `dp` (int, null when the flow has no
 * ports), `pkt_fwd`, `pkt_rev`, `oct_fwd`, `oct_rev` (int; octets are IP packet sizes).
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";

/** Records the 5-tuple and per-direction packet/octet counts. */
export class BasicChain implements Chain {
  readonly name = "basic";

  newFlow(rec: FlowRecord, pkt: PacketView): boolean {
    rec.sip = pkt.srcAddr();
    rec.dip = pkt.dstAddr();
    // an IPv6 packet whose extension headers are cut has no known protocol (None)
    rec.proto = pkt.proto >= 0 ? pkt.proto : null;
    // the original reads the ports of any TCP or UDP header, even a truncated one
    const p = pkt.proto;
    if ((p === 17 || p === 6) && pkt.l4Off >= 0 && pkt.l4Len >= 4) {
      const b = pkt.buf, o = pkt.l4Off;
      rec.sp = (b[o]! << 8) | b[o + 1]!;
      rec.dp = (b[o + 2]! << 8) | b[o + 3]!;
    } else {
      rec.sp = null;
      rec.dp = null;
    }
    rec.pkt_fwd = 0;
    rec.pkt_rev = 0;
    rec.oct_fwd = 0;
    rec.oct_rev = 0;
    return true;
  }

  ip4(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    return count(rec, pkt, rev);
  }

  ip6(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    return count(rec, pkt, rev);
  }
}

function count(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
  if (rev) {
    rec.pkt_rev = (rec.pkt_rev as number) + 1;
    rec.oct_rev = (rec.oct_rev as number) + pkt.ipSize;
  } else {
    rec.pkt_fwd = (rec.pkt_fwd as number) + 1;
    rec.oct_fwd = (rec.oct_fwd as number) + pkt.ipSize;
  }
  return true;
}

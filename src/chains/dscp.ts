/**
 * The `dscp` chain: the DSCP of the first TCP SYN and of the first "data" packet (a TCP segment
 * with payload, or any non-TCP packet) per direction; TCP segments without SYN or payload are
 * not looked at.
 *
 * "First" follows the manual; the original's code keeps the last SYN's DSCP and, for data, the
 * first non-zero one (docs/differences.md).
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_SYN } from "../wire/tcp.ts";

/** Records DSCP marks of the IP header (manual 1.5.3). */
export class DscpChain implements Chain {
  readonly name = "dscp";

  newFlow(rec: FlowRecord): boolean {
    rec.dscp_mark_syn_fwd = null;
    rec.dscp_mark_syn_rev = null;
    rec.dscp_mark_data_fwd = null;
    rec.dscp_mark_data_rev = null;
    return true;
  }

  ip4(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    return mark(rec, pkt, rev);
  }

  ip6(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    return mark(rec, pkt, rev);
  }
}

function mark(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
  const dscp = pkt.trafficClass >> 2;
  if (pkt.tcpOff >= 0) {
    if (pkt.tcpFlags & TCP_SYN) {
      if (rev) {
        if (rec.dscp_mark_syn_rev === null) rec.dscp_mark_syn_rev = dscp;
      } else if (rec.dscp_mark_syn_fwd === null) rec.dscp_mark_syn_fwd = dscp;
      return true;
    }
    if (pkt.tcpPayloadLen === 0) return true;
  }
  if (rev) {
    if (rec.dscp_mark_data_rev === null) rec.dscp_mark_data_rev = dscp;
  } else if (rec.dscp_mark_data_fwd === null) rec.dscp_mark_data_fwd = dscp;
  return true;
}

/**
 * The `ecn` chain: which ECN codepoints (ECT(0), ECT(1), CE) were seen, on SYNs or on other
 * packets ("data": TCP segments without SYN, and every non-TCP packet), per direction.
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_SYN } from "../wire/tcp.ts";

/** Records ECN marks of the IP header (manual 1.5.4). */
export class EcnChain implements Chain {
  readonly name = "ecn";

  newFlow(rec: FlowRecord): boolean {
    // the original's insertion order: fwd/rev, then syn/data, then ect0/ect1/ce
    rec.ecn_ect0_syn_fwd = false;
    rec.ecn_ect1_syn_fwd = false;
    rec.ecn_ce_syn_fwd = false;
    rec.ecn_ect0_data_fwd = false;
    rec.ecn_ect1_data_fwd = false;
    rec.ecn_ce_data_fwd = false;
    rec.ecn_ect0_syn_rev = false;
    rec.ecn_ect1_syn_rev = false;
    rec.ecn_ce_syn_rev = false;
    rec.ecn_ect0_data_rev = false;
    rec.ecn_ect1_data_rev = false;
    rec.ecn_ce_data_rev = false;
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
  const ecn = pkt.trafficClass & 3;
  if (ecn === 0) return true;
  const syn = pkt.tcpOff >= 0 && (pkt.tcpFlags & TCP_SYN) !== 0;
  if (syn) {
    if (rev) {
      if (ecn === 2) rec.ecn_ect0_syn_rev = true;
      else if (ecn === 1) rec.ecn_ect1_syn_rev = true;
      else rec.ecn_ce_syn_rev = true;
    } else {
      if (ecn === 2) rec.ecn_ect0_syn_fwd = true;
      else if (ecn === 1) rec.ecn_ect1_syn_fwd = true;
      else rec.ecn_ce_syn_fwd = true;
    }
  } else if (rev) {
    if (ecn === 2) rec.ecn_ect0_data_rev = true;
    else if (ecn === 1) rec.ecn_ect1_data_rev = true;
    else rec.ecn_ce_data_rev = true;
  } else {
    if (ecn === 2) rec.ecn_ect0_data_fwd = true;
    else if (ecn === 1) rec.ecn_ect1_data_fwd = true;
    else rec.ecn_ce_data_fwd = true;
  }
  return true;
}

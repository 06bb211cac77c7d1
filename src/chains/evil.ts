/**
 * The `evil` chain: the IPv4 "evil bit" (RFC 3514, the reserved flag) on SYNs (the last SYN of
 * each direction) and on the first "data" packet (TCP with payload, or non-TCP) per direction.
 * IPv6 packets have no such bit and are not looked at.
 *
 * The hook always returns true, as the manual says; the original returns None (false) for every
 * data packet after the first of a direction, which completes the flow early and skips the hooks
 * of later chains for that packet (docs/differences.md).
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_SYN } from "../wire/tcp.ts";

/** Records the evil bit of IPv4 headers (manual 1.5.5). */
export class EvilChain implements Chain {
  readonly name = "evil";

  newFlow(rec: FlowRecord): boolean {
    rec.evilbit_syn_fwd = null;
    rec.evilbit_syn_rev = null;
    rec.evilbit_data_fwd = null;
    rec.evilbit_data_rev = null;
    return true;
  }

  ip4(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    const evil = pkt.ipEvil;
    if (pkt.tcpOff >= 0) {
      if (pkt.tcpFlags & TCP_SYN) {
        if (rev) rec.evilbit_syn_rev = evil;
        else rec.evilbit_syn_fwd = evil;
        return true;
      }
      if (pkt.tcpPayloadLen === 0) return true;
    }
    if (rev) {
      if (rec.evilbit_data_rev === null) rec.evilbit_data_rev = evil;
    } else if (rec.evilbit_data_fwd === null) rec.evilbit_data_fwd = evil;
    return true;
  }
}

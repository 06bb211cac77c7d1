/**
 * The `udp` chain: whether the last UDP datagram of each direction had a zero (disabled)
 * checksum.
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";

/** Records UDP zero checksums (manual: UDP chain). */
export class UdpChain implements Chain {
  readonly name = "udp";

  newFlow(rec: FlowRecord): boolean {
    rec.udp_zero_checksum_fwd = null;
    rec.udp_zero_checksum_rev = null;
    return true;
  }

  udp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    const zero = pkt.udpChecksum === 0;
    if (rev) rec.udp_zero_checksum_rev = zero;
    else rec.udp_zero_checksum_fwd = zero;
    return true;
  }
}

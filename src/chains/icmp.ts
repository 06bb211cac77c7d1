/**
 * The `icmp` chain: whether an ICMP destination-unreachable message came back for the flow.
 *
 * Field (manual 1.5.6): `icmp_unreachable` (bool), initially false; set when an ICMPv4 type 3 or
 * ICMPv6 type 1 message is seen in the reverse direction. The observer files an ICMP error under
 * the flow of the packet it quotes, in the reverse direction, so this is "the path or the target
 * refused this flow". Seeing one completes the flow. Other ICMP types (time exceeded included)
 * are only named by the manual's constants, the original records nothing for them.
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";

/** ICMPv4 message type: destination unreachable. */
export const ICMP4_UNREACHABLE = 3;
/** ICMPv4 message type: time (TTL) exceeded. */
export const ICMP4_TTLEXCEEDED = 11;
/** ICMPv6 message type: destination unreachable. */
export const ICMP6_UNREACHABLE = 1;
/** ICMPv6 message type: time (hop limit) exceeded. */
export const ICMP6_TTLEXCEEDED = 3;

/** Records ICMP unreachable messages received for the flow. */
export class IcmpChain implements Chain {
  readonly name = "icmp";

  newFlow(rec: FlowRecord): boolean {
    rec.icmp_unreachable = false;
    return true;
  }

  icmp4(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    if (rev && pkt.icmpType === ICMP4_UNREACHABLE) rec.icmp_unreachable = true;
    return rec.icmp_unreachable !== true;
  }

  icmp6(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    if (rev && pkt.icmpType === ICMP6_UNREACHABLE) rec.icmp_unreachable = true;
    return rec.icmp_unreachable !== true;
  }
}

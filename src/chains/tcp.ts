/**
 * The `tcp` chain: SYN flags per direction, FIN and RST seen per direction, 3-way handshake
 * completion, and flow completion on FIN in both directions or any RST.
 *
 * Two places follow the manual rather than the original's code (docs/differences.md): a FIN from
 * the flow's initiator sets `tcp_fin_fwd` (the original swaps the directions), and the first SYN
 * of each direction wins (the original overwrites the flags on every SYN).
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SA, TCP_SYN } from "../wire/tcp.ts";

export * from "../wire/tcp.ts";

/** Records basic TCP behaviour (manual 1.5.8). */
export class TcpChain implements Chain {
  readonly name = "tcp";

  newFlow(rec: FlowRecord): boolean {
    rec.tcp_synflags_fwd = null;
    rec.tcp_synflags_rev = null;
    rec.tcp_fin_fwd = false;
    rec.tcp_fin_rev = false;
    rec.tcp_rst_fwd = false;
    rec.tcp_rst_rev = false;
    rec.tcp_connected = false;
    return true;
  }

  tcp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    const flags = pkt.tcpFlags;
    if (flags & TCP_SYN) {
      if (rev) {
        if (rec.tcp_synflags_rev === null) rec.tcp_synflags_rev = flags;
      } else if (rec.tcp_synflags_fwd === null) rec.tcp_synflags_fwd = flags;
    }
    if (
      !rev && rec.tcp_connected === false && (flags & TCP_ACK) !== 0 &&
      rec.tcp_synflags_fwd !== null && rec.tcp_synflags_rev !== null &&
      ((rec.tcp_synflags_fwd as number) & TCP_SYN) === TCP_SYN &&
      ((rec.tcp_synflags_rev as number) & TCP_SA) === TCP_SA
    ) {
      rec.tcp_connected = true;
    }
    if (flags & TCP_FIN) {
      if (rev) rec.tcp_fin_rev = true;
      else rec.tcp_fin_fwd = true;
    }
    if (flags & TCP_RST) {
      if (rev) rec.tcp_rst_rev = true;
      else rec.tcp_rst_fwd = true;
    }
    return !((rec.tcp_fin_fwd === true && rec.tcp_fin_rev === true) ||
      rec.tcp_rst_fwd === true || rec.tcp_rst_rev === true);
  }
}

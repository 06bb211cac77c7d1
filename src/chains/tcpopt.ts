/**
 * The `tcpopt` chain (the original's master branch, for the tcpopt plugin): which of the
 * timestamps (RFC 7323), window scale (RFC 7323) and SACK-permitted (RFC 2018) options the SYN
 * and the SYN-ACK carried.
 *
 * `tcpopt_ts`, `tcpopt_ws` and `tcpopt_sack` are the original's fields (the SYN-ACK's options:
 * true when present, null otherwise); the `*_fwd` fields, ours, say the same of our own SYN,
 * so that a measurement can show what was offered.
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_SYN, TcpOptions, TO_SACKOK, TO_TS, TO_WS } from "../wire/tcp.ts";

/** Records the timestamps, window scale and SACK-permitted options of SYNs. */
export class TcpOptChain implements Chain {
  readonly name = "tcpopt";
  #opts = new TcpOptions();

  newFlow(rec: FlowRecord): boolean {
    rec.tcpopt_ts = null;
    rec.tcpopt_ws = null;
    rec.tcpopt_sack = null;
    rec.tcpopt_ts_fwd = null;
    rec.tcpopt_ws_fwd = null;
    rec.tcpopt_sack_fwd = null;
    return true;
  }

  tcp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    if ((pkt.tcpFlags & TCP_SYN) === 0) return true;
    const o = this.#opts.parse(pkt);
    const sfx = rev ? "" : "_fwd";
    if (o.has(TO_TS)) rec[`tcpopt_ts${sfx}`] = true;
    if (o.has(TO_WS)) rec[`tcpopt_ws${sfx}`] = true;
    if (o.has(TO_SACKOK)) rec[`tcpopt_sack${sfx}`] = true;
    return true;
  }
}

/**
 * The `tfo` chain: TCP Fast Open (RFC 7413) on the handshake of a flow.
 *
 * Fields (manual 1.5.9), all int and initially 0:
 * - `tfo_synkind`: how the forward SYN carried a Fast Open option: 34 (IANA kind), 254 or 255
 *   (experimental kinds with the experiment id 0xF989 of RFC 6994);
 * - `tfo_synclen`: the length of that option's cookie (0 for a cookie request);
 * - `tfo_seq`: the SYN's sequence number; `tfo_dlen`: the bytes of data on that SYN;
 * - `tfo_ack`: the acknowledgement number of the SYN-ACK that answers a Fast Open SYN;
 * - `tfo_ackkind`, `tfo_ackclen`: kind and cookie length of the option on that SYN-ACK.
 *
 * The kind is looked up in the original's order: 34, then 254 with the id, then 255 with the id.
 * Difference from the original (docs/differences.md): a 255 option's cookie is measured on the
 * 255 option itself (the original reads option 254, and dies when there is none). As in the
 * original, `tfo_dlen` counts every captured byte after the TCP header, so the padding of a
 * minimum-size Ethernet frame counts as SYN data (python-libtrace does not trim it; the observer's
 * packet view keeps that behaviour for every chain).
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import {
  TCP_ACK,
  TCP_SYN,
  TcpOptions,
  TO_EXID_FASTOPEN,
  TO_EXPA,
  TO_EXPB,
  TO_FASTOPEN,
} from "../wire/tcp.ts";

const EXPERIMENTAL = [TO_EXPA, TO_EXPB] as const;

/** Records TCP Fast Open options and SYN data of the handshake. */
export class TfoChain implements Chain {
  readonly name = "tfo";
  private readonly opts = new TcpOptions();
  /** Cookie length found by the last {@link cookieKind} call. */
  private cookieLen = 0;

  newFlow(rec: FlowRecord): boolean {
    rec.tfo_synkind = 0;
    rec.tfo_ackkind = 0;
    rec.tfo_synclen = 0;
    rec.tfo_ackclen = 0;
    rec.tfo_seq = 0;
    rec.tfo_dlen = 0;
    rec.tfo_ack = 0;
    return true;
  }

  tcp(rec: FlowRecord, pkt: PacketView, _rev: boolean): boolean {
    const flags = pkt.tcpFlags;
    if ((flags & TCP_SYN) === 0) return true;
    if ((flags & TCP_ACK) === 0) {
      const kind = this.cookieKind(pkt);
      if (kind !== 0) {
        rec.tfo_synkind = kind;
        rec.tfo_synclen = this.cookieLen;
        rec.tfo_seq = pkt.tcpSeq;
        rec.tfo_dlen = pkt.tcpPayloadLen;
        rec.tfo_ack = 0;
      }
    } else if (rec.tfo_synkind !== 0) {
      rec.tfo_ack = pkt.tcpAck;
      const kind = this.cookieKind(pkt);
      if (kind !== 0) {
        rec.tfo_ackkind = kind;
        rec.tfo_ackclen = this.cookieLen;
      }
    }
    return true;
  }

  /** The option kind carrying Fast Open in this segment (0: none); sets `cookieLen`. */
  private cookieKind(pkt: PacketView): number {
    const o = this.opts.parse(pkt);
    if (o.has(TO_FASTOPEN)) {
      this.cookieLen = o.len[TO_FASTOPEN]!;
      return TO_FASTOPEN;
    }
    for (const kind of EXPERIMENTAL) {
      const off = o.off[kind]!, len = o.len[kind]!;
      if (
        off >= 0 && len >= 2 && pkt.buf[off] === TO_EXID_FASTOPEN[0] &&
        pkt.buf[off + 1] === TO_EXID_FASTOPEN[1]
      ) {
        this.cookieLen = len - 2;
        return kind;
      }
    }
    return 0;
  }
}

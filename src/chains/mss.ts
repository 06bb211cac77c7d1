/**
 * The `mss` chain: the TCP Maximum Segment Size option of the SYNs of a flow.
 *
 * Fields (manual 1.5.7), all null until a SYN (or SYN-ACK) with an MSS option is seen in that
 * direction: `mss_len_fwd`, `mss_len_rev` (int: option length including kind and length bytes,
 * as far as the header holds it), `mss_value_fwd`, `mss_value_rev` (int: the option's value
 * bytes as a big-endian number, whatever their count). Every SYN of the direction overwrites
 * them; the last MSS option of a header wins.
 *
 * Options are read by {@link TcpOptions}, which stops at a malformed option instead of looping
 * forever like the original (docs/differences.md, "TCP option parser: stops at an invalid
 * length").
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { TCP_SYN, TcpOptions, TO_MSS } from "../wire/tcp.ts";

/** Records the MSS option of SYN segments in each direction. */
export class MssChain implements Chain {
  readonly name = "mss";
  private readonly opts = new TcpOptions();

  newFlow(rec: FlowRecord): boolean {
    rec.mss_len_fwd = null;
    rec.mss_len_rev = null;
    rec.mss_value_fwd = null;
    rec.mss_value_rev = null;
    return true;
  }

  tcp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    if ((pkt.tcpFlags & TCP_SYN) === 0) return true;
    const opts = this.opts.parse(pkt);
    if (!opts.has(TO_MSS)) return true;
    const off = opts.off[TO_MSS]!, len = opts.len[TO_MSS]!;
    const value = bigEndian(pkt.buf, off, len);
    if (rev) {
      rec.mss_len_rev = len + 2;
      rec.mss_value_rev = value;
    } else {
      rec.mss_len_fwd = len + 2;
      rec.mss_value_fwd = value;
    }
    return true;
  }
}

/**
 * The unsigned big-endian number in `len` bytes at `off` (Python's `int.from_bytes`): a number
 * up to 6 bytes, a bigint beyond (an MSS option may be up to 38 bytes long).
 */
export function bigEndian(buf: Uint8Array, off: number, len: number): number | bigint {
  if (len <= 6) {
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + buf[off + i]!;
    return v;
  }
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}

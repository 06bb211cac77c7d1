/**
 * TCP flag and option constants (the original's `pathspider.chains.tcp` names) and a TCP option
 * parser over the packet view, for the chains that read options (mss, tfo).
 *
 * Unlike the original's `tcp_options`, the parser cannot loop or throw: it stops at an option
 * whose length byte is missing or smaller than 2 (the original loops forever on a length of 0 and
 * reinterprets the length byte as the next kind on a length of 1) and reports it as `malformed`;
 * options already parsed stay available.
 *
 * @module
 */

import type { PacketView } from "../observer/packet.ts";

/**
 * TCP flag AE (Accurate ECN, RFC 9768; RFC 3540's NS before it): bit 8 of the flags, the low bit
 * of the data-offset byte. The flags fields carry all nine bits, as the original's do.
 */
export const TCP_AE = 0x100;
/** TCP flag CWR. */
export const TCP_CWR = 0x80;
/** TCP flag ECE. */
export const TCP_ECE = 0x40;
/** TCP flag URG. */
export const TCP_URG = 0x20;
/** TCP flag ACK. */
export const TCP_ACK = 0x10;
/** TCP flag PSH. */
export const TCP_PSH = 0x08;
/** TCP flag RST. */
export const TCP_RST = 0x04;
/** TCP flag SYN. */
export const TCP_SYN = 0x02;
/** TCP flag FIN. */
export const TCP_FIN = 0x01;
/** SYN and ACK. */
export const TCP_SA = TCP_SYN | TCP_ACK;
/** SYN, ECE and CWR (the original's value). */
export const TCP_SEC = TCP_SYN | TCP_ECE | TCP_CWR;
/** SYN, ACK, ECE and CWR. */
export const TCP_SAEC = TCP_SYN | TCP_ACK | TCP_ECE | TCP_CWR;
/** SYN, ACK and ECE. */
export const TCP_SAE = TCP_SYN | TCP_ACK | TCP_ECE;

/** TCP option: end of option list. */
export const TO_EOL = 0;
/** TCP option: no operation. */
export const TO_NOP = 1;
/** TCP option: maximum segment size. */
export const TO_MSS = 2;
/** TCP option: window scale. */
export const TO_WS = 3;
/** TCP option: SACK permitted. */
export const TO_SACKOK = 4;
/** TCP option: SACK. */
export const TO_SACK = 5;
/** TCP option: timestamps. */
export const TO_TS = 8;
/** TCP option: multipath TCP. */
export const TO_MPTCP = 30;
/** TCP option: fast open cookie. */
export const TO_FASTOPEN = 34;
/** TCP option: experimental A. */
export const TO_EXPA = 254;
/** TCP option: experimental B. */
export const TO_EXPB = 255;
/** Experiment ID of TCP Fast Open (RFC 6994), as two bytes. */
export const TO_EXID_FASTOPEN: readonly [number, number] = [0xf9, 0x89];

/**
 * The options of one TCP header, as offsets into the packet buffer. Like the original's dict, a
 * kind that appears several times keeps its last value. Reuse one instance: `parse` resets it.
 */
export class TcpOptions {
  /** Offset of each kind's value (after kind and length bytes) in `buf`, -1 when absent. */
  readonly off: Int32Array = new Int32Array(256).fill(-1);
  /** Length of each kind's value in bytes (cut at the end of the header or capture). */
  readonly len: Int32Array = new Int32Array(256);
  /** True when parsing stopped at a missing or invalid length byte. */
  malformed = false;
  /** The buffer the offsets point into. */
  buf: Uint8Array = new Uint8Array(0);
  private kinds: number[] = [];

  /** Parses the options of the packet's TCP header (`pkt.tcpOff >= 0`). */
  parse(pkt: PacketView): this {
    for (const k of this.kinds) this.off[k] = -1;
    this.kinds.length = 0;
    this.malformed = false;
    this.buf = pkt.buf;
    if (pkt.tcpOff < 0) return this;
    const b = pkt.buf;
    let cp = pkt.tcpOff + 20;
    // the original slices data[20:doff*4]: the header's options, cut at the capture
    const hdrEnd = pkt.tcpOff + pkt.tcpHdrLen;
    const end = hdrEnd < pkt.ipEnd ? hdrEnd : pkt.ipEnd;
    while (cp < end) {
      const kind = b[cp];
      if (kind === TO_NOP) {
        cp++;
        continue;
      }
      if (kind === TO_EOL) break;
      if (cp + 1 >= end || b[cp + 1] < 2) {
        this.malformed = true;
        break;
      }
      const next = cp + b[cp + 1];
      const vEnd = next < end ? next : end;
      if (this.off[kind] < 0) this.kinds.push(kind);
      this.off[kind] = cp + 2;
      this.len[kind] = vEnd - (cp + 2);
      cp = next;
    }
    return this;
  }

  /** True when the kind was present. */
  has(kind: number): boolean {
    return this.off[kind] >= 0;
  }

  /** The value bytes of a kind (a view into the packet buffer, valid until the next packet). */
  value(kind: number): Uint8Array | null {
    const o = this.off[kind];
    return o < 0 ? null : this.buf.subarray(o, o + this.len[kind]);
  }
}

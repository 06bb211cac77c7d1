/**
 * The `dns` chain: whether the flow carried a valid DNS response.
 *
 * Field (manual 1.5.2): `dns_response_valid` (bool), initially false; set when a packet in the
 * reverse direction carries a DNS message that parses (see {@link dnsMessageKind}) and has QR
 * set. A valid response completes the flow.
 *
 * As in the original (python-libtrace's `pldns`), a TCP payload is taken to start with the
 * 2-byte length prefix of DNS over TCP (RFC 1035 4.2.2); the prefix is skipped, its value is not
 * used, and the message must be entirely in this one segment. A TCP payload shorter than the
 * prefix is not a DNS message (the original then reads past the payload: docs/differences.md,
 * "DNS over TCP with a payload of one byte").
 *
 * @module
 */

import type { Chain, FlowRecord } from "../observer/chain.ts";
import type { PacketView } from "../observer/packet.ts";
import { DNS_RESPONSE, dnsMessageKind } from "../wire/dns.ts";

/** Records whether a valid DNS response was seen in the reverse direction. */
export class DnsChain implements Chain {
  readonly name = "dns";

  newFlow(rec: FlowRecord): boolean {
    rec.dns_response_valid = false;
    return true;
  }

  tcp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    // the original does nothing for a segment without payload
    if (pkt.tcpPayloadLen === 0) return true;
    if (rev && pkt.tcpPayloadLen >= 2 && rec.dns_response_valid !== true) {
      const start = pkt.tcpPayloadOff;
      const kind = dnsMessageKind(pkt.buf, start + 2, start + pkt.tcpPayloadLen);
      if (kind === DNS_RESPONSE) rec.dns_response_valid = true;
    }
    return rec.dns_response_valid !== true;
  }

  udp(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean {
    if (rev && rec.dns_response_valid !== true) {
      const start = pkt.udpPayloadOff;
      const kind = dnsMessageKind(pkt.buf, start, start + pkt.udpPayloadLen);
      if (kind === DNS_RESPONSE) rec.dns_response_valid = true;
    }
    return rec.dns_response_valid !== true;
  }
}

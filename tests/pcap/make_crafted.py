#!/usr/bin/env python3
"""Write tests/pcap/crafted/*.pcap: small captures for corners the sample captures do not reach.

Each file holds one scenario (a TCP handshake with odd options, a DNS exchange, ...), so that a
capture on which the original hangs hides nothing else. make_golden.py runs the original on
these like on Debian's sample captures. Addresses are from 198.18.0.0/15 and fd00::/8.

    python3 tests/pcap/make_crafted.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "crafted")

C4, S4 = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
C6 = bytes.fromhex("fd000000000000000000000000000001")
S6 = bytes.fromhex("fd000000000000000000000000000002")

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(sport, dport, flags, seq=1000, ack=0, options=b"", payload=b""):
    options += b"\x00" * (-len(options) % 4)
    doff = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0) + \
        options + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ip4(src, dst, proto, l4, tos=0, ident=1):
    return struct.pack(">BBHHHBBH4s4s", 0x45, tos, 20 + len(l4), ident, 0x4000, 64, proto, 0,
                       src, dst) + l4


def ip6(src, dst, proto, l4):
    return struct.pack(">IHBB16s16s", 6 << 28, len(l4), proto, 64, src, dst) + l4


def icmp4(typ, code, quoted):
    return struct.pack(">BBHI", typ, code, 0, 0) + quoted


def ether(ip):
    etype = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
    frame = bytes.fromhex("020000000002020000000001") + etype + ip
    return frame + b"\x00" * max(0, 60 - len(frame))  # Ethernet minimum size: padding


def write(name, packets, t0=1500000000.0):
    """packets: list of (seconds offset, IP packet)."""
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for dt, ip in packets:
            t = t0 + dt
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            frame = ether(ip)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def handshake(syn_opts, synack_opts=b"", v6=False, syn_payload=b"", close=True):
    """A TCP connection 198.18.0.1:40000 -> 198.18.0.2:80 with the given SYN/SYN-ACK options."""
    ip = (lambda s, d, l4: ip6(s, d, 6, l4)) if v6 else (lambda s, d, l4: ip4(s, d, 6, l4))
    c, s = (C6, S6) if v6 else (C4, S4)
    pk = [
        (0.0, ip(c, s, tcp(40000, 80, SYN, seq=1000, options=syn_opts, payload=syn_payload))),
        (0.01, ip(s, c, tcp(80, 40000, SYN | ACK, seq=5000, ack=1001 + len(syn_payload),
                            options=synack_opts))),
        (0.02, ip(c, s, tcp(40000, 80, ACK, seq=1001, ack=5001))),
    ]
    if close:
        pk += [
            (0.03, ip(c, s, tcp(40000, 80, FIN | ACK, seq=1001, ack=5001))),
            (0.04, ip(s, c, tcp(80, 40000, FIN | ACK, seq=5001, ack=1002))),
            (0.05, ip(c, s, tcp(40000, 80, ACK, seq=1002, ack=5002))),
        ]
    return pk


MSS1460 = b"\x02\x04\x05\xb4"
DNS_RESPONSE = bytes.fromhex(
    "12348180000100010000000007" "6578616d706c65" "036e65740000010001c00c000100010000012c0004c6120002")
DNS_QUERY = bytes.fromhex("123401000001000000000000" "076578616d706c65036e65740000010001")


def main():
    # --- TCP options: what the original's tcp_options() does with malformed lists ---
    # a zero option length: the original's parser never advances (mss and tfo loop forever)
    write("opt_len0.pcap", handshake(MSS1460 + b"\x08\x00" + b"\x01" * 2))
    # a kind byte in the last byte of the options, without its length byte (IndexError)
    write("opt_no_len_byte.pcap", handshake(b"\x01\x01\x01\x08"))
    # length 1: the original reads an empty value and moves on by one byte
    write("opt_len1.pcap", handshake(b"\x02\x01" + MSS1460 + b"\x01\x01"))
    # an option that claims more bytes than the header has: the value is cut at the header end
    write("opt_overrun.pcap", handshake(b"\x01\x01\x02\x0a\x05\xb4"))
    # two MSS options: the last one wins (dict of kind -> value)
    write("opt_mss_twice.pcap", handshake(MSS1460 + b"\x02\x04\x02\x18", b"\x02\x04\x05\x78"))
    # MSS after an end-of-list: not seen
    write("opt_mss_after_eol.pcap", handshake(b"\x00\x00\x00\x00" + MSS1460))
    # MSS in IPv6, and a 2-byte MSS option (no value)
    write("opt_mss_v6_empty.pcap", handshake(b"\x02\x02\x01\x01", MSS1460, v6=True))
    # options longer than the captured/declared data offset: doff 15 on a 20-byte header
    pk = handshake(MSS1460)
    syn = bytearray(pk[0][1])
    syn[20 + 12] = 0xF0  # data offset 15 words, beyond the segment
    write("opt_doff_beyond.pcap", [(pk[0][0], bytes(syn))] + pk[1:])

    # --- TCP Fast Open ---
    cookie = b"\x22\x0a" + bytes(range(8))
    exp_cookie = b"\xfe\x0c\xf9\x89" + bytes(range(8))
    write("tfo_iana_cookie_data.pcap",
          handshake(MSS1460 + cookie, MSS1460 + cookie, syn_payload=b"GET / HTTP/1.0\r\n\r\n"))
    write("tfo_exp_cookie.pcap", handshake(MSS1460 + exp_cookie, MSS1460 + exp_cookie))
    write("tfo_exp_request.pcap", handshake(MSS1460 + b"\xfe\x04\xf9\x89", MSS1460 + exp_cookie))
    # 254 with another experiment id: not TFO
    write("tfo_exp_other.pcap", handshake(MSS1460 + b"\xfe\x06\x12\x34\x00\x00"))
    # 255 with the TFO magic and no 254: the original looks up option 254 (KeyError)
    write("tfo_expb_only.pcap", handshake(MSS1460 + b"\xff\x06\xf9\x89\xaa\xbb"))
    # cookie on the SYN-ACK only (no TFO on the SYN): not recorded
    write("tfo_synack_only.pcap", handshake(MSS1460, MSS1460 + cookie))
    # TFO in IPv6 with SYN data acknowledged partially
    write("tfo_v6_data.pcap", handshake(cookie, cookie, v6=True, syn_payload=b"x" * 100))

    # --- DNS ---
    q4 = ip4(C4, S4, 17, udp(50000, 53, DNS_QUERY))
    write("dns_udp_ok.pcap", [(0, q4), (0.02, ip4(S4, C4, 17, udp(53, 50000, DNS_RESPONSE)))])
    # a response in the forward direction does not count
    write("dns_udp_fwd_response.pcap", [(0, ip4(C4, S4, 17, udp(50000, 53, DNS_RESPONSE)))])
    # a truncated response (A record cut), then a valid one: the flow goes on until the valid one
    write("dns_udp_truncated_then_ok.pcap", [
        (0, q4), (0.01, ip4(S4, C4, 17, udp(53, 50000, DNS_RESPONSE[:-1]))),
        (0.02, ip4(S4, C4, 17, udp(53, 50000, DNS_RESPONSE))),
        (0.03, ip4(C4, S4, 17, udp(50000, 53, DNS_QUERY)))])
    # a query answered by a query (QR clear) and an empty datagram
    write("dns_udp_not_response.pcap", [
        (0, q4), (0.01, ip4(S4, C4, 17, udp(53, 50000, DNS_QUERY))),
        (0.02, ip4(S4, C4, 17, udp(53, 50000, b"")))])
    # DNS over TCP: length prefix, then the message; a wrong prefix value is not checked
    pref = struct.pack(">H", len(DNS_RESPONSE))
    ip_c = lambda l4: ip4(C4, S4, 6, l4)  # noqa: E731
    ip_s = lambda l4: ip4(S4, C4, 6, l4)  # noqa: E731
    write("dns_tcp_ok.pcap", [
        (0, ip_c(tcp(40000, 53, SYN, seq=1000))),
        (0.01, ip_s(tcp(53, 40000, SYN | ACK, seq=5000, ack=1001))),
        (0.02, ip_c(tcp(40000, 53, ACK | PSH, seq=1001, ack=5001,
                        payload=struct.pack(">H", len(DNS_QUERY)) + DNS_QUERY))),
        (0.03, ip_s(tcp(53, 40000, ACK | PSH, seq=5001, ack=1001 + 2 + len(DNS_QUERY),
                        payload=b"\x00\x05" + DNS_RESPONSE))),
        (0.04, ip_c(tcp(40000, 53, ACK | FIN, seq=1001, ack=5001)))])
    # DNS over TCP without the length prefix: not a valid message for the original
    write("dns_tcp_no_prefix.pcap", [
        (0, ip_c(tcp(40000, 53, SYN, seq=1000))),
        (0.01, ip_s(tcp(53, 40000, SYN | ACK | PSH, seq=5000, ack=1001, payload=DNS_RESPONSE))),
        (0.02, ip_s(tcp(53, 40000, ACK | PSH, seq=5001, ack=1001, payload=pref))),
        (0.03, ip_c(tcp(40000, 53, RST, seq=1001)))])

    # --- ICMP ---
    syn = ip4(C4, S4, 6, tcp(40000, 80, SYN, options=MSS1460))
    write("icmp_unreach_after_syn.pcap", [
        (0, syn), (0.01, ip4(bytes([198, 18, 0, 254]), C4, 1, icmp4(3, 1, syn[:28]))),
        (0.02, syn)])
    # a TTL exceeded is not recorded; an unreachable in the forward direction is not either
    write("icmp_ttl_and_fwd.pcap", [
        (0, syn), (0.01, ip4(bytes([198, 18, 0, 254]), C4, 1, icmp4(11, 0, syn[:28]))),
        (0.02, ip4(C4, S4, 1, icmp4(3, 3, ip4(S4, C4, 17, udp(53, 50000, b""))[:28]))),
        (0.03, syn)])
    # ICMPv6 unreachable quoting a UDP datagram
    u6 = ip6(C6, S6, 17, udp(50000, 53, DNS_QUERY))
    write("icmp6_unreach_udp.pcap", [
        (0, u6), (0.01, ip6(S6, C6, 58, struct.pack(">BBHI", 1, 4, 0, 0) + u6[:48]))])

    # --- flows open at the end of the capture, and a flow idle for more than 30 s ---
    write("idle_and_open.pcap", [
        (0, ip4(C4, S4, 17, udp(50001, 9999, b"a"))),
        (0.5, ip4(C4, S4, 17, udp(50002, 9999, b"b"))),
        (40, ip4(C4, S4, 17, udp(50002, 9999, b"c"))),
        (41, ip4(S4, C4, 17, udp(9999, 50002, b"d")))])


if __name__ == "__main__":
    main()

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
ECE, CWR, AE = 0x40, 0x80, 0x100


def tcp(sport, dport, flags, seq=1000, ack=0, options=b"", payload=b""):
    """flags: all nine bits; AE (0x100, RFC 9768) is the low bit of the data-offset byte."""
    options += b"\x00" * (-len(options) % 4)
    doff = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, doff << 4 | flags >> 8, flags & 0xFF,
                       65535, 0, 0) + options + payload


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


def sll(ip):
    """Linux cooked capture (LINKTYPE_LINUX_SLL) header + IP packet."""
    proto = 0x86DD if ip[0] >> 4 == 6 else 0x0800
    return struct.pack(">HHH8sH", 0, 1, 6, bytes.fromhex("0200000000010000"), proto) + ip


def vlan(ip, tag=100):
    etype = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
    frame = bytes.fromhex("020000000002020000000001") + b"\x81\x00" + struct.pack(">H", tag) + \
        etype + ip
    return frame + b"\x00" * max(0, 64 - len(frame))


def write(name, packets, t0=1500000000.0, link=None, linktype=1, nano=False, big=False,
          snaplen=65535):
    """packets: list of (seconds offset, IP packet), framed by `link` (default Ethernet)."""
    os.makedirs(OUT, exist_ok=True)
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for dt, ip in packets:
            t = t0 + dt
            sec = int(t)
            frac = int(round((t - sec) * (1e9 if nano else 1e6)))
            frame = (link or ether)(ip)
            cap = frame[:snaplen]
            f.write(struct.pack(e + "IIII", sec, frac, len(cap), len(frame)) + cap)


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
    # a bare cookie request: a 58-byte frame, so 2 bytes of Ethernet padding follow the header
    write("tfo_request_padded.pcap", handshake(b"\x22\x02", cookie))
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


def observer_corners():
    """Link types, file formats, fragments, extension headers: the observer's side."""
    hs = handshake(MSS1460 + b"\x01\x03\x03\x07", MSS1460)
    write("link_sll.pcap", hs, link=sll, linktype=113)
    write("link_raw.pcap", hs, link=lambda ip: ip, linktype=101)
    write("link_vlan.pcap", hs, link=vlan)
    write("pcap_nanosecond.pcap", [(t + 0.000000123, p) for t, p in hs], nano=True)
    write("pcap_big_endian.pcap", hs, big=True)
    # a snap length that cuts the SYN's options and the data
    write("pcap_snaplen54.pcap", handshake(MSS1460 + b"\x04\x02\x08\x0a" + bytes(8),
                                          syn_payload=b"x" * 50), snaplen=54 + 4)
    # IPv4 fragments of a UDP datagram: first with the ports, then the rest
    payload = DNS_RESPONSE * 4
    dgram = udp(53, 50000, payload)
    frags = []
    for i, off in enumerate(range(0, len(dgram), 64)):
        part = dgram[off:off + 64]
        more = 0x2000 if off + 64 < len(dgram) else 0
        hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(part), 7, more | (off // 8), 64, 17,
                          0, S4, C4)
        frags.append((0.01 * (i + 1), hdr + part))
    write("ip4_fragments.pcap", [(0, ip4(C4, S4, 17, udp(50000, 53, DNS_QUERY)))] + frags)
    # IPv6 with a hop-by-hop and a destination options header before TCP
    def ext6(l4):
        hbh = bytes([60, 0]) + b"\x01\x04\x00\x00\x00\x00"  # next: destination options
        dst = bytes([6, 0]) + b"\x01\x04\x00\x00\x00\x00"   # next: TCP
        return struct.pack(">IHBB16s16s", 6 << 28, len(hbh) + len(dst) + len(l4), 0, 64, C6, S6) + \
            hbh + dst + l4
    write("ip6_ext_headers.pcap", [(0, ext6(tcp(40000, 80, SYN, options=MSS1460))),
                                   (0.01, ip6(S6, C6, 6, tcp(80, 40000, SYN | ACK, ack=1001)))])
    # ICMP echo (3-tuple flows) and protocols without ports (GRE) or with (SCTP)
    echo = struct.pack(">BBHHH", 8, 0, 0, 1, 1) + b"ping"
    reply = struct.pack(">BBHHH", 0, 0, 0, 1, 1) + b"ping"
    write("icmp_echo_gre_sctp.pcap", [
        (0, ip4(C4, S4, 1, echo)), (0.01, ip4(S4, C4, 1, reply)),
        (0.02, ip4(C4, S4, 47, b"\x00\x00\x08\x00" + b"gre payload")),
        (0.03, ip4(C4, S4, 132, struct.pack(">HHI", 5000, 6000, 1) + bytes(8))),
        (0.04, ip4(S4, C4, 132, struct.pack(">HHI", 6000, 5000, 1) + bytes(8)))])
    # ICMPv6 packet too big quoting a TCP segment; ICMPv4 unreachable quoting UDP with ports
    seg6 = ip6(C6, S6, 6, tcp(40000, 80, ACK | PSH, seq=1001, ack=5001, payload=b"y" * 40))
    write("icmp6_too_big_tcp.pcap", handshake(MSS1460, MSS1460, v6=True, close=False) + [
        (0.03, seg6),
        (0.04, ip6(bytes.fromhex("fd0000000000000000000000000000fe"), C6, 58,
                   struct.pack(">BBHI", 2, 0, 0, 1280) + seg6[:1232]))])
    # ECN and DSCP marks on the handshake and on data, both directions
    ecn = lambda src, dst, l4, tos: ip4(src, dst, 6, l4, tos=tos)  # noqa: E731
    write("ecn_dscp_marks.pcap", [
        (0, ecn(C4, S4, tcp(40000, 80, SYN | 0xC0, options=MSS1460), 0x00)),
        (0.01, ecn(S4, C4, tcp(80, 40000, SYN | ACK | 0x40, seq=5000, ack=1001), 0xB8)),
        (0.02, ecn(C4, S4, tcp(40000, 80, ACK, seq=1001, ack=5001), 0x02)),
        (0.03, ecn(C4, S4, tcp(40000, 80, ACK | PSH, seq=1001, ack=5001, payload=b"a" * 10), 0x2A)),
        (0.04, ecn(S4, C4, tcp(80, 40000, ACK | PSH, seq=5001, ack=1011, payload=b"b" * 10), 0x03)),
        (0.05, ecn(S4, C4, tcp(80, 40000, ACK | PSH, seq=5011, ack=1011, payload=b"c" * 10), 0x01)),
        (0.06, ecn(C4, S4, tcp(40000, 80, RST, seq=1011), 0x00))])
    # TCP headers cut short inside the IP packet (raw IP: no Ethernet padding hides the cut):
    # the original keys each by the port bytes it has (payload[0:4], fewer when shorter) and its
    # IP-level hooks count it; the tcp chain raises on them (python-libtrace's ValueError)
    seg = tcp(40000, 80, ACK | PSH, seq=1001, ack=5001, payload=b"hello")
    syn = tcp(40000, 80, SYN, seq=1000)
    write("tcp_truncated.pcap", handshake(MSS1460, close=False) + [
        (0.03, ip4(C4, S4, 6, seg[:12])),
        (0.04, ip4(S4, C4, 6, tcp(80, 40000, ACK, seq=5001, ack=1006)[:3])),
        (0.05, ip4(C4, S4, 6, seg[:19])),
        (0.06, ip4(C4, bytes([198, 18, 0, 9]), 6, seg[:8])),
        (0.07, ip4(S4, C4, 6, b"")),
        (0.08, ip4(S4, C4, 6, syn[:1])),
        (0.09, ip6(C6, S6, 6, syn[:12])),
        (0.10, ip6(C6, S6, 6, syn[:2]))], link=lambda ip: ip, linktype=101)
    # AccECN (RFC 9768): the SYN sets AE+CWR+ECE (450); the SYN-ACK's AE/CWR/ECE say which ECN
    # codepoint the SYN arrived with (AE alone: ECT(0)); the flags must keep all nine bits
    for v6, name in ((False, "tcp_ae_flags.pcap"), (True, "tcp_ae_flags_v6.pcap")):
        ip = (lambda s, d, l4: ip6(s, d, 6, l4)) if v6 else (lambda s, d, l4: ip4(s, d, 6, l4))
        c, s = (C6, S6) if v6 else (C4, S4)
        write(name, [
            (0, ip(c, s, tcp(40000, 80, AE | CWR | ECE | SYN, options=MSS1460))),
            (0.01, ip(s, c, tcp(80, 40000, AE | SYN | ACK, seq=5000, ack=1001, options=MSS1460))),
            (0.02, ip(c, s, tcp(40000, 80, AE | ACK, seq=1001, ack=5001))),
            (0.03, ip(c, s, tcp(40000, 80, AE | FIN | ACK, seq=1001, ack=5001))),
            (0.04, ip(s, c, tcp(80, 40000, FIN | ACK, seq=5001, ack=1002))),
            (0.05, ip(c, s, tcp(40000, 80, ACK, seq=1002, ack=5002)))])


def random_mix(n=3000, seed=7, name="mix_random.pcap"):
    """Seeded random traffic among a few hosts: TCP with random flags, well-formed options (MSS,
    SACK, timestamps, window scale, TFO kinds) and payloads, UDP with DNS messages and junk, ICMP
    errors quoting earlier packets, random TOS and evil bits, IPv4 and IPv6, over ~100 s so that
    idle and expiry timers fire. Options are always well-formed, so the original never hangs."""
    import random
    rng = random.Random(seed)
    hosts4 = [bytes([198, 18, 0, i]) for i in (1, 2, 3)]
    hosts6 = [bytes.fromhex("fd00000000000000000000000000000%d" % i) for i in (1, 2, 3)]
    opts_menu = [MSS1460, b"\x02\x04\x02\x18", b"\x04\x02", b"\x01\x03\x03\x07",
                 b"\x08\x0a" + bytes(8), b"\x22\x02", b"\x22\x0a" + bytes(8),
                 b"\xfe\x04\xf9\x89", b"\xfe\x0c\xf9\x89" + bytes(8), b"\x01", b"\x00"]
    flag_menu = [SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, SYN | 0xC0,
                 SYN | ACK | 0x40, ACK | 0x80]
    sent, pk, t = [], [], 0.0
    for _ in range(n):
        t += rng.expovariate(30)
        v6 = rng.random() < 0.3
        hosts = hosts6 if v6 else hosts4
        src, dst = rng.sample(hosts, 2)
        kind = rng.random()
        if kind < 0.65:
            options = b"".join(rng.sample(opts_menu, rng.randint(0, 3)))
            options = options[:40]
            l4 = tcp(rng.choice([40000, 40001, 80, 443]), rng.choice([80, 443, 40000, 40001]),
                     rng.choice(flag_menu), seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32),
                     options=options, payload=bytes(rng.randrange(256) for _ in range(
                         rng.choice([0, 0, 0, 1, 10, 100]))))
            proto = 6
        elif kind < 0.9:
            payload = rng.choice([DNS_QUERY, DNS_RESPONSE, DNS_RESPONSE[:-3], b"", b"junk"])
            l4 = udp(rng.choice([50000, 53]), rng.choice([53, 50000]), payload)
            proto = 17
        elif sent:
            quoted = rng.choice(sent)
            if (quoted[0] >> 4 == 6) != v6:
                continue
            if v6:
                l4 = struct.pack(">BBHI", rng.choice([1, 2, 3]), 0, 0, 0) + quoted[:48 + 8]
                proto = 58
                src, dst = rng.choice(hosts6), quoted[8:24]
            else:
                l4 = icmp4(rng.choice([3, 11, 3, 4]), rng.randrange(4), quoted[:28])
                proto = 1
                src, dst = rng.choice(hosts4), quoted[12:16]
        else:
            continue
        if v6:
            packet = struct.pack(">IHBB16s16s", (6 << 28) | (rng.choice([0, 0, 2, 0xB8]) << 20),
                                 len(l4), proto, 64, src, dst) + l4
        else:
            packet = struct.pack(">BBHHHBBH4s4s", 0x45, rng.choice([0, 0, 1, 2, 3, 0xB8, 0x2A]),
                                 20 + len(l4), 1, rng.choice([0x4000, 0x4000, 0x8000]), 64,
                                 proto, 0, src, dst) + l4
        sent.append(packet)
        pk.append((t, packet))
    write(name, pk)


if __name__ == "__main__":
    random_mix()
    random_mix(6000, 11, "mix_random2.pcap")
    observer_corners()
    main()

#!/usr/bin/env python3
"""Write capture-ffi/tests/seeds/*: the seed captures of the reader fuzz test (fuzz_readers.rs).

Small on purpose (a mutation round reads each seed thousands of times): a few classic pcaps cut
from tests/pcap/crafted (both byte orders, µs and ns, VLAN, raw IP, one cut short, one whose only
record header claims 64 MiB in a 40-byte file) and pcapng files written here, since no tool on
the machine writes big-endian sections or these options: two sections of opposite byte order,
several interfaces of different link types, if_tsresol (decimal and binary) and if_tsoffset, EPB
with epb_flags, SPB, OPB, a block of an unknown type, and one file cut inside a block.

    python3 capture-ffi/tests/seeds/make_seeds.py
"""

import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CRAFTED = os.path.join(HERE, "..", "..", "..", "tests", "pcap", "crafted")


def pcap_packets(name):
    """The (ts_sec, ts_frac, data) of a little- or big-endian pcap, and its link type."""
    b = open(os.path.join(CRAFTED, name), "rb").read()
    e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(e + "I", b[20:24])[0]
    out, o = [], 24
    while o + 16 <= len(b):
        s, f, cap, _ = struct.unpack(e + "IIII", b[o:o + 16])
        out.append((s, f, b[o + 16:o + 16 + cap]))
        o += 16 + cap
    return out, link


def pad(b):
    return b + b"\x00" * (-len(b) % 4)


def opt(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + pad(value)


def block(e, btype, body):
    n = 12 + len(pad(body))
    return struct.pack(e + "II", btype, n) + pad(body) + struct.pack(e + "I", n)


def shb(e, options=b""):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def idb(e, link, snap, options=b""):
    return block(e, 1, struct.pack(e + "HHI", link, 0, snap) + options)


def epb(e, ifid, ts, data, options=b""):
    return block(e, 6, struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + pad(data) + options)


def opb(e, ifid, ts, data):
    return block(e, 2, struct.pack(e + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + pad(data))


def spb(e, data):
    return block(e, 3, struct.pack(e + "I", len(data)) + pad(data))


def end(e):
    return struct.pack(e + "HH", 0, 0)


def main():
    for src, dst in [("ip4_fragments.pcap", "pcap_le_us_fragments.pcap"),
                     ("pcap_big_endian.pcap", "pcap_be.pcap"),
                     ("pcap_nanosecond.pcap", "pcap_ns.pcap"),
                     ("link_vlan.pcap", "pcap_vlan.pcap"),
                     ("link_raw.pcap", "pcap_raw_ip.pcap")]:
        shutil.copyfile(os.path.join(CRAFTED, src), os.path.join(HERE, dst))
    cut = open(os.path.join(CRAFTED, "ecn_dscp_marks.pcap"), "rb").read()
    open(os.path.join(HERE, "pcap_truncated.pcap"), "wb").write(cut[:-7])
    # 24-byte header, then one record header claiming 64 MiB: nothing of it in the file
    tiny = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + \
        struct.pack("<IIII", 1, 0, 64 << 20, 64 << 20)
    assert len(tiny) == 40
    open(os.path.join(HERE, "pcap_claims_64mib.pcap"), "wb").write(tiny)

    eth, _ = pcap_packets("ecn_dscp_marks.pcap")
    raw, _ = pcap_packets("link_raw.pcap")
    v6, _ = pcap_packets("icmp6_too_big_tcp.pcap")
    # section 1, little-endian: Ethernet at ns resolution with an offset, raw IP at 2^-20 s
    le = "<"
    s1 = shb(le, opt(le, 4, b"pathspider seeds") + end(le))
    s1 += idb(le, 1, 65535, opt(le, 9, b"\x09") + opt(le, 14, struct.pack("<q", 100)) + end(le))
    s1 += idb(le, 101, 0, opt(le, 9, b"\x94") + end(le))
    for i, (s, f, d) in enumerate(eth[:3]):
        s1 += epb(le, 0, s * 10**9 + f * 1000, d, opt(le, 2, struct.pack("<I", 1 + i)) + end(le))
    s1 += block(le, 0x0BAD, b"an unknown block is skipped")
    s1 += spb(le, eth[3][2] if len(eth) > 3 else eth[0][2])
    s1 += epb(le, 1, (7 << 20) | 12345, raw[0][2])
    # section 2, big-endian: fresh interfaces (the first section's are gone)
    be = ">"
    s2 = shb(be)
    s2 += idb(be, 101, 65535)
    s2 += idb(be, 1, 96, opt(be, 9, b"\x03") + end(be))
    for s, f, d in raw[1:3]:
        s2 += epb(be, 0, s * 10**6 + f, d)
    s2 += opb(be, 1, 5000, v6[0][2][:96])
    s2 += epb(be, 1, 6000, v6[1][2][:96], opt(be, 2, struct.pack(">I", 2)) + end(be))
    open(os.path.join(HERE, "pcapng_two_sections.pcapng"), "wb").write(s1 + s2)
    open(os.path.join(HERE, "pcapng_be_only.pcapng"), "wb").write(s2)
    open(os.path.join(HERE, "pcapng_truncated.pcapng"), "wb").write((s1 + s2)[:len(s1) + 60])


if __name__ == "__main__":
    main()

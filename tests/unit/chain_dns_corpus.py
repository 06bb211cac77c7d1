#!/usr/bin/python3
"""Regenerate tests/unit/chain_dns_corpus.json.gz: DNS messages and what ldns makes of them.

The original's DNS chain accepts a payload when ldns' ldns_wire2pkt() returns OK (and calls it a
response when QR is set). This script asks the real libldns.so.3 of the system (Debian 12: ldns
1.8.3, the library python3-libtrace's pldns uses) about a corpus of messages: DNS payloads taken
from the sample captures, crafted edge cases, and seeded random mutations of both. The Deno test
chain_dns_test.ts checks that src/wire/dns.ts classifies every message the same way.

    /usr/bin/python3 tests/unit/chain_dns_corpus.py
"""

import ctypes
import gzip
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data"
OUT = os.path.join(HERE, "chain_dns_corpus.json.gz")

ldns = ctypes.CDLL("libldns.so.3")
ldns.ldns_wire2pkt.restype = ctypes.c_int
ldns.ldns_wire2pkt.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_size_t]
ldns.ldns_pkt_qr.restype = ctypes.c_bool
ldns.ldns_pkt_qr.argtypes = [ctypes.c_void_p]
ldns.ldns_pkt_free.argtypes = [ctypes.c_void_p]


def oracle(msg):
    """0 rejected, 1 query, 2 response: as src/wire/dns.ts dnsMessageKind."""
    pkt = ctypes.c_void_p()
    status = ldns.ldns_wire2pkt(ctypes.byref(pkt), msg, len(msg))
    if status != 0:
        return 0
    kind = 2 if ldns.ldns_pkt_qr(pkt) else 1
    ldns.ldns_pkt_free(pkt)
    return kind


def udp_tcp_payloads(path):
    """Payloads of UDP/TCP port-53 packets of an Ethernet or raw-IP classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        return []
    linktype = struct.unpack_from("<I", data, 20)[0]
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = frame[14:] if linktype == 1 else frame
        if len(ip) < 20:
            continue
        if ip[0] >> 4 == 6 and len(ip) >= 40:
            proto, l4 = ip[6], ip[40:]
        elif ip[0] >> 4 == 4:
            proto, l4 = ip[9], ip[(ip[0] & 15) * 4:]
        else:
            continue
        if len(l4) < 8:
            continue
        sport, dport = struct.unpack_from(">HH", l4)
        if 53 not in (sport, dport):
            continue
        if proto == 17:
            out.append(bytes(l4[8:]))
        elif proto == 6 and len(l4) >= 20:
            payload = bytes(l4[(l4[12] >> 4) * 4:])
            if payload:
                out.append(payload)  # as the original sees it: with the length prefix
                out.append(payload[2:])
    return out


def name(*labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def header(ident=0x1234, flags=0x8180, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def rr(owner, rtype, rdata, rclass=1, ttl=300):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def crafted():
    q = name(b"example", b"com") + b"\x00\x01\x00\x01"
    c = [
        b"",
        header()[:11],
        header(qd=0),
        header(qd=0, flags=0x0100),
        header() + q,
        header(flags=0x0100) + q,
        header() + q[:-1],
        header(an=1) + q + rr(b"\xc0\x0c", 1, b"\x5d\xb8\xd8\x22"),
        header(an=1) + q + rr(b"\xc0\x0c", 1, b"\x5d\xb8\xd8"),  # A too short
        header(an=1) + q + rr(b"\xc0\x0c", 1, b"\x5d\xb8\xd8\x22\x00"),  # A too long
        header(an=2) + q + rr(b"\xc0\x0c", 1, b"\x5d\xb8\xd8\x22\x00") + rr(b"\xc0\x0c", 1, b"abcd"),
        header(an=1) + q + rr(b"\xc0\x0c", 28, bytes(16)),
        header(an=1) + q + rr(b"\xc0\x0c", 28, bytes(15)),
        header(an=1) + q + rr(b"\xc0\x0c", 16, b"\x03abc\x00\x02xy"),
        header(an=1) + q + rr(b"\xc0\x0c", 16, b"\x03abc\x05xy"),  # TXT string overruns
        header(an=1) + q + rr(b"\xc0\x0c", 5, b"\xc0\x0c"),  # CNAME pointer
        header(an=1) + q + rr(b"\xc0\x0c", 5, b"\xc0\xff"),  # pointer outside
        header(an=1) + q + rr(b"\xc0\x0c", 5, b"\xc0\x00"),  # pointer to 0
        header(an=1) + q + rr(b"\xc0\x0c", 15, b"\x00\x0a" + name(b"mx", b"example")),
        header(an=1) + q + rr(b"\xc0\x0c", 6, name(b"a") + name(b"b") + bytes(20)),
        header(an=1) + q + rr(b"\xc0\x0c", 6, name(b"a") + name(b"b") + bytes(19)),
        header(an=1) + q + rr(b"\xc0\x0c", 999, b"anything at all"),
        header(an=1) + q + rr(b"\xc0\x0c", 1, b""),  # empty RDATA is fine
        header(qd=1) + b"\xc0\x0c\x00\x01\x00\x01",  # pointer to itself
        header(qd=1) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",  # label of 64
        header(qd=1) + b"\x80abc\x00\x00\x01\x00\x01",
        header(qd=1) + name(*([b"a" * 63] * 4)) + b"\x00\x01\x00\x01",  # 257 bytes
        header(qd=1) + name(*([b"a" * 63] * 3), b"a" * 61) + b"\x00\x01\x00\x01",  # 255
        header(qd=1) + name(*([b"a" * 63] * 3), b"a" * 60) + b"\x00\x01\x00\x01",  # 254
        header(qd=1) + b"\x03abc",  # name runs to the end
        header(ar=1) + q + rr(b"\x00", 41, b"", rclass=4096, ttl=0),  # OPT
        header(ar=2) + q + rr(b"\x00", 250, b"tsig-ish"),  # TSIG: second record not read
        header(ar=2) + q + rr(b"\x00", 250, b"tsig-ish") + b"garbage",
        header(ar=2) + q + rr(b"\x00", 1, b"abcd") + b"garbage",
        header(an=1) + q + rr(b"\xc0\x0c", 250, b"\x00" + bytes(16)),
        header(an=1) + q + rr(b"\xc0\x0c", 249, b"\x00" + bytes(10) + b"\x00\x03abc\x00\x00"),
        header(an=1) + q + rr(b"\xc0\x0c", 249, b"\x00" + bytes(10) + b"\x00\x03ab"),
        header(an=1) + q + rr(b"\xc0\x0c", 55, b"\x02\x01\x00\x01ab" + b"c" + name(b"x")),
        header(an=1) + q + rr(b"\xc0\x0c", 55, b"\x02\x01\x00\x09ab"),
        header(an=1) + q + rr(b"\xc0\x0c", 16, b"\x00" * 300),  # > 255 TXT strings
        header(qd=0, an=0, ns=0, ar=0) + b"trailing bytes are ignored",
    ]
    return c


def every_type(rng):
    """One answer of each RR type ldns has a descriptor for (and a few it has not), with RDATA of
    random bytes and of plausible fields (names, length-prefixed strings), short and long."""
    out = []
    q = name(b"example", b"com") + b"\x00\x01\x00\x01"
    types = [t for t in range(0, 300) if ldns_has(t)] + [32768, 32769, 65280, 65535]
    for t in types:
        for n in (0, 1, 2, 3, 4, 6, 8, 16, 17, 30):
            rdata = bytes(rng.randrange(256) for _ in range(n))
            out.append(header(an=1) + q + rr(b"\xc0\x0c", t, rdata) + rr(b"\xc0\x0c", 1, b"abcd"))
        for rdata in (name(b"a"), b"\x00\x01" + name(b"a", b"b"), b"\x03abc\x02de",
                      b"\xc0\x0c" + bytes(8), b"\x00" * 40, b"\x02\x01\x00\x01abc" + name(b"x")):
            out.append(header(an=1, ar=1) + q + rr(b"\xc0\x0c", t, rdata) + rr(b"\x00", 41, b""))
    return out


def ldns_has(rtype):
    ldns.ldns_rr_descript.restype = ctypes.c_void_p
    ldns.ldns_rr_descript.argtypes = [ctypes.c_uint16]
    return rtype == 0 or ldns.ldns_rr_descript(rtype) != ldns.ldns_rr_descript(0)


def mutate(rng, msg):
    m = bytearray(msg)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and m:
            m[rng.randrange(len(m))] = rng.randrange(256)
        elif op == 1 and m:
            del m[rng.randrange(len(m)):]
        elif op == 2 and len(m) >= 12:
            struct.pack_into(">H", m, 4 + 2 * rng.randrange(4), rng.choice([0, 1, 2, 3, 250, 65535]))
        elif op == 3:
            m += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4 and len(m) > 13:
            i = rng.randrange(12, len(m))
            m[i] = rng.choice([0, 1, 63, 64, 191, 192, 0xC0, 0xFF])
        elif op == 5 and len(m) > 14:
            i = rng.randrange(12, len(m) - 1)
            m[i:i + 2] = struct.pack(">H", 0xC000 | rng.randrange(len(m) + 4))
    return bytes(m)


def main():
    rng = random.Random(20261122)
    seeds = []
    for f in sorted(os.listdir(DATA)):
        if f.endswith(".pcap"):
            seeds += udp_tcp_payloads(os.path.join(DATA, f))
    seeds = list(dict.fromkeys(seeds))  # dedup, keep order
    rng.shuffle(seeds)
    seeds = seeds[:150] + crafted()
    corpus = list(seeds) + every_type(rng)
    for _ in range(1500):
        corpus.append(mutate(rng, rng.choice(seeds)))
    corpus.append(bytes(rng.randrange(256) for _ in range(40)))
    cases = [[m.hex(), oracle(m)] for m in dict.fromkeys(corpus)]
    with open(OUT, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as z:
            z.write(json.dumps(cases).encode())
    kinds = [k for _, k in cases]
    print("%d cases: %d rejected, %d queries, %d responses" % (
        len(cases), kinds.count(0), kinds.count(1), kinds.count(2)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Run the original PATHspider (pspdr-peer) with some of its documented bugs fixed.

Used by make_golden.py to produce *reference* outputs where the original's behaviour differs from
its manual in a way that changes how packets are split into flows or stops the run, so that the
rest of its output can still be compared with ours flow by flow. Each patch is named after, and
documented in, a section of docs/differences.md:

  evil-keeps-flow    "evil chain: its hook always returns true"
  tcp-options-stop   "TCP option parser: stops at an invalid length"
  tfo-expb-option    "tfo chain: the cookie of experimental option 255"

    PSPDR_PATCHES=evil-keeps-flow,tcp-options-stop tests/pcap/peer_patched.py observe -i X basic evil
"""

import os
import runpy
import sys

PEER = os.environ.get("PSPDR_PEER", "/work/shared/peer/pspdr-peer")
# pspdr-peer's own workarounds (plt.trace) must be in place before pathspider is imported
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(PEER)), "lib"))
import pltfix  # noqa: E402,F401

import pathspider.chains.evil as evil  # noqa: E402
import pathspider.chains.mss as mss  # noqa: E402
import pathspider.chains.tcp as tcp  # noqa: E402
import pathspider.chains.tfo as tfo  # noqa: E402

EXID_FASTOPEN = bytearray(tcp.TO_EXID_FASTOPEN)


def evil_keeps_flow():
    ip4 = evil.EvilChain.ip4

    def patched(self, rec, ip, rev):
        ip4(self, rec, ip, rev)
        return True

    evil.EvilChain.ip4 = patched


def tcp_options_stop():
    def tcp_options(segment):
        optbytes = segment.data[20:segment.doff * 4]
        opthash = {}
        cp = 0
        while cp < len(optbytes):
            if optbytes[cp] == tcp.TO_NOP:
                cp += 1
                continue
            if optbytes[cp] == tcp.TO_EOL:
                break
            # the fix: stop at a missing length byte or a length below 2
            if cp + 1 >= len(optbytes) or optbytes[cp + 1] < 2:
                break
            ncp = cp + optbytes[cp + 1]
            opthash[optbytes[cp]] = optbytes[cp + 2:ncp]
            cp = ncp
        return opthash

    tcp.tcp_options = tcp_options
    mss.tcp_options = tcp_options  # imported by name into the chains
    tfo.tcp_options = tcp_options


def tfo_expb_option():
    def _cookie(self, segment):
        opts = tfo.tcp_options(segment)
        if tcp.TO_FASTOPEN in opts:
            return (tcp.TO_FASTOPEN, bytes(opts[tcp.TO_FASTOPEN]))
        if tcp.TO_EXPA in opts and opts[tcp.TO_EXPA][0:2] == EXID_FASTOPEN:
            return (tcp.TO_EXPA, bytes(opts[tcp.TO_EXPA][2:]))
        # the fix: the cookie of option 255 is in option 255 (the original reads option 254)
        if tcp.TO_EXPB in opts and opts[tcp.TO_EXPB][0:2] == EXID_FASTOPEN:
            return (tcp.TO_EXPB, bytes(opts[tcp.TO_EXPB][2:]))
        return (None, None)

    tfo.TFOChain._cookie = _cookie


PATCHES = {
    "evil-keeps-flow": evil_keeps_flow,
    "tcp-options-stop": tcp_options_stop,
    "tfo-expb-option": tfo_expb_option,
}

if __name__ == "__main__":
    for name in filter(None, os.environ.get("PSPDR_PATCHES", "").split(",")):
        PATCHES[name]()
    sys.argv[0] = PEER
    runpy.run_path(PEER, run_name="__main__")

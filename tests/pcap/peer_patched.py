#!/usr/bin/python3
"""Run the original PATHspider (pspdr-peer) with some of its documented bugs fixed.

Used by make_golden.py to produce *reference* outputs where the original's behaviour differs from
its manual in a way that changes how packets are split into flows or stops the run, so that the
rest of its output can still be compared with ours flow by flow. Each patch is named after, and
documented in, a section of docs/differences.md:

  evil-keeps-flow    "evil chain: its hook always returns true"
  tcp-options-stop   "TCP option parser: stops at an invalid length"
  tfo-expb-option    "tfo chain: the cookie of experimental option 255"
  first-syn-wins     "tcp and dscp chains: the first SYN of a direction wins"
  dns-tcp-one-byte   "dns chain: DNS over TCP with a payload of one byte"

    PSPDR_PATCHES=evil-keeps-flow,tcp-options-stop tests/pcap/peer_patched.py observe -i X basic evil

With --batch it reads jobs from stdin, one JSON object a line ({"uri", "chains", "patches",
"output", "timeout"}), and runs each in a forked child (pathspider imported once: much faster
than one process per run), with what `observe` does: the chains in the order given, the observer's
flows as `json.dumps` lines in "output". It prints one JSON result a line: {"status": "ok" |
"hang" | "died", "reason"}. "died" is an exception in the observer, which makes the real `observe`
hang.
"""

import os
import runpy
import sys

PEER = os.environ.get("PSPDR_PEER", "/work/shared/peer/pspdr-peer")
# pspdr-peer's own workarounds (plt.trace) must be in place before pathspider is imported
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(PEER)), "lib"))
import pltfix  # noqa: E402,F401

import pathspider.chains.dns as dns  # noqa: E402
import pathspider.chains.dscp as dscp  # noqa: E402
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


def first_syn_wins():
    tcp_hook = tcp.TCPChain.tcp

    def patched_tcp(self, rec, segment, rev):
        # the fix: a later SYN does not overwrite the flags of the first one; the rest of the
        # original's hook (3WHS, FIN/RST, completion) runs on the first SYN's flags
        key = "tcp_synflags_rev" if rev else "tcp_synflags_fwd"
        first = rec[key]
        if first is None or not segment.syn_flag:
            return tcp_hook(self, rec, segment, rev)
        rec[key] = None  # so that the original's code can run, then put the first flags back
        saved = {k: rec[k] for k in ("tcp_connected",)}
        result = tcp_hook(self, rec, segment, rev)
        rec[key] = first
        # the 3WHS test ran with the later SYN's flags: redo it with the first ones
        rec["tcp_connected"] = saved["tcp_connected"]
        if (not rec["tcp_connected"] and not rev and rec["tcp_synflags_fwd"] is not None and
                rec["tcp_synflags_rev"] is not None and
                rec["tcp_synflags_fwd"] & tcp.TCP_SYN == tcp.TCP_SYN and
                rec["tcp_synflags_rev"] & tcp.TCP_SA == tcp.TCP_SA and segment.ack_flag):
            rec["tcp_connected"] = True
        return result

    def dscp_extract(self, rec, ip, rev):
        # the fix: the first SYN and the first data packet of a direction win, zero included
        mark = ip.traffic_class >> 2
        if ip.tcp:
            if ip.tcp.flags & tcp.TCP_SYN == tcp.TCP_SYN:
                key = "dscp_mark_syn_rev" if rev else "dscp_mark_syn_fwd"
                if rec[key] is None:
                    rec[key] = mark
                return True
            if ip.tcp.payload is None:
                return True
        key = "dscp_mark_data_rev" if rev else "dscp_mark_data_fwd"
        if rec[key] is None:
            rec[key] = mark
        return True

    tcp.TCPChain.tcp = patched_tcp
    dscp.DSCPChain._dscp_extract = dscp_extract


def dns_tcp_one_byte():
    tcp_hook = dns.DNSChain.tcp

    def patched(self, rec, segment, rev):
        # the fix: a one-byte payload holds no length prefix; pldns would hand ldns a size of -1
        # and parse whatever memory follows
        if segment.payload is not None and len(segment.payload.data) < 2:
            return not rec["dns_response_valid"]
        return tcp_hook(self, rec, segment, rev)

    dns.DNSChain.tcp = patched


PATCHES = {
    "evil-keeps-flow": evil_keeps_flow,
    "tcp-options-stop": tcp_options_stop,
    "tfo-expb-option": tfo_expb_option,
    "first-syn-wins": first_syn_wins,
    "dns-tcp-one-byte": dns_tcp_one_byte,
}

def run_job(job):
    """In a forked child: apply the patches, observe, write the flows; never returns."""
    import json
    import traceback
    try:
        for name in job["patches"]:
            PATCHES[name]()
        from pathspider.base import SHUTDOWN_SENTINEL
        from pathspider.cmd.observe import chains as loaded
        from pathspider.observer import Observer
        chosen = [c for n in job["chains"] for c in loaded if n.lower() + "chain" == c.__name__.lower()]
        with open(job["output"], "w") as out:
            class Sink:
                def put(self, flow):
                    if flow != SHUTDOWN_SENTINEL:
                        out.write(json.dumps(flow) + "\n")
            Observer(job["uri"], chosen).run_flow_enqueuer(Sink())
        os._exit(0)
    except BaseException as e:  # noqa: B036  (report whatever killed the observer)
        traceback.print_exc()
        with open(job["output"] + ".error", "w") as f:
            f.write("%s: %s" % (type(e).__name__, e))
        os._exit(3)


def batch():
    import json
    import signal
    import time
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_job(job)
        deadline = time.monotonic() + job["timeout"]
        status = None
        while status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = "ok" if os.waitstatus_to_exitcode(code) == 0 else "died"
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "hang"
            else:
                time.sleep(0.01)
        reason = ""
        if status == "died" and os.path.exists(job["output"] + ".error"):
            with open(job["output"] + ".error") as f:
                reason = "observer thread died: " + f.read()
            os.unlink(job["output"] + ".error")
        elif status == "hang":
            reason = "no end of output within %d s (observer loops)" % job["timeout"]
        print(json.dumps({"status": status, "reason": reason}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--batch"]:
        batch()
        sys.exit(0)
    for name in filter(None, os.environ.get("PSPDR_PATCHES", "").split(",")):
        PATCHES[name]()
    sys.argv[0] = PEER
    runpy.run_path(PEER, run_name="__main__")

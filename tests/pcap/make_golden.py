#!/usr/bin/env python3
"""Regenerate the golden fixtures: the original PATHspider's `observe` output on every sample capture.

Runs the original (through /work/shared/peer/pspdr-peer, or $PSPDR_PEER) on each capture of
Debian's pathspider test data with a set of chain selections and writes

    tests/pcap/golden/<capture>.<selection>.ndjson[.gz]   what the original printed, one flow a line
    tests/pcap/golden/manifest.json                        one entry per (capture, selection)

A run that does not finish within the time limit is recorded as a hang (the original's observer
thread either loops forever on a TCP option of length 0, or dies on an exception while the main
thread waits forever for its end-of-output sentinel); what it printed before it hung is kept as
`<capture>.<selection>.partial.ndjson[.gz]`.

The fixtures are the contract: the test suite never runs the original.  Rerun with

    python3 tests/pcap/make_golden.py [--jobs 2] [--timeout 60] [CAPTURE ...]

CAPTURE is a file name of Debian's sample captures or crafted/NAME for tests/pcap/crafted/.

PYTHONHASHSEED is pinned so that the original's emission order (Python set order) is stable
between reruns; the golden test compares flows as multisets anyway.
"""

import argparse
import concurrent.futures
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data"
CRAFTED = os.path.join(HERE, "crafted")  # written by make_crafted.py
PEER = os.environ.get("PSPDR_PEER", "/work/shared/peer/pspdr-peer")

ALL_CHAINS = ["basic", "dns", "dscp", "ecn", "evil", "icmp", "mss", "tcp", "tfo", "udp", "noop"]
# Selection name -> chain list. A chain that completes flows (tcp, dns, icmp) changes how packets
# are split into flows, so every chain is also run alone with basic.
SELECTIONS = {"all": ALL_CHAINS, "basic": ["basic"]}
for _chain in ALL_CHAINS[1:]:
    SELECTIONS["basic-" + _chain] = ["basic", _chain]

# Patches of peer_patched.py (each a documented difference) and the chains they concern. Where one
# applies, the original also runs patched, and a differing output is kept as the *reference*
# that the golden test compares with (the unpatched output stays as the fixture).
PATCHES = {
    "evil-keeps-flow": {"evil"},
    "tcp-options-stop": {"mss", "tfo"},
    "tfo-expb-option": {"tfo"},
    "first-syn-wins": {"tcp", "dscp"},
    "dns-tcp-one-byte": {"dns"},
}
PATCHED_PEER = os.path.join(HERE, "peer_patched.py")

GZIP_ABOVE = 64 * 1024  # bytes of output above which a fixture is stored gzipped


def count_packets(path):
    """Packets in a classic pcap or pcapng file (enhanced, simple and obsolete packet blocks)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    elif magic == b"\x0a\x0d\x0d\x0a":
        return _count_pcapng(data)
    else:
        raise ValueError(path + ": not a capture file")
    n, off = 0, 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, off + 8)[0]
        off += 16 + incl
        n += 1
    return n


def _count_pcapng(data):
    n, off, end = 0, 0, "<"
    while off + 12 <= len(data):
        btype = struct.unpack_from(end + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(end + "I", data, off + 4)[0]
        if btype in (2, 3, 6):
            n += 1
        off += blen
    return n


def patches_for(chains):
    return [name for name, concerned in PATCHES.items() if concerned & set(chains)]


def run_one(capture, selection, timeout, patches=()):
    """Run the original once (with `patches` applied); return (manifest entry, output bytes)."""
    path = capture_path(capture)
    with open(path, "rb") as f:
        pcapng = f.read(4) == b"\x0a\x0d\x0d\x0a"
    # The original reads pcapng only through libtrace's "pcap:" format (see the peer's README).
    uri = ("pcap:" if pcapng else "") + path
    chains = SELECTIONS[selection]
    env = dict(os.environ, PYTHONHASHSEED="0", PSPDR_PATCHES=",".join(patches))
    rfd, wfd = os.pipe()
    # Output through a pipe of its own: the original's log lines and tracebacks go to stderr,
    # and `--output` is opened with truncation, which a pipe does not mind.
    cmd = [PATCHED_PEER if patches else PEER, "observe", "-i", uri, "--output", "/dev/fd/%d" % wfd,
           *chains]
    errpath = os.path.join(GOLDEN, ".stderr.%s.%s%s" % (capture_stem(capture), selection,
                                                       ".patched" if patches else ""))
    with open(errpath, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, pass_fds=(wfd,), env=env)
    os.close(wfd)
    out = bytearray()
    os.set_blocking(rfd, False)
    deadline = time.monotonic() + timeout
    status = None
    while True:
        try:
            chunk = os.read(rfd, 1 << 16)
        except BlockingIOError:
            chunk = None
        if chunk:
            out += chunk
            continue
        rc = proc.poll()
        if rc is not None and chunk == b"":
            status = "ok" if rc == 0 else "error"
            break
        # An exception in the observer thread leaves the main thread waiting forever: no need
        # to wait for the time limit once the traceback is out.
        with open(errpath, "rb") as e:
            died = b"Exception in thread" in e.read()
        if died or time.monotonic() > deadline:
            time.sleep(0.5 if died else 0)
            proc.kill()
            proc.wait()
            status = "hang"
            break
        time.sleep(0.05)
    try:
        while True:
            os.set_blocking(rfd, True)
            chunk = os.read(rfd, 1 << 16)
            if not chunk:
                break
            out += chunk
    finally:
        os.close(rfd)
    with open(errpath, "rb") as e:
        stderr = e.read().decode("utf-8", "replace")
    os.unlink(errpath)

    entry = {
        "capture": capture,
        "selection": selection,
        "chains": chains,
        "status": status,
        "packets": count_packets(path),
        "flows": out.count(b"\n"),
    }
    if status == "hang":
        if "Exception in thread" in stderr:
            # the exception's own line: not indented, not a log line
            lines = [l for l in stderr.splitlines() if l and not l.startswith(
                (" ", "INFO:", "DEBUG:", "WARNING:", "ERROR:", "Traceback", "Exception in"))]
            entry["reason"] = "observer thread died: " + (lines[-1] if lines else "?")
        else:
            entry["reason"] = "no end of output within %d s (observer loops)" % timeout
    elif status == "error":
        entry["reason"] = stderr.strip().splitlines()[-1] if stderr.strip() else "exit status"
    return entry, bytes(out)


def capture_path(capture):
    """Debian's sample captures are named by file name, ours as crafted/NAME."""
    if capture.startswith("crafted/"):
        return os.path.join(CRAFTED, capture[len("crafted/"):])
    return os.path.join(DATA, capture)


def capture_stem(capture):
    return capture[:-len(".pcap")].replace("/", "-")


def fixture_name(capture, selection, kind, size):
    base = "%s.%s%s.ndjson" % (capture_stem(capture), selection, kind)
    return base + (".gz" if size > GZIP_ABOVE else "")


def write_fixture(name, out):
    path = os.path.join(GOLDEN, name)
    if name.endswith(".gz"):
        with open(path, "wb") as raw:
            # mtime 0 and no file name: the same output gives the same bytes on every rerun
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as z:
                z.write(out)
    else:
        with open(path, "wb") as f:
            f.write(out)


def store(entry, out):
    partial = entry["status"] != "ok"
    if partial and not out:
        return
    name = fixture_name(entry["capture"], entry["selection"], ".partial" if partial else "",
                        len(out))
    write_fixture(name, out)
    entry["partial" if partial else "fixture"] = name


def read_fixture(name):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        data = f.read()
    return gzip.decompress(data) if name.endswith(".gz") else data


def batch_runs(runs, timeout, jobs):
    """Runs (capture, chains, patches) with peer_patched.py --batch (pathspider imported once, one
    fork per run), `jobs` batches in parallel; returns [(status, reason, output bytes)]."""
    tmp = tempfile.mkdtemp(prefix="golden-batch-")
    results = [None] * len(runs)

    def shard(k):
        lines, idx = [], list(range(k, len(runs), jobs))
        for i in idx:
            capture, chains, patches = runs[i]
            path = capture_path(capture)
            with open(path, "rb") as f:
                uri = ("pcap:" if f.read(4) == b"\x0a\x0d\x0d\x0a" else "pcapfile:") + path
            lines.append(json.dumps({"uri": uri, "chains": chains, "patches": patches,
                                     "output": os.path.join(tmp, "%d.ndjson" % i),
                                     "timeout": timeout}))
        if not lines:
            return
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run([PATCHED_PEER, "--batch"], input="\n".join(lines) + "\n",
                              text=True, capture_output=True, env=env, check=True)
        out = [json.loads(l) for l in proc.stdout.splitlines()]
        assert len(out) == len(idx), proc.stderr[-2000:]
        for i, res in zip(idx, out):
            path = os.path.join(tmp, "%d.ndjson" % i)
            data = b""
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data = f.read()
            # an exception kills the real observe's observer thread: the command hangs
            status = "ok" if res["status"] == "ok" else "hang"
            results[i] = (status, res["reason"], data)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(shard, range(jobs)))
    finally:
        shutil.rmtree(tmp)
    return results


def add_references(entries, timeout, jobs):
    """Runs the patched original for every entry whose chains a patch concerns; keeps an output
    that differs from the fixture as the reference."""
    todo = []
    for e in entries:
        for key in ("patches", "reference", "reference_status", "reference_reason"):
            e.pop(key, None)
        patches = patches_for(e["chains"])
        if patches:
            todo.append((e, patches))
    results = batch_runs([(e["capture"], e["chains"], p) for e, p in todo], timeout, jobs)
    for (e, patches), (status, reason, out) in zip(todo, results):
        pristine = read_fixture(e["fixture"]) if "fixture" in e else None
        if status == "ok" and pristine is not None and \
                sorted(pristine.splitlines()) == sorted(out.splitlines()):
            continue  # the patches change nothing here
        e["patches"] = patches
        e["reference_status"] = status
        if status == "ok":
            name = fixture_name(e["capture"], e["selection"], ".reference", len(out))
            write_fixture(name, out)
            e["reference"] = name
        else:
            e["reference_reason"] = reason
        print("%-45s %-12s patched (%s): %s" % (e["capture"], e["selection"], ",".join(patches),
              status), file=sys.stderr)


def fast_entries(captures, timeout, jobs):
    """The unpatched runs through batch_runs instead of one `observe` command each."""
    runs = [(c, s) for c in captures for s in SELECTIONS]
    results = batch_runs([(c, SELECTIONS[s], []) for c, s in runs], timeout, jobs)
    entries = []
    for (capture, selection), (status, reason, out) in zip(runs, results):
        entry = {"capture": capture, "selection": selection, "chains": SELECTIONS[selection],
                 "status": status, "packets": count_packets(capture_path(capture)),
                 "flows": out.count(b"\n")}
        if reason:
            entry["reason"] = reason
        store(entry, out)
        entries.append(entry)
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--fast", action="store_true",
                    help="run the original's Observer in forked children of one process instead "
                         "of one `observe` command per run (same output, much faster)")
    ap.add_argument("--references-only", action="store_true",
                    help="keep the fixtures, only (re)run the patched original")
    ap.add_argument("captures", nargs="*", help="capture file names (default: all)")
    args = ap.parse_args()

    os.makedirs(GOLDEN, exist_ok=True)
    captures = args.captures or (
        sorted(f for f in os.listdir(DATA) if f.endswith(".pcap")) +
        sorted("crafted/" + f for f in os.listdir(CRAFTED) if f.endswith(".pcap")))
    manifest_path = os.path.join(GOLDEN, "manifest.json")
    old = []
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
    stems = {capture_stem(c) for c in captures}

    def ours(name, kinds):
        stem, rest = name.split(".", 1)
        return stem in stems and any(k in rest for k in kinds)

    # Remove the files about to be regenerated (names may change with size and status).
    kinds = (".reference.",) if args.references_only else (".",)
    for name in os.listdir(GOLDEN):
        if name != "manifest.json" and not name.startswith(".") and ours(name, kinds):
            os.unlink(os.path.join(GOLDEN, name))

    if args.references_only:
        entries = [e for e in old if e["capture"] in captures]
        old = [e for e in old if e["capture"] not in captures]
    elif args.fast:
        old = [e for e in old if e["capture"] not in captures]
        entries = fast_entries(captures, args.timeout, args.jobs)
    else:
        old = [e for e in old if e["capture"] not in captures]
        runs = [(c, s) for c in captures for s in SELECTIONS]
        entries = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, c, s, args.timeout) for c, s in runs]
            for fut in concurrent.futures.as_completed(futures):
                entry, out = fut.result()
                store(entry, out)
                entries.append(entry)
                print("%-45s %-12s %-5s %6d flows %s" % (
                    entry["capture"], entry["selection"], entry["status"], entry["flows"],
                    entry.get("reason", "")), file=sys.stderr)

    add_references(entries, args.timeout, args.jobs)

    order = list(SELECTIONS)
    entries = sorted(old + entries, key=lambda e: (e["capture"], order.index(e["selection"])))
    with open(manifest_path, "w") as f:
        # one entry a line: easy to read and to diff between reruns
        f.write("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A user-space delay element for the testbed's router (this kernel has no netem).

Creates a TUN device; the router routes target-bound packets into it. Each packet is held for the
delay configured for its destination address, then written back to the device, where a policy
route (`ip rule iif <dev>`) sends it on to the server. Packets to an address with no delay pass
after 0 ms. Prints "ready" on stdout once the device exists; stops on SIGTERM/SIGINT.

    tundelay.py DEV CONFIG      (CONFIG: lines "ADDRESS MILLISECONDS")
"""
import fcntl
import heapq
import ipaddress
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main() -> int:
    dev, config = sys.argv[1], sys.argv[2]
    delays = {}
    with open(config) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                delays[ipaddress.ip_address(parts[0]).packed] = int(parts[1]) / 1000.0
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    print("ready", flush=True)
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    held = []  # (release time, sequence, packet)
    seq = 0
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    while running[0]:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, pkt = heapq.heappop(held)
            try:
                os.write(fd, pkt)
            except OSError:
                pass  # e.g. no route for an odd packet: drop it, like a router would
        timeout = 200 if not held else max(0, int((held[0][0] - now) * 1000) + 1)
        try:
            events = poll.poll(timeout)
        except InterruptedError:
            continue
        if not events:
            continue
        for _ in range(256):
            try:
                pkt = os.read(fd, 65536)
            except BlockingIOError:
                break
            version = pkt[0] >> 4
            dst = pkt[16:20] if version == 4 else pkt[24:40]
            heapq.heappush(held, (time.monotonic() + delays.get(dst, 0.0), seq, pkt))
            seq += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

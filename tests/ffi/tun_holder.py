"""Creates TUN device argv[1] (no packet-info header) and reads from it until killed.

Helper of capture_live_test.ts: a TUN device only carries packets while a process holds it open.
"""
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
print("ready", flush=True)
while True:
    os.read(fd, 65536)

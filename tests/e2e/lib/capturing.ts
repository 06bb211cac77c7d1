/**
 * Readiness of a live capture, for tests that start `observe` on an interface and then make
 * traffic: a fixed wait fails on a busy host. A packet socket bound to the interface (a line of
 * the namespace's /proc/net/packet names its index) captures everything that crosses it from then
 * on.
 *
 * @module
 */
import { sh } from "./netns.ts";

/** Packet sockets bound to `iface` in namespace `ns` (the current one when undefined). */
export async function packetSockets(iface: string, ns?: string): Promise<number> {
  const index = (await sh(["cat", `/sys/class/net/${iface}/ifindex`], ns)).trim();
  const lines = (await sh(["cat", "/proc/net/packet"], ns)).trim().split("\n").slice(1);
  // columns: sk RefCnt Type Proto Iface R Rmem User Inode
  return lines.filter((l) => l.trim().split(/\s+/)[4] === index).length;
}

/** Waits until `iface` has more than `before` packet sockets (up to 20 s, then throws). */
export async function capturing(iface: string, ns?: string, before = 0): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    if (await packetSockets(iface, ns) > before) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no capture started on ${iface} within 20 s`);
}

/**
 * Helper process for capture_live_test.ts, run inside a network namespace with `ip netns exec`.
 *
 * `capture IFACE MS`: captures with the "ip" filter, prints "ready", then after MS ms one JSON
 * line: per-packet summaries (direction, link type, wire length, IPv4 protocol, ToS, ICMP type)
 * and the stats, or the code and message of a `CaptureError` thrown while capturing.
 * `filtered IFACE MS SPEC`: captures with the filter SPEC, prints "ready", then after MS ms one
 * JSON line: per packet [IP version, protocol or next header, source port, destination port,
 * ICMP type] (ports -1 for ICMP, the type -1 for TCP/UDP) and the stats.
 * `open IFACE`: prints the error code and message of opening IFACE (code 0 if it opened).
 * `hold IFACE MS`: opens a 1 MiB ring, prints "ready", reads nothing for MS ms, then prints the
 * stats, the number of packets still in the ring, and the stats again.
 */
import { CaptureError, CaptureSource, PacketBatch } from "../../src/ffi/capture.ts";

const [mode, iface, ms] = Deno.args;
if (iface === undefined) throw new Error("usage: live_probe.ts MODE IFACE [MS ...]");
const out = (v: unknown) => console.log(JSON.stringify(v));

if (mode === "open") {
  try {
    CaptureSource.openLive(iface).close();
    out({ code: 0 });
  } catch (e) {
    out({ code: e instanceof CaptureError ? e.code : "not a CaptureError", message: String(e) });
  }
} else if (mode === "hold") {
  // "ip": an ARP exchange after the flood (neighbour revalidation) would arrive after the last
  // read and be counted as received but never delivered
  const src = CaptureSource.openLive(iface, { ringMiB: 1, filter: "ip" });
  console.log("ready");
  await new Promise((r) => setTimeout(r, Number(ms)));
  const before = src.stats();
  const batch = new PacketBatch();
  let delivered = 0;
  while (await src.next(batch, 100) > 0) delivered += batch.count;
  out({ before, delivered, after: src.stats() });
  src.close();
} else if (mode === "filtered") {
  const src = CaptureSource.openLive(iface, { filter: Deno.args[3], ringMiB: 2 });
  const batch = new PacketBatch();
  console.log("ready");
  const end = Date.now() + Number(ms);
  const packets: number[][] = [];
  while (Date.now() < end) {
    await src.next(batch, 50);
    for (const off of batch.offsets()) {
      const f = batch.frameOffset(off) + (batch.linktype(off) === 1 ? 14 : 0);
      const b = batch.buf;
      const version = b[f]! >> 4;
      const proto = version === 4 ? b[f + 9]! : b[f + 6]!;
      const l4 = version === 4 ? f + (b[f]! & 15) * 4 : f + 40;
      const ported = proto === 6 || proto === 17;
      packets.push([
        version,
        proto,
        ported ? batch.view.getUint16(l4) : -1,
        ported ? batch.view.getUint16(l4 + 2) : -1,
        ported ? -1 : b[l4]!,
      ]);
    }
  }
  out({ packets, stats: src.stats() });
  src.close();
} else {
  const src = CaptureSource.openLive(iface, { filter: "ip", ringMiB: 2 });
  const batch = new PacketBatch();
  console.log("ready");
  const end = Date.now() + Number(ms);
  const packets: number[][] = [];
  try {
    while (Date.now() < end) {
      await src.next(batch, 50);
      for (const off of batch.offsets()) {
        const f = batch.frameOffset(off);
        // Ethernet: IP after 14 bytes; raw IP (TUN): at once, its version gives the type.
        const raw = batch.linktype(off) === 101;
        const ethertype = raw
          ? (batch.buf[f]! >> 4 === 4 ? 0x0800 : 0x86dd)
          : batch.view.getUint16(f + 12);
        const ip = raw ? f : f + 14;
        const isV4 = ethertype === 0x0800;
        packets.push([
          batch.direction(off),
          batch.linktype(off),
          batch.wireLen(off),
          batch.caplen(off),
          ethertype,
          isV4 ? batch.buf[ip + 9]! : -1, // protocol
          isV4 ? batch.buf[ip + 1]! : -1, // ToS
          isV4 ? batch.buf[ip + 20]! : -1, // ICMP type
          batch.tsSec(off),
        ]);
      }
    }
    out({ packets, stats: src.stats() });
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    out({ code: e.code, message: e.message, packets: packets.length });
  } finally {
    src.close();
  }
}

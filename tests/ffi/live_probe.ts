/**
 * Helper process for capture_live_test.ts, run inside a network namespace with `ip netns exec`.
 *
 * `capture IFACE MS`: captures with the "ip" filter, prints "ready", then after MS ms one JSON
 * line: per-packet summaries (direction, link type, wire length, IPv4 protocol, ToS, ICMP type)
 * and the stats, or the code and message of a `CaptureError` thrown while capturing.
 * `open IFACE`: prints the error code and message of opening IFACE (code 0 if it opened).
 */
import { CaptureError, CaptureSource, PacketBatch } from "../../src/ffi/capture.ts";

const [mode, iface, ms] = Deno.args;
const out = (v: unknown) => console.log(JSON.stringify(v));

if (mode === "open") {
  try {
    CaptureSource.openLive(iface).close();
    out({ code: 0 });
  } catch (e) {
    out({ code: e instanceof CaptureError ? e.code : "not a CaptureError", message: String(e) });
  }
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
        const ethertype = batch.view.getUint16(f + 12);
        const ip = f + 14;
        const isV4 = ethertype === 0x0800;
        packets.push([
          batch.direction(off),
          batch.linktype(off),
          batch.wireLen(off),
          batch.caplen(off),
          ethertype,
          isV4 ? batch.buf[ip + 9] : -1, // protocol
          isV4 ? batch.buf[ip + 1] : -1, // ToS
          isV4 ? batch.buf[ip + 20] : -1, // ICMP type
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

/**
 * Helper process for forge_raw_test.ts, run inside a fresh network namespace (only `lo` up):
 * captures on `lo`, sends a batch of forged packets through `RawSender` (one of them to an
 * address without a route), and prints one JSON line: the per-packet statuses, which packets
 * came back from the capture byte for byte, the error of a malformed batch and of a closed
 * sender.
 */
import { CaptureError, CaptureSource, PacketBatch } from "../../src/ffi/capture.ts";
import { RawSender } from "../../src/ffi/raw.ts";
import { buildPacket } from "../../src/wire/build.ts";
import { TCP_SYN } from "../../src/wire/tcp.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const payload = new TextEncoder().encode("pathspider forge test");
const packets = [
  buildPacket({
    src: "127.0.0.1",
    dst: "127.0.0.1",
    id: 4242,
    evil: true,
    l4: { proto: "udp", sport: 61000, dport: 9, payload, zeroChecksum: true },
  }),
  buildPacket({
    src: "127.0.0.1",
    dst: "198.19.0.1", // no route in this namespace
    l4: { proto: "udp", sport: 61001, dport: 9, payload },
  }),
  buildPacket({
    src: "::1",
    dst: "::1",
    tos: 0xb8,
    l4: { proto: "udp", sport: 61002, dport: 9, payload, udpOptions: Uint8Array.of(1, 0) },
  }),
  buildPacket({
    src: "127.0.0.1",
    dst: "127.0.0.1",
    id: 4243,
    l4: { proto: "tcp", sport: 61003, dport: 9, flags: TCP_SYN, seq: 77 },
  }),
];

const cap = CaptureSource.openLive("lo", { filter: "ip" });
const raw = RawSender.open();
const statuses = [...raw.send(packets)];
const seen = new Set<string>();
const batch = new PacketBatch();
const end = Date.now() + 1500;
while (Date.now() < end && seen.size < 3) {
  const n = await cap.next(batch, 100);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const caplen = batch.view.getUint32(off + 8, true);
    // loopback frames carry a 14-byte Ethernet header of zeros
    seen.add(hex(batch.buf.subarray(off + 20 + 14, off + 20 + caplen)));
    off += (20 + caplen + 3) & ~3;
  }
}
cap.close();
let malformed: unknown = null;
try {
  raw.send([new Uint8Array(10).fill(0x45)]);
} catch (e) {
  malformed = e instanceof CaptureError ? e.code : String(e);
}
raw.close();
raw.close();
const afterClose = await raw.queue(packets[0]!);
console.log(JSON.stringify({
  statuses,
  onWire: packets.map((p) => seen.has(hex(p))),
  malformed,
  afterClose,
  counters: [raw.sent, raw.failed],
}));

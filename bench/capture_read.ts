/**
 * Capture-file read speed through the TypeScript wrapper, no parsing: reads FILE N times and
 * prints packets/s. `deno run -A bench/capture_read.ts FILE [N]` (default: the original's
 * real.pcap, 100 times). The Rust path alone: `cd capture-ffi && cargo run --release --example
 * read_speed -- FILE [N]`.
 * @module
 */
import { CaptureSource, PacketBatch } from "../src/ffi/capture.ts";

const file = Deno.args[0] ?? "/usr/lib/python3/dist-packages/pathspider/tests/data/real.pcap";
const loops = Number(Deno.args[1] ?? 100);
const batch = new PacketBatch();
let packets = 0;
const t0 = performance.now();
for (let i = 0; i < loops; i++) {
  const src = CaptureSource.openFile(file);
  while (src.nextSync(batch) >= 0) packets += batch.count;
  src.close();
}
const s = (performance.now() - t0) / 1000;
console.log(
  `capture_read: ${packets} packets in ${s.toFixed(3)} s = ${
    (packets / s / 1e6).toFixed(1)
  } M packets/s`,
);

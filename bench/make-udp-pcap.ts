/**
 * Writes a capture of small UDP datagrams (64-byte frames) for the live-capture benchmark: the
 * packet rate a sender reaches is highest with small packets. Deterministic.
 *   deno run -A bench/make-udp-pcap.ts [OUT] [PACKETS] [FLOWS]
 *   (default bench/out/udp-small.pcap, 500000 packets, 5000 flows)
 *
 * @module
 */
import { addr, buildFrame, PcapFile } from "../examples/lib/synth.ts";

const out = Deno.args[0] ?? new URL("./out/udp-small.pcap", import.meta.url).pathname;
const packets = Number(Deno.args[1] ?? 500_000);
const flows = Number(Deno.args[2] ?? 5000);
await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
const src = addr("198.18.0.2");
const dsts = Array.from({ length: 250 }, (_, i) => addr(`198.19.0.${i + 1}`));
const w = new PcapFile(out);
const t0 = 1700000000;
for (let i = 0; i < packets; i++) {
  const f = i % flows;
  // 14 + 20 + 8 + 22 bytes: a 64-byte frame without the FCS
  w.add(
    t0 + i * 1e-5,
    buildFrame({
      src,
      dst: dsts[f % dsts.length]!,
      proto: 17,
      sport: 10000 + Math.floor(f / dsts.length),
      dport: 9,
      payloadLen: 22,
      dscp: f % 7 === 0 ? 46 : 0,
    }),
  );
}
w.close();
console.error(`make-udp-pcap: wrote ${w.count} packets of ${flows} flows to ${out}`);

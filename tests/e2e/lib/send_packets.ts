/**
 * Sends forged packets from the namespace it runs in, through the tool's own packet builder and
 * raw sender: stdin is a JSON array of packet specs (`PacketSpec` of src/wire/build.ts, option
 * and payload bytes as arrays of numbers), sent in order with `gapMs` between them (argv[0],
 * default 20).
 *
 *     ip netns exec NS deno run -A tests/e2e/lib/send_packets.ts 20 < specs.json
 *
 * @module
 */
import { RawSender } from "../../../src/ffi/raw.ts";
import { buildPacket, type PacketSpec } from "../../../src/wire/build.ts";

const gap = Number(Deno.args[0] ?? 20);
let text = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) text += chunk;
const specs = JSON.parse(text) as PacketSpec[];
const raw = RawSender.open();
try {
  for (const spec of specs) {
    const l4 = spec.l4 as unknown as Record<string, unknown>;
    for (const k of ["options", "payload", "udpOptions"]) {
      if (Array.isArray(l4[k])) l4[k] = new Uint8Array(l4[k] as number[]);
    }
    const status = raw.send([buildPacket(spec)])[0]!;
    if (status !== 0) throw new Error(`send failed: errno ${-status}`);
    await new Promise((r) => setTimeout(r, gap));
  }
} finally {
  raw.close();
}

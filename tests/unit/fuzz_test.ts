/**
 * Robustness: random and mutated packets through the observer with every chain of the registry.
 * Nothing may throw, every packet must be accounted for, and every record must serialise.
 * Deterministic: a fixed seed.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as c from "./craft.ts";
import { Observer } from "../../src/observer/observer.ts";
import { chainNames, makeChains } from "../../src/chains/registry.ts";
import { NdjsonWriter } from "../../src/observer/pyjson.ts";
import { CaptureSource, PacketBatch } from "../../src/ffi/capture.ts";
import { rng } from "../../examples/lib/synth.ts";

const DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";
const LINKTYPES = [1, 101, 113, 276, 228, 229, 12, 0, 9999];

/** Frames (with link types) of the original's sample captures, read with our reader. */
function sampleFrames(): { frame: Uint8Array; linktype: number }[] {
  const out: { frame: Uint8Array; linktype: number }[] = [];
  for (const e of Deno.readDirSync(DATA)) {
    if (!e.name.endsWith(".pcap") || e.name === "real.pcap") continue;
    const src = CaptureSource.openFile(`${DATA}/${e.name}`);
    const b = new PacketBatch(1 << 20);
    try {
      while (src.nextSync(b) > 0) {
        let off = 0;
        for (let i = 0; i < b.count; i++) {
          out.push({ frame: b.frame(off).slice(), linktype: b.linktype(off) });
          off = b.nextOffset(off);
        }
      }
    } finally {
      src.close();
    }
  }
  return out;
}

/** A crafted packet of some kind, so that mutations also hit ICMP quotations and IPv6 chains. */
function craftedFrames(): Uint8Array[] {
  const A = "198.18.0.1", B = "198.18.0.2", A6 = "fd00::1", B6 = "fd00::2";
  const syn = c.ip4(
    { src: A, dst: B, proto: 6 },
    c.tcp({ sport: 1, dport: 2, flags: 2, options: [2, 4, 5, 0xb4, 34, 2, 254, 4, 0xf9, 0x89] }),
  );
  const syn6 = c.ip6(
    { src: A6, dst: B6, proto: 6, ext: [{ type: 0 }, { type: 44 }] },
    c.tcp({ sport: 1, dport: 2, flags: 2, options: [2, 4, 5, 0xa0] }),
  );
  return [
    c.ether(syn),
    c.ether(syn6),
    c.ether(c.ip4({ src: B, dst: A, proto: 1 }, c.icmp(3, 3, syn))),
    c.ether(c.ip6({ src: B6, dst: A6, proto: 58 }, c.icmp(1, 4, syn6))),
    c.ether(
      c.ip4(
        { src: A, dst: B, proto: 17 },
        c.udp({ sport: 5353, dport: 53, payload: [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0] }),
      ),
    ),
    c.ether(
      c.ip4(
        { src: A, dst: B, proto: 6 },
        c.tcp({
          sport: 53,
          dport: 2,
          flags: 0x18,
          payload: [0, 12, 0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0],
        }),
      ),
    ),
  ];
}

Deno.test("fuzz: 120,000 random and mutated packets through every chain never throw", () => {
  const rnd = rng(0x5eed2026);
  const samples = sampleFrames();
  assert(samples.length > 100, "the original's sample captures are readable");
  const crafted = craftedFrames().map((frame) => ({ frame, linktype: 1 }));
  const pool = [...samples, ...crafted, ...crafted, ...crafted];
  const chains = makeChains(chainNames());
  let records = 0;
  let bytes = 0;
  const out = new NdjsonWriter((b) => bytes += b.length);
  const obs = new Observer(chains, {
    emit: (r) => {
      records++;
      out.write(r, obs.floatFields);
    },
  });
  const total = 120_000;
  let ts = 1_600_000_000;
  for (let done = 0; done < total;) {
    const pkts: c.CraftedPacket[] = [];
    for (let i = 0; i < 1000; i++, done++) {
      ts += rnd() < 0.01 ? rnd() * 100 : rnd() * 0.05;
      const kind = rnd();
      let frame: Uint8Array;
      let linktype: number;
      if (kind < 0.15) {
        // random bytes
        frame = new Uint8Array(Math.floor(rnd() * 200));
        for (let k = 0; k < frame.length; k++) frame[k] = Math.floor(rnd() * 256);
        linktype = LINKTYPES[Math.floor(rnd() * LINKTYPES.length)]!;
      } else {
        const s = pool[Math.floor(rnd() * pool.length)]!;
        frame = s.frame.slice();
        linktype = kind < 0.2 ? LINKTYPES[Math.floor(rnd() * LINKTYPES.length)]! : s.linktype;
        const flips = Math.floor(rnd() * 6);
        for (let k = 0; k < flips && frame.length; k++) {
          // bias mutations towards the headers
          const at = Math.floor(rnd() * Math.min(frame.length, rnd() < 0.8 ? 80 : frame.length));
          frame[at] = rnd() < 0.5
            ? Math.floor(rnd() * 256)
            : frame[at]! ^ (1 << Math.floor(rnd() * 8));
        }
      }
      const caplen = rnd() < 0.3 ? Math.floor(rnd() * (frame.length + 1)) : frame.length;
      pkts.push({ ts, frame, linktype, caplen });
    }
    obs.push(c.batch(pkts));
  }
  obs.flush();
  out.flush();
  const k = obs.counters;
  if (Deno.env.get("FUZZ_VERBOSE")) console.log(k);
  assertEquals(k.packets, total);
  assertEquals(records, k.flows);
  assertEquals(k.emitted, k.flows);
  assert(k.nonIp > 1000 && k.short > 100 && k.malformed > 100 && k.flows > 1000, JSON.stringify(k));
  assert(bytes > 0);
});

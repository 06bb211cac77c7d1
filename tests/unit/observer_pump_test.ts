import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { CapturePump, type PumpSource } from "../../src/observer/pump.ts";
import { PacketBatch } from "../../src/ffi/batch.ts";

/**
 * A live source that is never quiet: every read returns one record stamped with the wall clock
 * (a busy interface), after `delayMs`.
 */
function busySource(delayMs = 2): PumpSource & { reads: number } {
  const s = {
    live: true,
    reads: 0,
    async next(batch: PacketBatch, _timeoutMs: number): Promise<number> {
      s.reads++;
      await new Promise((r) => setTimeout(r, delayMs));
      const now = Date.now();
      const v = batch.view;
      v.setUint32(0, Math.floor(now / 1000), true);
      v.setUint32(4, (now % 1000) * 1e6, true);
      v.setUint32(8, 14, true);
      v.setUint32(12, 14, true);
      v.setUint16(16, 1, true);
      batch.count = 1;
      return 1;
    },
    take: () => 0,
    takeAsync: () => Promise.resolve(0),
    taken: new PacketBatch(64),
  };
  return s;
}

Deno.test("a flush on a live capture that never goes quiet completes (by a later packet)", async () => {
  const src = busySource();
  let pushed = 0;
  const pump = new CapturePump(src, { push: (b) => void (pushed += b.count) });
  const loop = pump.run();
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 3; i++) await pump.flush();
  ok(pushed > 0);
  pump.stop();
  await loop;
});

Deno.test("a stop on a live capture that never goes quiet ends once a later packet was read", async () => {
  const src = busySource(1);
  let last = 0;
  const pump = new CapturePump(src, {
    push: (b) => void (last = b.view.getUint32(0, true) + b.view.getUint32(4, true) / 1e9),
  });
  const loop = pump.run();
  await new Promise((r) => setTimeout(r, 10));
  const asked = Date.now() / 1000;
  pump.stop();
  await loop;
  // the packets the source held at the call were all read: the last one read came after it
  ok(last >= asked, `${last} < ${asked}`);
  // a flush after the end resolves at once
  await pump.flush();
});

Deno.test("a flush whose packets come stamped in the past still ends (at FLUSH_MAX_MS)", async () => {
  // a ring far behind: every packet read was captured long before the request
  const src = busySource();
  const old = src.next;
  src.next = async (b, t) => {
    const n = await old(b, t);
    b.view.setUint32(0, 1000, true);
    return n;
  };
  const pump = new CapturePump(src, { push: () => {} });
  const loop = pump.run();
  await pump.flush();
  pump.stop(false);
  await loop;
  assertEquals(pump.stopping, true);
});

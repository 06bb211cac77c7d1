/**
 * Runs our observer in-process on a capture file, as `pathspider observe -i FILE CHAINS` does,
 * and returns the ndjson lines it would print.
 *
 * @module
 */

import { makeChains } from "../../src/chains/registry.ts";
import { Observer } from "../../src/observer/observer.ts";
import { pyRecord } from "../../src/observer/pyjson.ts";
import type { FlowRecord } from "../../src/observer/chain.ts";
import { CaptureSource, PacketBatch } from "../../src/ffi/capture.ts";

const batch = new PacketBatch();

/** The flow records of `chains` on the capture at `path`, one JSON text per flow. */
export function observeCapture(path: string, chains: readonly string[]): string[] {
  const lines: string[] = [];
  const observer = new Observer(makeChains(chains), {
    emit: (rec: FlowRecord) => lines.push(pyRecord(rec, observer.floatFields)),
  });
  const source = CaptureSource.openFile(path);
  try {
    for (;;) {
      const n = source.nextSync(batch);
      if (n < 0) break;
      observer.push(batch);
    }
  } finally {
    source.close();
  }
  observer.flush();
  return lines;
}

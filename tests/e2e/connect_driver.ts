/**
 * Runs connection helpers inside a network namespace for `connect_test.ts` and the connect
 * benchmark: reads `{calls: [{mode, job, opts, timeoutMs}], concurrency}` as JSON on stdin,
 * runs them with at most `concurrency` in flight, and prints
 * `{results, elapsedMs, openSockets}` as JSON (results in call order).
 *
 *   ip netns exec NS deno run -A tests/e2e/connect_driver.ts < calls.json
 *
 * @module
 */

import { Reactor } from "../../src/ffi/sockets.ts";
import { CONNECT_HELPERS } from "../../src/connect/mod.ts";
import type { ConnectOptions, ConnResult } from "../../src/connect/mod.ts";
import type { ConnectMode } from "../../src/plugins/plugin.ts";
import type { Job } from "../../src/plugins/plugin.ts";

interface Call {
  mode: ConnectMode;
  job: Job;
  opts?: ConnectOptions;
  timeoutMs: number;
}

const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
  calls: Call[];
  concurrency?: number;
};
const reactor = Reactor.open();
const results: ConnResult[] = new Array(input.calls.length);
let next = 0;
const t0 = performance.now();
async function worker() {
  while (next < input.calls.length) {
    const i = next++;
    const c = input.calls[i]!;
    results[i] = await CONNECT_HELPERS[c.mode].run({
      job: c.job,
      opts: c.opts ?? {},
      timeoutMs: c.timeoutMs,
      reactor,
    });
  }
}
await Promise.all(Array.from({ length: input.concurrency ?? 1 }, worker));
const elapsedMs = performance.now() - t0;
const openSockets = reactor.openSockets();
reactor.close();
console.log(JSON.stringify({ results, elapsedMs, openSockets }));

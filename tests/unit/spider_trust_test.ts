import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { distrust } from "../../src/spider/trust.ts";
import { statusLine } from "../../src/spider/progress.ts";
import { DEFAULT_MAX_UNOBSERVED } from "../../src/spider/schedule.ts";

Deno.test("a run is trusted up to --max-unobserved percent of unobserved flows, no kernel drop", () => {
  assertEquals(distrust({ flows: 200, unobserved: 10, drops: 0 }, 5), null);
  assert(distrust({ flows: 200, unobserved: 11, drops: 0 }, 5)!.startsWith("5.5% of the flows"));
  assertEquals(distrust({ flows: 0, unobserved: 0, drops: 0 }, 5), null);
  assert(distrust({ flows: 200, unobserved: 0, drops: 1 }, 5)!.includes("dropped 1 packets"));
  assertEquals(distrust({ flows: 32, unobserved: 32, drops: 0 }, 100), null);
  assert(distrust({ flows: 32, unobserved: 1, drops: 0 }, 0) !== null);
  assertEquals(DEFAULT_MAX_UNOBSERVED, 5);
});

Deno.test("a status line: done of total, recent rate, unobserved, drops, ETA at the mean rate", () => {
  const src = {
    done: () => 300,
    written: () => 290,
    total: () => 1200,
    failures: () => 0,
    unobserved: () => 2,
    drops: () => 0,
  };
  assertEquals(
    statusLine(src, 10, 31.25),
    "pathspider: status: 300/1200 jobs (25%), 31.3 jobs/s, 2 unobserved flows, 0 kernel drops, " +
      "ETA 0m30s",
  );
  assertEquals(
    statusLine({ ...src, total: () => undefined }, 10, 30),
    "pathspider: status: 300 jobs, 30.0 jobs/s, 2 unobserved flows, 0 kernel drops, ETA unknown",
  );
});

Deno.test("the capture ring: 16 MiB up to -w 128, 1 MiB per 8 workers more, at most 32 MiB", async () => {
  const { ringMiB, RING_MAX_MIB } = await import("../../src/spider/ring.ts");
  assertEquals([ringMiB(1), ringMiB(100), ringMiB(200), ringMiB(256), ringMiB(2000)], [
    16,
    16,
    25,
    32,
    32,
  ]);
  assertEquals(RING_MAX_MIB, 32);
});

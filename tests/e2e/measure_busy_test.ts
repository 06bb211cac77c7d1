/**
 * A run ends whatever else is on the wire: `measure ecn` beside a ping every 2 ms on the client's
 * interface (the busy cloud VM: before, a ping every 10 ms kept the end-of-run drain
 * waiting for a quiet interface forever). The run must end with every condition right. A hang is
 * killed far above the bound (`measure --help`: connection timeout + observer expiry + a few
 * seconds) so that it fails this test instead of hanging the suite; no timing is asserted.
 */
import assert from "node:assert/strict";
import { NET, Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, resultOf, warmUp } from "./measure_run.ts";

const CLEAN = [
  "ecn.connectivity.works",
  "ecn.negotiation.succeeded",
  "ecn.ipmark.ect0.seen",
  "ecn.ipmark.ect1.not_seen",
  "ecn.ipmark.ce.not_seen",
];

/** Keep-alive HTTP requests every 2 ms, reconnecting after 200. */
const HTTP_LOOP = `
import socket, sys, time
while True:
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=1)
        for i in range(200):
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            s.recv(65536)
            time.sleep(0.002)
        s.close()
    except OSError:
        time.sleep(0.01)
`;

/** Hard kill of a run that does not end (the bound is about 2 + 2 + 3 s here). */
const HANG_KILL_MS = 60_000;

Deno.test("measure ecn ends on an interface with a ping every 2 ms, every condition right", async () => {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: [
      { name: "clean1" },
      { name: "clean2" },
      { name: "clean3" },
      { name: "noecnsyn", behaviour: ["drop-ecn-syn"] },
      { name: "offline", behaviour: ["offline"] },
    ],
  });
  try {
    await warmUp(tb);
    // the background traffic: a ping every 2 ms to each of the router's addresses, on the
    // measuring interface (before the pump, one such ping kept a run from ending for 30 s or
    // more; 10 ms or 2 ms, for ever)
    const pings = [NET.routerClient4, NET.routerClient6].map((a) =>
      tb.spawn(["ping", "-n", "-q", "-i", "0.002", a])
    );
    // and a TCP connection from an ephemeral port asking for a page every 2 ms: it passes the
    // run's capture filter, so the capture is never quiet; its flows no connection of the run
    // claims (the merger counts them)
    pings.push(tb.spawn(["python3", "-c", HTTP_LOOP, tb.target("clean3").v4!]));
    // the flood is there before the run starts
    await new Promise((r) => setTimeout(r, 300));
    const out = await measure(tb, ["ecn", "--timeout", "2"], jobsFor(tb), HANG_KILL_MS);
    for (const p of pings) await p.stop();
    assert.equal(out.code, 0, `the run did not end by itself: ${out.stderr}`);
    assert.match(out.stderr, /10 jobs, 10 results, 0 skipped lines .* 0 unobserved flows/);
    // the background connections were seen (the filter passes them) and not taken for the run's
    const unclaimed = Number(out.stderr.match(/(\d+) unclaimed flows dropped/)?.[1]);
    assert.ok(unclaimed >= 1, out.stderr);
    for (const fam of [4, 6] as const) {
      for (const n of ["clean1", "clean2", "clean3"]) {
        assert.deepEqual(resultOf(out.results, tb, n, fam).conditions, CLEAN, `${n} IPv${fam}`);
      }
      assert.deepEqual(resultOf(out.results, tb, "noecnsyn", fam).conditions, [
        "ecn.connectivity.broken",
      ]);
      assert.deepEqual(resultOf(out.results, tb, "offline", fam).conditions, [
        "ecn.connectivity.offline",
      ]);
    }
  } finally {
    await tb.destroy();
  }
});

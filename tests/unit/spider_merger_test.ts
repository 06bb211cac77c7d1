import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { flowKey, MAX_UNCLAIMED, Merger, portlessKey } from "../../src/spider/merger.ts";
import { canonicalIp } from "../../src/wire/ip.ts";
import type { FlowRecord } from "../../src/observer/chain.ts";

/** The merger's callback as a promise, for the tests. */
function waitFor(m: Merger, key: string, deadline: number): Promise<FlowRecord | null> {
  return new Promise((resolve) => m.waitFor(key, deadline, resolve));
}

function waitForPortless(
  m: Merger,
  pk: string,
  from: number,
  to: number,
  deadline: number,
): Promise<FlowRecord | null> {
  return new Promise((resolve) => m.waitForPortless(pk, from, to, deadline, resolve));
}

function clock() {
  let t = 0;
  return { now: () => t, set: (v: number) => t = v };
}

const flow = { sip: "198.18.0.2", sp: 40000, dip: "198.18.1.1", dp: 80, proto: 6, x: 1 };
const key = flowKey(6, "198.18.0.2", 40000, "198.18.1.1", 80);

Deno.test("the merger joins a connection with a flow that arrived first", async () => {
  const m = new Merger({ flowTtlMs: 1000 });
  m.addFlow(flow);
  assertEquals(await waitFor(m, key, 10), flow);
  assertEquals(m.held, 0);
});

Deno.test("the merger joins a connection with a flow that arrives later", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  const p = waitFor(m, key, 5000);
  m.addFlow(flow);
  assertEquals(await p, flow);
});

Deno.test("the merger reports null (not observed) once a waiting connection is overdue", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  const p = waitFor(m, key, 5000);
  c.set(4999);
  m.tick();
  assertEquals(m.waiting, 1);
  c.set(5000);
  m.tick();
  assertEquals(await p, null);
  assertEquals(m.waiting, 0);
});

Deno.test("the merger keys by the whole 5-tuple: another port or protocol does not match", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  m.addFlow({ ...flow, sp: 40001 });
  m.addFlow({ ...flow, proto: 17 });
  const p = waitFor(m, key, 10);
  c.set(11);
  m.tick();
  assertEquals(await p, null);
});

Deno.test("the merger matches IPv6 addresses whatever their spelling", async () => {
  const m = new Merger({ flowTtlMs: 1000 });
  m.addFlow({ sip: "fd00::2", sp: 1, dip: "fd00:0:0:0:0:0:1:1", dp: 80, proto: 6 });
  // the engine canonicalises its side once per job; the merger does the observer's
  const got = await waitFor(
    m,
    flowKey(6, canonicalIp("FD00::2"), 1, canonicalIp("fd00::1:1"), 80),
    10,
  );
  assertEquals(got?.sp, 1);
});

Deno.test("the merger forgets unclaimed flows after their time to live", () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  m.addFlow(flow);
  c.set(1001);
  m.tick();
  assertEquals(m.held, 0);
});

Deno.test("two connections waiting on one key get the flows in turn, then null", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  const first = waitFor(m, key, 100);
  const second = waitFor(m, key, 200);
  assertEquals(m.waiting, 2);
  m.addFlow(flow);
  assertEquals(await first, flow);
  c.set(150);
  m.tick();
  assertEquals(m.waiting, 1);
  c.set(200);
  m.tick();
  assertEquals(await second, null);
  assertEquals(m.waiting, 0);
});

Deno.test("an overdue waiter is given up on even when an earlier-added one is not due", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  const late = waitFor(m, key, 1000);
  const early = waitFor(m, flowKey(6, "198.18.0.2", 40001, "198.18.1.1", 80), 50);
  c.set(60);
  m.tick();
  assertEquals(await early, null);
  assertEquals(m.waiting, 1);
  m.addFlow(flow);
  assertEquals(await late, flow);
});

Deno.test("giveUp resolves every waiting connection as not observed", async () => {
  const m = new Merger({ flowTtlMs: 1000 });
  const p = waitFor(m, key, 1e12);
  m.giveUp();
  assertEquals(await p, null);
});

Deno.test("a connection without a local port takes the flow to its target that began while it ran", async () => {
  const m = new Merger({ flowTtlMs: 1000 });
  const pk = portlessKey(6, "198.18.0.2", "198.18.1.1", 443);
  // an earlier flow to the same target (another connection) and one to another port
  m.addFlow({ ...flow, dp: 443, sp: 1000, pkt_first: 99.0 });
  m.addFlow({ ...flow, dp: 80, sp: 1001, pkt_first: 100.5 });
  const p = waitForPortless(m, pk, 100.0, 102.0, 1e12);
  assertEquals(m.waiting, 1);
  m.addFlow({ ...flow, dp: 443, sp: 1002, pkt_first: 100.2 });
  assertEquals((await p)?.sp, 1002);
  // a flow already held is found at once
  const q = waitForPortless(m, pk, 98.9, 99.5, 1e12);
  assertEquals((await q)?.sp, 1000);
});

Deno.test("a port-less connection whose flow never comes is given up on", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 1000, now: c.now });
  const p = waitForPortless(m, portlessKey(6, "198.18.0.2", "198.18.1.1", 443), 1, 2, 100);
  c.set(101);
  m.tick();
  assertEquals(await p, null);
});

Deno.test("a flood of flows no connection claims is held up to a bound, the oldest dropped and counted", async () => {
  const c = clock();
  const m = new Merger({ flowTtlMs: 60_000, now: c.now });
  const p = waitFor(m, key, 50_000);
  const flood = 200_000;
  for (let i = 0; i < flood; i++) {
    // a SYN flood from spoofed sources to the measuring host: every flow its own key
    const a = `198.19.${(i >> 8) & 255}.${i & 255}`;
    m.addFlow({ sip: a, sp: 1024 + (i >> 16), dip: "198.18.0.2", dp: 80, proto: 6 });
    if (i === flood / 2) m.addFlow(flow);
  }
  assertEquals(m.held, MAX_UNCLAIMED);
  assertEquals(m.droppedFlows, flood - MAX_UNCLAIMED);
  assertEquals(m.unclaimed, flood);
  // the run's own connection got its flow in the middle of the flood
  assertEquals(await p, flow);
  // a flow that arrives after the flood is still there for its connection
  const late = { ...flow, sp: 40001 };
  m.addFlow(late);
  assertEquals(await waitFor(m, flowKey(6, flow.sip, 40001, flow.dip, 80), 50_000), late);
  // past their time to live the rest go, counted, and the table is empty
  c.set(70_000);
  m.tick();
  assertEquals([m.held, m.droppedFlows], [0, flood]);
});

Deno.test("a merger's bound is its option", () => {
  const m = new Merger({ flowTtlMs: 1000, maxUnclaimed: 3 });
  for (let i = 0; i < 5; i++) m.addFlow({ ...flow, sp: 50000 + i });
  assertEquals([m.held, m.droppedFlows], [3, 2]);
});

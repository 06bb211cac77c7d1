/**
 * The engine on fake connections and fake flows (the real helpers and observer are exercised
 * by tests/e2e/measure_*_test.ts): exactly one result per job, the sync barrier, timeouts.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type ConnectOptions, Engine, type EngineOptions } from "../../src/spider/engine.ts";
import { type FedJob, readJobs } from "../../src/spider/feeder.ts";
import type { Job } from "../../src/plugins/plugin.ts";
import { Merger } from "../../src/spider/merger.ts";
import { ecnPlugin } from "../../src/plugins/ecn.ts";
import { dscpPlugin } from "../../src/plugins/dscp.ts";
import type { ConnectMode, Setting } from "../../src/plugins/plugin.ts";

function jobsOf(n: number): AsyncGenerator<FedJob> {
  const text = Array.from(
    { length: n },
    (_, i) => JSON.stringify({ dip: `198.18.${i >> 8}.${i & 255}`, n: i }),
  ).join("\n");
  return readJobs(new Response(text).body!, { warn: () => {} });
}

function setup(over: Partial<EngineOptions> & { n: number }) {
  const results: Record<string, unknown>[] = [];
  const merger = new Merger({ flowTtlMs: 60_000 });
  let port = 30000;
  const log: string[] = [];
  const opts: EngineOptions = {
    plugin: ecnPlugin,
    args: { connect: "tcp", timeout: 1 },
    workers: 4,
    outputFlows: true,
    jobs: jobsOf(over.n),
    write: (r) => results.push(r),
    connect: (_m: ConnectMode, job: Job, o: ConnectOptions) => {
      const sp = port++;
      log.push(`connect ${job.n} tos=${o.tos ?? "-"}`);
      // the observer sees the flow a little later
      setTimeout(
        () =>
          merger.addFlow({
            sip: o.source,
            sp,
            dip: job.dip,
            dp: job.dp,
            proto: 6,
            tcp_connected: true,
            tcp_synflags_rev: 0x52,
          }),
        5,
      );
      return Promise.resolve({ sip: o.source, sp, spdr_state: 0 });
    },
    apply: (s: Setting) => log.push(`set ${s.key}=${s.value}`),
    source: { v4: "198.18.100.1", v6: "fd00::1" },
    merger,
    flowWaitMs: 2000,
    observing: true,
    ...over,
  };
  return { engine: new Engine(opts), results, log, merger };
}

Deno.test("the engine gives exactly one result per job, with the flows joined", async () => {
  const { engine, results } = await setup({ n: 10 });
  const stats = await engine.run();
  assertEquals(results.length, 10);
  assertEquals(new Set(results.map((r) => r.n)).size, 10);
  assertEquals(stats.unobserved, 0);
  const r = results[0]!;
  assertEquals(r.sip, "198.18.100.1");
  assertEquals(r.dp, 80);
  assertEquals((r.path as string[]).length, 2);
  assertEquals((r.flow_results as unknown[]).length, 2);
  assertEquals(r.missed_flows, 0);
  assertEquals((r.conditions as string[])[0], "ecn.connectivity.works");
  assertEquals(typeof (r.time as { from: string }).from, "string");
});

Deno.test("flows that reach the merger before their connections end still give one result per job", async () => {
  // as with a refused connection: the observer emits the flow on the responder's reset, before
  // the helper's promise settles
  const merger = new Merger({ flowTtlMs: 60_000 });
  let port = 40000;
  const { engine, results } = setup({
    n: 20,
    plugin: dscpPlugin,
    args: { connect: "tcp", timeout: 1, codepoint: 46 },
    merger,
    connect: (_m: ConnectMode, job: Job, o: ConnectOptions) => {
      const sp = port++;
      merger.addFlow({ sip: o.source, sp, dip: job.dip, dp: job.dp, proto: 6 });
      return Promise.resolve({ sip: o.source, sp, spdr_state: 1 });
    },
  });
  const stats = await engine.run();
  assertEquals(results.length, 20);
  assertEquals(new Set(results.map((r) => r.n)).size, 20);
  assertEquals(stats.results, 20);
  assertEquals(stats.unobserved, 0);
});

Deno.test("a job's IPv6 address meets its flows however the input spells it", async () => {
  const merger = new Merger({ flowTtlMs: 60_000 });
  let port = 50000;
  const { engine, results } = setup({
    n: 0,
    jobs: readJobs(new Response('{"dip": "FD00:0:0::1:5"}\n').body!, { warn: () => {} }),
    merger,
    connect: (_m: ConnectMode, job: Job, o: ConnectOptions) => {
      const sp = port++;
      // the observer writes addresses as inet_ntop does
      merger.addFlow({ sip: o.source, sp, dip: "fd00::1:5", dp: job.dp, proto: 6 });
      return Promise.resolve({ sip: o.source, sp, spdr_state: 0 });
    },
  });
  const stats = await engine.run();
  assertEquals(results.length, 1);
  assertEquals(results[0]!.dip, "FD00:0:0::1:5");
  assertEquals(stats.unobserved, 0);
});

Deno.test("the sync model runs every baseline of a phase before switching, then every experiment", async () => {
  const { engine, log } = setup({ n: 6, workers: 4 });
  await engine.run();
  const order = log.map((l) =>
    l.startsWith("set net.ipv4.tcp_ecn=") ? l.slice(4) : l.startsWith("connect") ? "c" : ""
  ).filter((x) => x !== "");
  assertEquals(order.join(" "), "net.ipv4.tcp_ecn=2 c c c c c c net.ipv4.tcp_ecn=1 c c c c c c");
});

Deno.test("a sync phase takes new jobs for one connection timeout, then switches", async () => {
  const { engine, log, results } = setup({
    n: 10,
    workers: 2,
    args: { connect: "tcp", timeout: 0.1 },
    connect: (_m, job, o) => {
      log.push(`connect ${job.n}`);
      return new Promise((r) => setTimeout(() => r({ sip: o.source, sp: 0, spdr_state: 0 }), 30));
    },
  });
  await engine.run();
  assertEquals(results.length, 10);
  // phases: each is a run of baselines then the same jobs' experiments
  const phases: { a: string[]; b: string[] }[] = [];
  let cur: { a: string[]; b: string[] } | undefined, inB = false;
  for (const l of log) {
    if (l === "set net.ipv4.tcp_ecn=2") phases.push(cur = { a: [], b: [] }), inB = false;
    else if (l === "set net.ipv4.tcp_ecn=1") inB = true;
    else if (l.startsWith("connect") && cur) (inB ? cur.b : cur.a).push(l);
  }
  assertEquals(phases.length >= 2, true, JSON.stringify(phases));
  assertEquals(phases[0]!.a.length > 2, true, "a worker took more than one job in a phase");
  for (const p of phases) assertEquals([...p.b].sort(), [...p.a].sort());
});

Deno.test("the desync model passes each connection its own options and needs no settings", async () => {
  const { engine, log, results } = await setup({
    n: 3,
    workers: 2,
    plugin: dscpPlugin,
    args: { connect: "tcp", timeout: 1, codepoint: 46 },
  });
  await engine.run();
  assertEquals(results.length, 3);
  assertEquals(log.filter((l) => l.startsWith("set")).length, 0);
  assertEquals(log.filter((l) => l.endsWith("tos=184")).length, 3);
  assertEquals(log.filter((l) => l.endsWith("tos=0")).length, 3);
});

for (const concurrent of [true, false]) {
  Deno.test(`a desync job starts its connections ${concurrent ? "at once when they are concurrent" : "in turn otherwise"}`, async () => {
    const events: string[] = [];
    const { engine, results } = setup({
      n: 1,
      workers: 1,
      plugin: {
        ...dscpPlugin,
        model: () => ({ kind: "desync", connections: [{ tos: 0 }, { tos: 184 }], concurrent }),
      },
      args: { connect: "tcp", timeout: 1, codepoint: 46 },
      flowWaitMs: 50,
      connect: async (_m, _j, o) => {
        events.push(`start ${o.tos}`);
        await new Promise((r) => setTimeout(r, 20));
        events.push(`end ${o.tos}`);
        return { sip: o.source, sp: 0, spdr_state: 0 };
      },
    });
    await engine.run();
    assertEquals(results.length, 1);
    assertEquals(
      events,
      concurrent
        ? ["start 0", "start 184", "end 0", "end 184"]
        : ["start 0", "end 0", "start 184", "end 184"],
    );
  });
}

Deno.test("an openOnly sync plugin opens every connection under its configuration, a job's side by side", async () => {
  let ecn = "";
  const opened: string[] = [];
  let inFlight = 0, maxInFlight = 0;
  const { engine, results } = setup({
    n: 12,
    workers: 3,
    opensAtCall: true,
    flowWaitMs: 50,
    apply: (s: Setting) => {
      if (s.key === "net.ipv4.tcp_ecn") ecn = s.value;
    },
    // the fake opens at its call, as the reactor helpers do: record the setting in force then
    connect: async (_m, job, o) => {
      opened.push(`${job.n} ecn=${ecn}`);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 10 + (Number(job.n) % 3) * 10));
      inFlight--;
      return { sip: o.source, sp: 0, spdr_state: 0 };
    },
  });
  await engine.run();
  assertEquals(results.length, 12);
  for (let n = 0; n < 12; n++) {
    // baseline (first) under tcp_ecn=2, experiment under tcp_ecn=1
    assertEquals(opened.filter((l) => l.startsWith(`${n} `)), [`${n} ecn=2`, `${n} ecn=1`]);
  }
  // 3 workers, each with both connections of its job open at once
  assertEquals(maxInFlight, 6);
});

Deno.test("a connection whose flow never comes is reported not observed and counted", async () => {
  const merger = new Merger({ flowTtlMs: 60_000 });
  const { engine, results } = await setup({
    n: 2,
    merger,
    flowWaitMs: 200,
    connect: (_m, _j, o) =>
      Promise.resolve({
        sip: o.source,
        sp: 40000 + Math.floor(Math.random() * 1000),
        spdr_state: 0,
      }),
  });
  const stats = await engine.run();
  assertEquals(results.length, 2);
  assertEquals(stats.unobserved, 4);
  assertEquals(results[0]!.missed_flows, 2);
  assertEquals(results[0]!.conditions, [
    "ecn.connectivity.works",
    "pathspider.not_observed",
    "pathspider.missed_flows:2",
  ]);
});

Deno.test("a helper that never returns is cut off by the engine's bound and the round goes on", async () => {
  let calls = 0;
  const { engine, results } = await setup({
    n: 4,
    flowWaitMs: 50,
    connectGraceMs: 100,
    args: { connect: "tcp", timeout: 0 },
    connect: (_m, job, o) => {
      calls++;
      if (job.n === 2) return new Promise(() => {}); // stuck forever
      return Promise.resolve({ sip: o.source, sp: 0, spdr_state: 1 });
    },
  });
  const t0 = performance.now();
  await engine.run();
  assertEquals(results.length, 4);
  assertEquals(calls, 8);
  const stuck = results.find((r) => r.n === 2)!;
  assertEquals((stuck.flow_results as { spdr_state: number }[]).map((f) => f.spdr_state), [2, 2]);
  assertEquals(performance.now() - t0 < 2000, true);
});

Deno.test("a helper that throws at once fails its connection and the run goes on", async () => {
  const { engine, results } = await setup({
    n: 3,
    flowWaitMs: 50,
    connect: (_m, job, o) => {
      if (job.n === 1) throw new Error("no such option here");
      return Promise.resolve({ sip: o.source, sp: 0, spdr_state: 1 });
    },
  });
  await engine.run();
  assertEquals(results.length, 3);
  const failed = results.find((r) => r.n === 1)!;
  const flows = failed.flow_results as { spdr_state: number; spdr_error?: string }[];
  assertEquals(flows.map((f) => [f.spdr_state, f.spdr_error]), [
    [1, "no such option here"],
    [1, "no such option here"],
  ]);
});

Deno.test("stop() takes no more jobs but still writes every job already taken", async () => {
  const { engine, results } = await setup({
    n: 100,
    workers: 5,
    connect: (_m, _j, o) =>
      new Promise((r) => setTimeout(() => r({ sip: o.source, sp: 0, spdr_state: 0 }), 10)),
  });
  const run = engine.run();
  await new Promise((r) => setTimeout(r, 30));
  engine.stop();
  const stats = await run;
  assertEquals(stats.taken > 0 && stats.taken < 100, true);
  assertEquals(results.length, stats.taken);
});

Deno.test("a job of a family the interface has no address for fails like the original", async () => {
  const { engine, results } = await setup({ n: 1, source: { v6: "fd00::1" } });
  await engine.run();
  assertEquals((results[0]!.conditions as string[])[0], "ecn.connectivity.offline");
  assertEquals(results[0]!.sip, null);
});

Deno.test("stop() ends a run whose input is quiet (a pipe with no more lines)", async () => {
  let first = true;
  const quiet = new ReadableStream<Uint8Array>({
    pull(c) {
      if (first) {
        first = false;
        c.enqueue(new TextEncoder().encode('{"dip":"198.18.0.1"}\n'));
        return;
      }
      return new Promise(() => {}); // never another byte
    },
  });
  const { engine, results } = setup({ n: 0, jobs: readJobs(quiet, { warn: () => {} }) });
  const run = engine.run();
  await new Promise((r) => setTimeout(r, 50));
  engine.stop();
  const stats = await run;
  assertEquals(stats.taken, 1);
  assertEquals(results.length, 1);
});

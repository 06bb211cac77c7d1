import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { tcpoptPlugin } from "../../src/plugins/tcpopt.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";
import { makeChains } from "../../src/chains/registry.ts";
import { Observer } from "../../src/observer/observer.ts";
import type { FlowRecord } from "../../src/observer/chain.ts";
import { batch, F, tcp4, tcp6 } from "./craft.ts";

const args: PluginArgs = { connect: "tcp", timeout: 5 };

function flow(config: number, spdr_state: number, extra: Record<string, unknown> = {}): FlowResult {
  return {
    observed: true,
    tcp_connected: spdr_state === 0,
    tcpopt_ts: null,
    tcpopt_ws: null,
    tcpopt_sack: null,
    ...extra,
    config,
    spdr_state,
  };
}

const UNSOLICITED_NONE = [
  "tsopt.unsolicited.not_seen",
  "wsopt.unsolicited.not_seen",
  "sack.unsolicited.not_seen",
];

Deno.test("tcpopt combineFlows reports every option negotiated on a clean path", () => {
  const c = tcpoptPlugin.combineFlows([
    flow(0, 0),
    flow(1, 0, { tcpopt_ts: true }),
    flow(2, 0, { tcpopt_ws: true }),
    flow(3, 0, { tcpopt_sack: true }),
  ], args);
  assertEquals(c, [
    "tsopt.connectivity.works",
    "wsopt.connectivity.works",
    "sack.connectivity.works",
    "tsopt.negotiation.succeeded",
    "wsopt.negotiation.succeeded",
    "sack.negotiation.succeeded",
    ...UNSOLICITED_NONE,
  ]);
});

Deno.test("tcpopt combineFlows reports failed negotiation when the SYN-ACK lacks the option", () => {
  const c = tcpoptPlugin.combineFlows([
    flow(0, 0),
    flow(1, 0),
    flow(2, 0, { tcpopt_ws: true }),
    flow(3, 0),
  ], args);
  assertEquals(c, [
    "tsopt.connectivity.works",
    "wsopt.connectivity.works",
    "sack.connectivity.works",
    "tsopt.negotiation.failed",
    "wsopt.negotiation.succeeded",
    "sack.negotiation.failed",
    ...UNSOLICITED_NONE,
  ]);
});

Deno.test("tcpopt combineFlows reports options the server sent unasked on the baseline", () => {
  const c = tcpoptPlugin.combineFlows([
    flow(0, 0, { tcpopt_ts: true, tcpopt_sack: true }),
    flow(1, 0, { tcpopt_ts: true }),
    flow(2, 0, { tcpopt_ws: true }),
    flow(3, 0, { tcpopt_sack: true }),
  ], args)!;
  assertEquals(c.slice(6), [
    "tsopt.unsolicited.seen",
    "wsopt.unsolicited.not_seen",
    "sack.unsolicited.seen",
  ]);
});

Deno.test("tcpopt combineFlows blames the option whose connection broke", () => {
  const c = tcpoptPlugin.combineFlows([
    flow(0, 0),
    flow(1, 0, { tcpopt_ts: true }),
    flow(2, 0, { tcpopt_ws: true }),
    flow(3, 2),
  ], args);
  assertEquals(c, [
    "tsopt.connectivity.works",
    "wsopt.connectivity.works",
    "sack.connectivity.broken",
    "tsopt.negotiation.succeeded",
    "wsopt.negotiation.succeeded",
    ...UNSOLICITED_NONE,
  ]);
});

Deno.test("tcpopt combineFlows reports offline, transient and not_observed", () => {
  const c = tcpoptPlugin.combineFlows([
    flow(0, 1),
    flow(1, 0, { tcpopt_ts: true }),
    flow(2, 1),
    { observed: false, config: 3, spdr_state: 2 },
  ], args);
  assertEquals(c, [
    "tsopt.connectivity.transient",
    "wsopt.connectivity.offline",
    "sack.connectivity.offline",
    "pathspider.not_observed",
    "tsopt.negotiation.succeeded",
  ]);
});

Deno.test("tcpopt switches one option on per experiment, all off for the baseline", () => {
  const m = tcpoptPlugin.model(args);
  if (m.kind !== "sync") throw new Error("not sync");
  const on = m.configurations.map((c) => c.filter((s) => s.value === "1").map((s) => s.key));
  assertEquals(on, [
    [],
    ["net.ipv4.tcp_timestamps"],
    ["net.ipv4.tcp_window_scaling"],
    ["net.ipv4.tcp_sack"],
  ]);
  for (const c of m.configurations) assertEquals(c.length, 3);
});

// SYN options: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 (Linux's order)
const ALL = [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
const MSS_ONLY = [2, 4, 5, 180];

function observe(frames: Uint8Array[]): FlowRecord[] {
  const out: FlowRecord[] = [];
  const obs = new Observer(makeChains(["basic", "tcp", "tcpopt"]), { emit: (r) => out.push(r) });
  obs.push(batch(frames.map((frame, i) => ({ ts: 1000 + i / 100, frame }))));
  obs.flush();
  return out;
}

Deno.test("tcpopt chain records the options of our SYN and of the SYN-ACK separately", () => {
  const [c, s] = ["198.18.0.2", "198.19.0.1"];
  const [f] = observe([
    tcp4(c, s, { sport: 40000, dport: 80, flags: F.SYN, options: ALL }),
    tcp4(s, c, {
      sport: 80,
      dport: 40000,
      flags: F.SYN | F.ACK,
      options: [4, 2, 1, 1, 1, 3, 3, 7],
    }),
    tcp4(c, s, { sport: 40000, dport: 80, flags: F.ACK }),
  ]);
  if (f === undefined) throw new Error("no flow record");
  assertEquals(
    [f.tcpopt_ts, f.tcpopt_ws, f.tcpopt_sack, f.tcpopt_ts_fwd, f.tcpopt_ws_fwd, f.tcpopt_sack_fwd],
    [null, true, true, true, true, true],
  );
});

Deno.test("tcpopt chain ignores options outside SYNs and leaves absent options null", () => {
  const [c, s] = ["fd00:c::2", "fd00:5::1"];
  const [f] = observe([
    tcp6(c, s, { sport: 40001, dport: 80, flags: F.SYN, options: MSS_ONLY }),
    tcp6(s, c, { sport: 80, dport: 40001, flags: F.SYN | F.ACK, options: MSS_ONLY }),
    tcp6(c, s, { sport: 40001, dport: 80, flags: F.ACK, options: ALL }),
    tcp6(s, c, { sport: 80, dport: 40001, flags: F.ACK, options: ALL }),
  ]);
  if (f === undefined) throw new Error("no flow record");
  assertEquals(
    [f.tcpopt_ts, f.tcpopt_ws, f.tcpopt_sack, f.tcpopt_ts_fwd, f.tcpopt_ws_fwd, f.tcpopt_sack_fwd],
    [null, null, null, null, null, null],
  );
});

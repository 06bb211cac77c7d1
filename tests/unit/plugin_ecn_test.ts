import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ecnPlugin } from "../../src/plugins/ecn.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";

const args: PluginArgs = { connect: "http", timeout: 5 };

function flow(config: number, spdr_state: number, extra: Record<string, unknown> = {}): FlowResult {
  return {
    observed: true,
    tcp_connected: spdr_state === 0,
    tcp_synflags_rev: 0x12,
    ecn_ect0_syn_rev: false,
    ecn_ect0_data_rev: false,
    ecn_ect1_syn_rev: false,
    ecn_ect1_data_rev: false,
    ecn_ce_syn_rev: false,
    ecn_ce_data_rev: false,
    ...extra,
    config,
    spdr_state,
  };
}

Deno.test("ecn combineFlows reports works, succeeded negotiation and ECT(0) seen on a clean path", () => {
  const c = ecnPlugin.combineFlows([
    flow(0, 0),
    flow(1, 0, { tcp_synflags_rev: 0x52, ecn_ect0_data_rev: true }),
  ], args)!;
  assertEquals(c, [
    "ecn.connectivity.works",
    "ecn.negotiation.succeeded",
    "ecn.ipmark.ect0.seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.ipmark.ce.not_seen",
  ]);
});

Deno.test("ecn combineFlows reports broken when only the ECN connection fails", () => {
  const c = ecnPlugin.combineFlows([flow(0, 0), flow(1, 2, { tcp_synflags_rev: null })], args)!;
  assertEquals(c, ["ecn.connectivity.broken"]);
});

Deno.test("ecn combineFlows reports transient when only the baseline fails", () => {
  const c = ecnPlugin.combineFlows([flow(0, 1), flow(1, 0)], args)!;
  assertEquals(c[0], "ecn.connectivity.transient");
  assertEquals(c[1], "ecn.negotiation.failed");
});

Deno.test("ecn combineFlows reports offline when both fail", () => {
  assertEquals(ecnPlugin.combineFlows([flow(0, 2), flow(1, 1)], args), [
    "ecn.connectivity.offline",
  ]);
});

Deno.test("ecn combineFlows reports reflected when the SYN-ACK echoes ECE and CWR", () => {
  const c = ecnPlugin.combineFlows([flow(0, 0), flow(1, 0, { tcp_synflags_rev: 0xd2 })], args)!;
  assertEquals(c[1], "ecn.negotiation.reflected");
});

Deno.test("ecn combineFlows reports ECT(1) and CE marks seen on SYN or data", () => {
  const c = ecnPlugin.combineFlows([
    flow(0, 0),
    flow(1, 0, { tcp_synflags_rev: 0x52, ecn_ect1_syn_rev: true, ecn_ce_data_rev: true }),
  ], args)!;
  assertEquals(c.slice(2), [
    "ecn.ipmark.ect0.not_seen",
    "ecn.ipmark.ect1.seen",
    "ecn.ipmark.ce.seen",
  ]);
});

Deno.test("ecn combineFlows marks a missing flow not observed and skips the marks", () => {
  const c = ecnPlugin.combineFlows([
    flow(0, 0),
    { config: 1, spdr_state: 0, observed: false },
  ], args)!;
  assertEquals(c, ["ecn.connectivity.works", "pathspider.not_observed"]);
});

Deno.test("ecn model switches tcp_ecn 2 then 1 and turns the fallback off for the experiment", () => {
  const m = ecnPlugin.model(args);
  assertEquals(m.kind, "sync");
  if (m.kind !== "sync") return;
  assertEquals(m.configurations[0], [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", value: "2" }]);
  assertEquals(m.configurations[1], [
    { kind: "sysctl", key: "net.ipv4.tcp_ecn", value: "1" },
    { kind: "sysctl", key: "net.ipv4.tcp_ecn_fallback", value: "0" },
  ]);
});

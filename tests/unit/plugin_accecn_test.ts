import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { accecnFeedback, accecnPlugin } from "../../src/plugins/accecn.ts";
import type { FlowResult, ForgeModel, PluginArgs } from "../../src/plugins/plugin.ts";
import { buildPacket } from "../../src/wire/build.ts";

const args: PluginArgs = { connect: "tcp", timeout: 5 };
const SA = 0x12, AE = 0x100, CWR = 0x80, ECE = 0x40;

function flow(config: number, synack: number | null): FlowResult {
  return { observed: true, tcp_synflags_rev: synack, config, spdr_state: 0 };
}

Deno.test("accecn: each AE/CWR/ECE combination of a SYN-ACK decodes as RFC 9768 Table 2", () => {
  const table: [number, ReturnType<typeof accecnFeedback>][] = [
    [0, { negotiation: "none" }],
    [ECE, { negotiation: "classic" }],
    [CWR, { negotiation: "accecn", arrived: "not-ect" }],
    [CWR | ECE, { negotiation: "accecn", arrived: "ect1" }],
    [AE, { negotiation: "accecn", arrived: "ect0" }],
    [AE | ECE, { negotiation: "classic" }],
    [AE | CWR, { negotiation: "accecn", arrived: "ce" }],
    [AE | CWR | ECE, { negotiation: "reflected" }],
  ];
  for (const [bits, want] of table) assertEquals(accecnFeedback(SA | bits), want, `bits ${bits}`);
});

Deno.test("accecn: an AccECN server's answers name what each codepoint arrived as", () => {
  // the path remarks ECT(1) to ECT(0) and drops CE SYNs
  const flows = [flow(0, SA), flow(1, SA | CWR), flow(2, SA | AE), flow(3, SA | AE), flow(4, null)];
  assertEquals(accecnPlugin.combineFlows(flows, args), [
    "accecn.connectivity.works",
    "accecn.negotiation.accecn",
    "accecn.syn.not-ect.arrived:not-ect",
    "accecn.syn.ect0.arrived:ect0",
    "accecn.syn.ect1.arrived:ect0",
    "accecn.syn.ce.unanswered",
  ]);
});

Deno.test("accecn: classic, reflecting and plain servers; broken, offline and unobserved", () => {
  const all = (synack: number | null, base: number | null = SA) => [
    flow(0, base),
    ...[1, 2, 3, 4].map((c) => flow(c, synack)),
  ];
  assertEquals(accecnPlugin.combineFlows(all(SA | ECE), args), [
    "accecn.connectivity.works",
    "accecn.negotiation.classic",
  ]);
  assertEquals(accecnPlugin.combineFlows(all(SA | AE | CWR | ECE), args), [
    "accecn.connectivity.works",
    "accecn.negotiation.reflected",
  ]);
  assertEquals(accecnPlugin.combineFlows(all(SA), args), [
    "accecn.connectivity.works",
    "accecn.negotiation.none",
  ]);
  assertEquals(accecnPlugin.combineFlows(all(null), args), ["accecn.connectivity.broken"]);
  assertEquals(accecnPlugin.combineFlows(all(null, null), args), ["accecn.connectivity.offline"]);
  // a RST is no SYN-ACK
  assertEquals(accecnPlugin.combineFlows(all(0x14), args), ["accecn.connectivity.broken"]);
  const unobserved = all(SA);
  unobserved[3] = { ...unobserved[3]!, observed: false };
  assertEquals(accecnPlugin.combineFlows(unobserved, args), ["pathspider.not_observed"]);
});

Deno.test("accecn: the forged SYNs are a bare baseline, then AE+CWR+ECE with each ECN field", () => {
  const model = accecnPlugin.model(args) as ForgeModel;
  assertEquals(model.packets, 5);
  const job = { dip: "198.18.1.2", dp: 80 };
  const got = [0, 1, 2, 3, 4].map((c) => {
    const p = buildPacket(model.forge(job, c, { addr: "198.18.0.2", port: 61000 })!);
    // IPv4 ToS byte's ECN field; TCP flags with AE, the low bit of the data-offset byte
    return [p[1]! & 3, ((p[20 + 12]! & 1) << 8) | p[20 + 13]!];
  });
  assertEquals(got, [[0, 0x002], [0, 0x1c2], [2, 0x1c2], [1, 0x1c2], [3, 0x1c2]]);
  const v6 = buildPacket(model.forge({ dip: "fd00::2", dp: 80 }, 3, { addr: "fd00::1", port: 1 })!);
  assertEquals([(v6[1]! >> 4) & 3, ((v6[40 + 12]! & 1) << 8) | v6[40 + 13]!], [1, 0x1c2]);
});

import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { dscpPlugin } from "../../src/plugins/dscp.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";

const args: PluginArgs = { connect: "http", timeout: 5, codepoint: 46 };

function flow(config: number, spdr_state: number, marks: Record<string, unknown>): FlowResult {
  return {
    observed: true,
    dscp_mark_syn_fwd: null,
    dscp_mark_syn_rev: null,
    dscp_mark_data_fwd: null,
    dscp_mark_data_rev: null,
    ...marks,
    config,
    spdr_state,
  };
}

Deno.test("dscp combineFlows reports works and both reply marks on a clean path", () => {
  const c = dscpPlugin.combineFlows([
    flow(0, 0, {
      dscp_mark_syn_fwd: 0,
      dscp_mark_data_fwd: 0,
      dscp_mark_syn_rev: 0,
      dscp_mark_data_rev: 0,
    }),
    flow(1, 0, {
      dscp_mark_syn_fwd: 46,
      dscp_mark_data_fwd: 46,
      dscp_mark_syn_rev: 0,
      dscp_mark_data_rev: 0,
    }),
  ], args);
  assertEquals(c, ["dscp.46.connectivity.works", "dscp.0.replymark:0", "dscp.46.replymark:0"]);
});

Deno.test("dscp combineFlows reports broken when the marked connection fails", () => {
  const c = dscpPlugin.combineFlows([
    flow(0, 0, { dscp_mark_syn_fwd: 0, dscp_mark_data_fwd: 0, dscp_mark_syn_rev: 0 }),
    flow(1, 2, { dscp_mark_syn_fwd: 46 }),
  ], args);
  // `0 or None` is None in the original: a zero reply mark on the SYN alone gives no condition
  assertEquals(c, ["dscp.46.connectivity.broken"]);
});

Deno.test("dscp combineFlows reports transient and offline", () => {
  const t = dscpPlugin.combineFlows([
    flow(0, 1, { dscp_mark_syn_fwd: 0 }),
    flow(1, 0, { dscp_mark_syn_fwd: 46 }),
  ], args);
  assertEquals(t, ["dscp.46.connectivity.transient"]);
  const o = dscpPlugin.combineFlows([
    flow(0, 2, { dscp_mark_syn_fwd: 0 }),
    flow(1, 2, { dscp_mark_syn_fwd: 46 }),
  ], args);
  assertEquals(o, ["dscp.46.connectivity.offline"]);
});

Deno.test("dscp combineFlows names a reply remark and a zero baseline as the original does", () => {
  // Python's `0 or None` is None: a baseline with only a SYN seen is named "dscp.None."
  const c = dscpPlugin.combineFlows([
    flow(0, 0, { dscp_mark_syn_fwd: 0, dscp_mark_syn_rev: 8 }),
    flow(1, 0, { dscp_mark_syn_fwd: 46, dscp_mark_syn_rev: 0, dscp_mark_data_rev: 12 }),
  ], args);
  assertEquals(c, ["dscp.46.connectivity.works", "dscp.None.replymark:8", "dscp.46.replymark:12"]);
});

Deno.test("dscp combineFlows gives only not_observed when a flow is missing", () => {
  const c = dscpPlugin.combineFlows([
    flow(0, 0, { dscp_mark_syn_fwd: 0 }),
    { config: 1, spdr_state: 0, observed: false },
  ], args);
  assertEquals(c, ["pathspider.not_observed"]);
});

Deno.test("dscp model marks the experiment socket with the codepoint shifted into the ToS byte", () => {
  const m = dscpPlugin.model({ ...args, codepoint: 46 });
  assertEquals(m, { kind: "desync", connections: [{ tos: 0 }, { tos: 184 }], concurrent: true });
});

Deno.test("dscp --codepoint accepts 0-63 and rejects anything else", () => {
  const parse = dscpPlugin.options[0]!.parse!;
  assertEquals(parse("63"), 63);
  assertEquals(parse("0"), 0);
  assertThrows(() => parse("64"));
  assertThrows(() => parse("-1"));
  assertThrows(() => parse("4x"));
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { mssPlugin } from "../../src/plugins/mss.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";

const args: PluginArgs = { connect: "tcp", timeout: 5 };

/** A flow record as the mss chain leaves it: both SYNs carried an MSS option by default. */
function flow(extra: Record<string, unknown> = {}): FlowResult {
  return {
    observed: true,
    tcp_connected: true,
    mss_len_fwd: 4,
    mss_len_rev: 4,
    mss_value_fwd: 1460,
    mss_value_rev: 1460,
    ...extra,
    config: 0,
    spdr_state: 0,
  };
}

Deno.test("mss combineFlows reports unchanged when the SYN-ACK's MSS equals ours", () => {
  assertEquals(mssPlugin.combineFlows([flow()], args), [
    "mss.connectivity.online",
    "mss.option.local.value:1460",
    "mss.option.remote.value:1460",
    "mss.option.received.unchanged",
  ]);
});

Deno.test("mss combineFlows reports deflated when the received MSS is lower (clamped)", () => {
  assertEquals(mssPlugin.combineFlows([flow({ mss_value_rev: 1200 })], args), [
    "mss.connectivity.online",
    "mss.option.local.value:1460",
    "mss.option.remote.value:1200",
    "mss.option.received.deflated",
  ]);
});

Deno.test("mss combineFlows reports inflated when the received MSS is higher", () => {
  assertEquals(mssPlugin.combineFlows([flow({ mss_value_fwd: 1440, mss_value_rev: 9000 })], args), [
    "mss.connectivity.online",
    "mss.option.local.value:1440",
    "mss.option.remote.value:9000",
    "mss.option.received.inflated",
  ]);
});

Deno.test("mss combineFlows reports absent when the SYN-ACK had no MSS option", () => {
  assertEquals(
    mssPlugin.combineFlows([flow({ mss_len_rev: null, mss_value_rev: null })], args),
    ["mss.connectivity.online", "mss.option.local.value:1460", "mss.option.received.absent"],
  );
});

Deno.test("mss combineFlows reports offline when the handshake did not complete", () => {
  assertEquals(
    mssPlugin.combineFlows([flow({ tcp_connected: false, mss_len_rev: null })], args),
    ["mss.connectivity.offline"],
  );
});

Deno.test("mss combineFlows reports only not_observed when the flow was not seen", () => {
  assertEquals(
    mssPlugin.combineFlows([{ observed: false, config: 0, spdr_state: 0 }], args),
    ["pathspider.not_observed"],
  );
});

Deno.test("mss combineFlows compares nothing when our SYN carried no MSS", () => {
  assertEquals(
    mssPlugin.combineFlows([flow({ mss_len_fwd: null, mss_value_fwd: null })], args),
    ["mss.connectivity.online", "mss.option.local.value:None", "mss.option.remote.value:1460"],
  );
});

Deno.test("mss uses the single model and the mss chain", () => {
  assertEquals(mssPlugin.model(args), { kind: "single" });
  assertEquals(mssPlugin.chains.includes("mss"), true);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { udpoptsPlugin } from "../../src/plugins/udpopts.ts";
import type { FlowResult, ForgeModel, PluginArgs } from "../../src/plugins/plugin.ts";
import { buildPacket } from "../../src/wire/build.ts";
import { surplusAreaValid } from "../../src/wire/udp_options.ts";

const args: PluginArgs = { connect: "dnsudp", timeout: 5 };
const f = (config: number, valid: boolean): FlowResult => ({
  observed: true,
  dns_response_valid: valid,
  config,
  spdr_state: 0,
});

Deno.test("udpopts connectivity follows the two DNS responses", () => {
  const c = (a: boolean, b: boolean) => udpoptsPlugin.combineFlows([f(0, a), f(1, b)], args);
  assertEquals(c(true, true), ["udpopts.connectivity.works"]);
  assertEquals(c(true, false), ["udpopts.connectivity.broken"]);
  assertEquals(c(false, true), ["udpopts.connectivity.transient"]);
  assertEquals(c(false, false), ["udpopts.connectivity.offline"]);
});

Deno.test("udpopts adds OCS, NOP and EOL after the query only on the experiment", () => {
  const m = udpoptsPlugin.model(args) as ForgeModel;
  const src = { addr: "198.18.0.2", port: 61000 };
  for (const domain of ["ab.example.test", "abc.example.test"]) {
    const job = { dip: "198.19.0.1", dp: 53, domain };
    const a = buildPacket(m.forge(job, 0, src)!);
    const b = buildPacket(m.forge(job, 1, src)!);
    const udpLen = (p: Uint8Array) => p[24]! << 8 | p[25]!;
    assertEquals(a.length, 20 + udpLen(a)); // no surplus area
    const end = 20 + udpLen(b);
    const area = b.subarray(end);
    assertEquals(area.length, (end & 1) + 4);
    assertEquals([...area.subarray(area.length - 2)], [1, 0]); // NOP, EOL
    assertEquals(surplusAreaValid(area, end), true);
  }
  assertEquals(udpoptsPlugin.helpText!.includes("RFC 9868"), true);
  assertEquals(udpoptsPlugin.helpText!.includes("draft-ietf-tsvwg-udp-options-45"), true);
});

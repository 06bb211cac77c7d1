import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { udpzeroPlugin } from "../../src/plugins/udpzero.ts";
import type { FlowResult, ForgeModel, PluginArgs } from "../../src/plugins/plugin.ts";
import { buildPacket } from "../../src/wire/build.ts";

const args: PluginArgs = { connect: "dnsudp", timeout: 5 };
const f = (config: number, valid: boolean, observed = true): FlowResult => ({
  observed,
  dns_response_valid: valid,
  config,
  spdr_state: 0,
});

Deno.test("udpzero connectivity follows the two DNS responses", () => {
  const c = (a: boolean, b: boolean) => udpzeroPlugin.combineFlows([f(0, a), f(1, b)], args);
  assertEquals(c(true, true), ["udpzero.connectivity.works"]);
  assertEquals(c(true, false), ["udpzero.connectivity.broken"]);
  assertEquals(c(false, true), ["udpzero.connectivity.transient"]);
  assertEquals(c(false, false), ["udpzero.connectivity.offline"]);
  assertEquals(udpzeroPlugin.combineFlows([f(0, true), f(1, false, false)], args), [
    "pathspider.not_observed",
  ]);
});

Deno.test("udpzero accepts --connect dnsudp and zeroes only the experiment's checksum", () => {
  assertEquals(udpzeroPlugin.connectSupported, ["dnsudp"]);
  const m = udpzeroPlugin.model(args) as ForgeModel;
  const job = { dip: "198.19.0.1", dp: 53, domain: "x.example.test" };
  const src = { addr: "198.18.0.2", port: 61000 };
  const a = buildPacket(m.forge(job, 0, src)!);
  const b = buildPacket(m.forge(job, 1, src)!);
  assertEquals((a[26]! << 8 | a[27]!) !== 0, true);
  assertEquals(b[26]! << 8 | b[27]!, 0);
  const v6 = buildPacket(m.forge({ ...job, dip: "fd00:5::1" }, 1, { addr: "fd00:c::2", port: 1 })!);
  assertEquals(v6[46]! << 8 | v6[47]!, 0); // sent as the original did, though IPv6 forbids it
});

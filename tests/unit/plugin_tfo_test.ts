import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { tfoPlugin, withClientBit } from "../../src/plugins/tfo.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";

const args: PluginArgs = { connect: "http", timeout: 5 };
const SEQ = 0xfffffff0; // near the wrap, as the arithmetic must survive it

function flow(config: number, spdr_state: number, extra: Record<string, unknown> = {}): FlowResult {
  return {
    observed: true,
    tcp_connected: spdr_state === 0,
    tfo_synkind: 0,
    tfo_ackkind: 0,
    tfo_synclen: 0,
    tfo_ackclen: 0,
    tfo_seq: 0,
    tfo_dlen: 0,
    tfo_ack: 0,
    ...extra,
    config,
    spdr_state,
  };
}

/** The cookie request: empty option on the SYN, an 8-byte cookie back on the SYN-ACK. */
const request = (kind = 34) =>
  flow(1, 0, { tfo_synkind: kind, tfo_ackkind: kind, tfo_ackclen: 8, tfo_seq: 7, tfo_ack: 8 });

/** The data SYN: cookie and 77 bytes; `ackedBytes` of them acknowledged by the SYN-ACK. */
const dataSyn = (ackedBytes: number, state = 0, kind = 34) =>
  flow(2, state, {
    tfo_synkind: kind,
    tfo_synclen: 8,
    tfo_seq: SEQ,
    tfo_dlen: 77,
    tfo_ack: (SEQ + 1 + ackedBytes) % 2 ** 32,
  });

Deno.test("tfo combineFlows reports a cookie and acknowledged SYN data on a fast open server", () => {
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), request(), dataSyn(77)], args), [
    "tfo.connectivity.works",
    "tfo.cookie.received",
    "tfo.cookie.kind:34",
    "tfo.syndata.acked",
  ]);
});

Deno.test("tfo combineFlows reports not_acked when the SYN-ACK acknowledges only the SYN", () => {
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), request(), dataSyn(0)], args), [
    "tfo.connectivity.works",
    "tfo.cookie.received",
    "tfo.cookie.kind:34",
    "tfo.syndata.not_acked",
  ]);
});

Deno.test("tfo combineFlows reports failed SYN data when no SYN-ACK came (broken)", () => {
  const lost = flow(2, 2, { tfo_synkind: 34, tfo_synclen: 8, tfo_seq: SEQ, tfo_dlen: 77 });
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), request(), lost], args), [
    "tfo.connectivity.broken",
    "tfo.cookie.received",
    "tfo.cookie.kind:34",
    "tfo.syndata.failed",
  ]);
});

Deno.test("tfo combineFlows reports the experimental option kind 254", () => {
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), request(254), dataSyn(77, 0, 254)], args), [
    "tfo.connectivity.works",
    "tfo.cookie.received",
    "tfo.cookie.kind:254",
    "tfo.syndata.acked",
  ]);
});

Deno.test("tfo combineFlows reports not_received when the server returns no cookie", () => {
  const noCookie = flow(1, 0, { tfo_synkind: 34 });
  const plain = flow(2, 0, { tfo_synkind: 34 });
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), noCookie, plain], args), [
    "tfo.connectivity.works",
    "tfo.cookie.not_received",
  ]);
});

Deno.test("tfo combineFlows counts a cookie the kernel already held as received", () => {
  // an earlier run left a cookie in the cache: the request's SYN carries it, no cookie comes back
  const cached = flow(1, 0, { tfo_synkind: 34, tfo_synclen: 8, tfo_dlen: 77 });
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), cached, dataSyn(77)], args), [
    "tfo.connectivity.works",
    "tfo.cookie.received",
    "tfo.cookie.kind:34",
    "tfo.syndata.acked",
  ]);
});

Deno.test("tfo combineFlows gives only connectivity when the baseline failed or nothing was seen", () => {
  assertEquals(tfoPlugin.combineFlows([flow(0, 1), request(), dataSyn(77)], args), [
    "tfo.connectivity.transient",
  ]);
  assertEquals(tfoPlugin.combineFlows([flow(0, 2), request(), flow(2, 2)], args), [
    "tfo.connectivity.offline",
  ]);
  const unseen = { observed: false, config: 2, spdr_state: 0 };
  assertEquals(tfoPlugin.combineFlows([flow(0, 0), request(), unseen], args), [
    "tfo.connectivity.works",
    "pathspider.not_observed",
  ]);
});

Deno.test("tfo sets the client bit of net.ipv4.tcp_fastopen and keeps the others", () => {
  assertEquals(
    ["0", "1", "2", "3", "1027", null, "junk"].map(withClientBit),
    ["1", "1", "3", "3", "1027", "1", "1"],
  );
  const m = tfoPlugin.model(args);
  if (m.kind !== "desync") throw new Error("not desync");
  assertEquals(m.connections, [{}, { fastOpen: true }, { fastOpen: true }]);
  assertEquals(m.settings?.map((s) => [s.key, Number(s.value) & 1]), [
    ["net.ipv4.tcp_fastopen", 1],
  ]);
});

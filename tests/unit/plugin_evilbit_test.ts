import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { evilbitPlugin } from "../../src/plugins/evilbit.ts";
import type { FlowResult, ForgeModel, PluginArgs } from "../../src/plugins/plugin.ts";
import { buildPacket } from "../../src/wire/build.ts";

const tcp: PluginArgs = { connect: "tcp", timeout: 5 };
const dns: PluginArgs = { connect: "dnsudp", timeout: 5 };

function flow(config: number, extra: Record<string, unknown>): FlowResult {
  return {
    observed: true,
    dns_response_valid: false,
    tcp_synflags_rev: null,
    ...extra,
    config,
    spdr_state: 0,
  };
}

const SA = 0x12;

Deno.test("evilbit tcp: SYN-ACKs to both probes work; the mark is the SYN-ACK's own evil bit", () => {
  const base = flow(0, { tcp_synflags_rev: SA, evilbit_syn_rev: false });
  assertEquals(
    evilbitPlugin.combineFlows(
      [base, flow(1, { tcp_synflags_rev: SA, evilbit_syn_rev: false })],
      tcp,
    ),
    ["evilbit.connectivity.works", "evilbit.mark.not_seen"],
  );
  assertEquals(
    evilbitPlugin.combineFlows([
      base,
      flow(1, { tcp_synflags_rev: SA | 0x40, evilbit_syn_rev: true }),
    ], tcp),
    ["evilbit.connectivity.works", "evilbit.mark.seen"],
  );
});

Deno.test("evilbit tcp: transient carries the mark of the experiment's reply (the manual's reading)", () => {
  const none = (c: number) => flow(c, { tcp_synflags_rev: null });
  assertEquals(
    evilbitPlugin.combineFlows([
      none(0),
      flow(1, { tcp_synflags_rev: SA | 0x40, evilbit_syn_rev: true }),
    ], tcp),
    ["evilbit.connectivity.transient", "evilbit.mark.seen"],
  );
  assertEquals(
    evilbitPlugin.combineFlows([
      none(0),
      flow(1, { tcp_synflags_rev: SA, evilbit_syn_rev: false }),
    ], tcp),
    ["evilbit.connectivity.transient", "evilbit.mark.not_seen"],
  );
  const bad = (c: number) => flow(c, { dns_response_valid: false });
  assertEquals(
    evilbitPlugin.combineFlows([
      bad(0),
      flow(1, { dns_response_valid: true, evilbit_data_rev: true }),
    ], dns),
    ["evilbit.connectivity.transient", "evilbit.mark.seen"],
  );
});

Deno.test("evilbit tcp: broken and offline carry no mark; a RST is no SYN-ACK", () => {
  const ok = (c: number) => flow(c, { tcp_synflags_rev: SA });
  const none = (c: number) => flow(c, { tcp_synflags_rev: null });
  const rst = (c: number) => flow(c, { tcp_synflags_rev: 0x14 });
  assertEquals(evilbitPlugin.combineFlows([ok(0), none(1)], tcp), ["evilbit.connectivity.broken"]);
  assertEquals(evilbitPlugin.combineFlows([rst(0), none(1)], tcp), [
    "evilbit.connectivity.offline",
  ]);
});

Deno.test("evilbit dnsudp: valid DNS responses decide; the mark is the reply datagram's", () => {
  const ok = (c: number, evil = false) =>
    flow(c, { dns_response_valid: true, evilbit_data_rev: evil });
  const bad = (c: number) => flow(c, { dns_response_valid: false });
  assertEquals(evilbitPlugin.combineFlows([ok(0), ok(1, true)], dns), [
    "evilbit.connectivity.works",
    "evilbit.mark.seen",
  ]);
  assertEquals(evilbitPlugin.combineFlows([ok(0), bad(1)], dns), ["evilbit.connectivity.broken"]);
  assertEquals(evilbitPlugin.combineFlows([bad(0), bad(1)], dns), ["evilbit.connectivity.offline"]);
});

Deno.test("evilbit reports only not_observed when a flow was not observed", () => {
  const seen = flow(0, { tcp_synflags_rev: SA });
  const unseen: FlowResult = { observed: false, config: 1, spdr_state: 0 };
  assertEquals(evilbitPlugin.combineFlows([seen, unseen], tcp), ["pathspider.not_observed"]);
});

Deno.test("evilbit forges a plain and an evil SYN for IPv4, two plain ones for IPv6", () => {
  const m = evilbitPlugin.model(tcp) as ForgeModel;
  assertEquals([m.kind, m.proto, m.packets], ["forge", "tcp", 2]);
  const job = { dip: "198.19.0.1", dp: 80 };
  const src = { addr: "198.18.0.2", port: 61000 };
  const a = buildPacket(m.forge(job, 0, src)!);
  const b = buildPacket(m.forge(job, 1, src)!);
  assertEquals([a[6]! & 0x80, b[6]! & 0x80], [0, 0x80]);
  assertEquals([a[9], a[20 + 13]], [6, 0x02]); // TCP, SYN only
  assertEquals([a[20]! << 8 | a[21]!, a[22]! << 8 | a[23]!], [61000, 80]);
  const v6 = { dip: "fd00:5::1", dp: 80 };
  const b6 = m.forge(v6, 1, { addr: "fd00:c::2", port: 61001 })!;
  assertEquals(b6.evil, false);
});

Deno.test("evilbit dnsudp asks for the job's domain and skips a job without one", () => {
  const m = evilbitPlugin.model(dns) as ForgeModel;
  assertEquals(m.proto, "udp");
  const src = { addr: "198.18.0.2", port: 61000 };
  const pkt = buildPacket(
    m.forge({ dip: "198.19.0.1", dp: 53, domain: "a.example.test" }, 1, src)!,
  );
  assertEquals([pkt[6]! & 0x80, pkt[9], pkt[22]! << 8 | pkt[23]!], [0x80, 17, 53]);
  assertEquals(new TextDecoder().decode(pkt.subarray(28 + 13, 28 + 14)), "a");
  assertEquals(m.forge({ dip: "198.19.0.1", dp: 53 }, 0, src), null);
});

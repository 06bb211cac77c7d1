import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { changesOf, dropOf, type Hop, type Trace, trace } from "../../src/locate/locate.ts";
import { showsInterference } from "../../src/locate/mod.ts";
import { probeMaker } from "../../src/locate/probe.ts";
import type { Answer, ProbeIo, Quoted } from "../../src/locate/tracer.ts";
import { ecnPlugin } from "../../src/plugins/ecn.ts";
import { tcpoptPlugin } from "../../src/plugins/tcpopt.ts";
import { dscpPlugin } from "../../src/plugins/dscp.ts";
import type { PluginArgs } from "../../src/plugins/plugin.ts";
import type { PacketSpec } from "../../src/wire/build.ts";

const SENT: Quoted = {
  tos: 46 << 2,
  evil: false,
  flags: 0x1c2,
  options: new Map([[2, "05b4"], [4, ""]]),
};

function hop(n: number, from: string | null, q: Partial<Quoted> | null = {}): Hop {
  if (from === null) return { hop: n, answer: null };
  return { hop: n, answer: { kind: "hop", from, quote: q === null ? null : { ...SENT, ...q } } };
}

function t(hops: Hop[], end: Trace["end"] = "target"): Trace {
  return { hops, end, probes: hops.length, sent: SENT };
}

Deno.test("locate: each changed field at the first hop quoting it, after the last unchanged", () => {
  const tr = t([
    hop(1, "r1"),
    hop(2, "r2", { tos: 0 }),
    // 8 quoted bytes of TCP: flags and options unknown here, not a change
    hop(3, "r3", { tos: 0, flags: -1, options: null }),
    hop(4, "r4", { tos: 0, flags: 0xc2, options: new Map([[2, "0578"]]) }),
    { hop: 5, answer: { kind: "target", from: "t", quote: null } },
  ]);
  assertEquals(changesOf(tr, 1), [
    { what: "dscp", sent: 46, seen: 0, hop: 2, after: "r1", at: "r2", config: 1 },
    { what: "flags", sent: 0x1c2, seen: 0xc2, hop: 4, after: "r2", at: "r4", config: 1 },
    { what: "option:2", sent: "05b4", seen: "0578", hop: 4, after: "r2", at: "r4", config: 1 },
    { what: "option:4", sent: "", seen: null, hop: 4, after: "r2", at: "r4", config: 1 },
  ]);
  assertEquals(changesOf(t([hop(1, "r1"), hop(2, "r2")]), 1), []);
});

Deno.test("locate: a hop that never answered is named in the entry; a change at hop 1 has no after", () => {
  assertEquals(changesOf(t([hop(1, null), hop(2, "r2", { tos: 1 })]), 2), [
    { what: "dscp", sent: 46, seen: 0, hop: 2, after: null, at: "r2", config: 2, silent: [1] },
    { what: "ecn", sent: 0, seen: 1, hop: 2, after: null, at: "r2", config: 2, silent: [1] },
  ]);
});

Deno.test("locate: a drop is silence where the baseline went on; silence for both is no drop", () => {
  const exp = t([hop(1, "r1"), hop(2, "r2"), hop(3, null), hop(4, null), hop(5, null)], "silent");
  const reached = t([hop(1, "r1"), hop(2, "r2"), hop(3, "r3")], "target");
  assertEquals(dropOf(exp, reached, 1), {
    what: "drop",
    sent: null,
    seen: null,
    hop: 3,
    after: "r2",
    at: null,
    config: 1,
  });
  assertEquals(dropOf(exp, exp, 1), null);
  assertEquals(dropOf(reached, reached, 1), null);
});

Deno.test("locate: a trace re-probes a silent hop, stops after 3 silent hops or at the target", async () => {
  const sent: [number, number][] = [];
  // hop 2 answers only the second try; hops 3.. stay silent
  const io: ProbeIo = {
    probe(spec: PacketSpec): Promise<Answer | null> {
      sent.push([spec.ttl!, spec.l4.sport]);
      const tries = sent.filter(([ttl]) => ttl === spec.ttl).length;
      if (spec.ttl === 1 || (spec.ttl === 2 && tries === 2)) {
        return Promise.resolve({ kind: "hop", from: `r${spec.ttl}`, quote: SENT });
      }
      return Promise.resolve(null);
    },
  };
  let port = 61000;
  const make = (src: { addr: string; port: number }): PacketSpec => ({
    src: src.addr,
    dst: "198.19.0.1",
    l4: { proto: "tcp", sport: src.port, dport: 80, flags: 2 },
  });
  const tr = await trace(io, make, "198.18.0.2", {
    maxHops: 32,
    tries: 2,
    silentStop: 3,
    port: () => port++,
  });
  assertEquals(tr.end, "silent");
  assertEquals(tr.hops.map((h) => [h.hop, h.answer?.from ?? null]), [
    [1, "r1"],
    [2, "r2"],
    [3, null],
    [4, null],
    [5, null],
  ]);
  // 1 + 2 + 3 x 2 probes, each from a port of its own
  assertEquals(sent.map(([ttl]) => ttl), [1, 2, 2, 3, 3, 4, 4, 5, 5]);
  assertEquals(new Set(sent.map(([, p]) => p)).size, sent.length);
});

Deno.test("locate: interference is lost connectivity, marks, setups and options that did not pass", () => {
  for (
    const c of [
      "ecn.connectivity.broken",
      "dscp.46.connectivity.transient",
      "evilbit.mark.not_seen",
      "ecn.negotiation.failed",
      "sack.negotiation.failed",
      "accecn.negotiation.classic",
      "accecn.syn.ect1.arrived:ect0",
      "accecn.syn.ce.unanswered",
    ]
  ) assertEquals(showsInterference([c]), true, c);
  for (
    const c of [
      "ecn.connectivity.works",
      "ecn.negotiation.succeeded",
      "accecn.negotiation.accecn",
      "accecn.syn.ect1.arrived:ect1",
      "dscp.46.connectivity.offline",
    ]
  ) assertEquals(showsInterference([c]), false, c);
});

Deno.test("locate: socket plugins' probes carry their connection's ToS, ECN setup and options", () => {
  const args: PluginArgs = { connect: "http", timeout: 5, codepoint: 46 };
  const job = { dip: "198.19.0.1", dp: 80 };
  const src = { addr: "198.18.0.2", port: 61000 };
  const ecn = probeMaker(ecnPlugin.model(args), args, job, 1)!(src)!;
  assertEquals([ecn.tos ?? 0, ecn.l4.proto === "tcp" && ecn.l4.flags], [0, 0xc2]);
  const dscp = probeMaker(dscpPlugin.model(args), args, job, 1)!(src)!;
  assertEquals([dscp.tos, dscp.l4.proto === "tcp" && dscp.l4.flags], [46 << 2, 0x02]);
  // tcpopt config 3: SACK on, timestamps and window scaling off
  const sack = probeMaker(tcpoptPlugin.model(args), args, job, 3)!(src)!;
  assertEquals(sack.l4.proto === "tcp" && [...sack.l4.options!], [2, 4, 5, 180, 1, 1, 4, 2]);
  const udp = probeMaker(dscpPlugin.model(args), { ...args, connect: "dnsudp" }, {
    ...job,
    domain: "a.example.test",
  }, 1)!(src)!;
  assertEquals([udp.tos, udp.l4.proto], [46 << 2, "udp"]);
});

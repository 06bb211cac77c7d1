/**
 * The engine in the forge model on a fake packet sink and fake flows: two forged packets per
 * job from distinct reserved ports, each joined with the flow of its 5-tuple (UDP for the DNS
 * probes), and the plugin's conditions from them. The real raw socket runs in
 * tests/e2e/measure_forge_test.ts.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Engine } from "../../src/spider/engine.ts";
import { readJobs } from "../../src/spider/feeder.ts";
import { Merger } from "../../src/spider/merger.ts";
import { forgeSender, PortCycle } from "../../src/spider/forge.ts";
import { udpzeroPlugin } from "../../src/plugins/udpzero.ts";
import type { ForgeModel } from "../../src/plugins/plugin.ts";

Deno.test("the forge model sends two packets per job and joins each with its own flow", async () => {
  const n = 5;
  const text = Array.from(
    { length: n },
    (_, i) => JSON.stringify({ dip: `198.19.0.${i + 1}`, domain: `t${i}.example.test` }),
  ).join("\n");
  const args = { connect: "dnsudp" as const, timeout: 1 };
  const model = udpzeroPlugin.model(args) as ForgeModel;
  const merger = new Merger({ flowTtlMs: 60_000 });
  const sent: Uint8Array[] = [];
  // the "network": every packet gets a flow; zero-checksum queries to .3 get no answer
  const sink = (pkt: Uint8Array) => {
    sent.push(pkt);
    const dip = `198.19.0.${pkt[19]}`;
    const sp = pkt[20]! << 8 | pkt[21]!;
    const zero = pkt[26] === 0 && pkt[27] === 0;
    setTimeout(() =>
      merger.addFlow({
        sip: "198.18.0.2",
        sp,
        dip,
        dp: pkt[22]! << 8 | pkt[23]!,
        proto: pkt[9],
        dns_response_valid: !(zero && dip.endsWith(".3")),
      }), 5);
    return Promise.resolve(0);
  };
  const results: Record<string, unknown>[] = [];
  const engine = new Engine({
    plugin: udpzeroPlugin,
    args,
    workers: 2,
    outputFlows: true,
    jobs: readJobs(new Response(text).body!, { warn: () => {} }),
    write: (r) => results.push(r),
    connect: () => Promise.reject(new Error("no helper connection in the forge model")),
    forge: forgeSender(model, sink, new PortCycle(61000, 65535, 61000)),
    apply: () => {},
    source: { v4: "198.18.0.2" },
    merger,
    flowWaitMs: 2000,
    observing: true,
  });
  const stats = await engine.run();
  assertEquals([stats.results, stats.unobserved, sent.length], [n, 0, 2 * n]);
  const ports = new Set(sent.map((p) => p[20]! << 8 | p[21]!));
  assertEquals(ports.size, 2 * n);
  for (const r of results) {
    const broken = r.dip === "198.19.0.3";
    assertEquals(r.conditions, [`udpzero.connectivity.${broken ? "broken" : "works"}`]);
    assertEquals(r.dp, 53);
    const flows = r.flow_results as Record<string, unknown>[];
    assertEquals(flows.map((f) => [f.config, f.spdr_state, f.observed]), [[0, 0, true], [
      1,
      0,
      true,
    ]]);
  }
});

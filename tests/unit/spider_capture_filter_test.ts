import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { captureFilterFor, localPortRange } from "../../src/spider/capture_filter.ts";
import { runFilter } from "../../src/ffi/capture.ts";
import { PLUGINS } from "../../src/plugins/registry.ts";
import type { ConnectMode, PluginArgs } from "../../src/plugins/plugin.ts";

function specOf(name: string, connect: ConnectMode): string {
  const p = PLUGINS.find((x) => x.name === name)!;
  const args = { connect, timeout: 5 } as PluginArgs;
  for (const o of p.options) {
    const k = o.flags.match(/--([a-z-]+)/)![1]!.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (o.default !== undefined) args[k] = o.default;
  }
  return runFilter(captureFilterFor(p.model(args), connect, [32768, 60999]));
}

Deno.test("a run's capture keeps its protocol from the ephemeral ports (any dp) and ICMP errors", () => {
  assertEquals(specOf("ecn", "http"), "tcp;ports=32768-60999;icmp-errors");
  assertEquals(specOf("ecn", "dnstcp"), "tcp;ports=32768-60999;icmp-errors");
  assertEquals(specOf("dscp", "dnsudp"), "udp;ports=32768-60999;icmp-errors");
  // the forge model sends from its own range
  assertEquals(specOf("udpzero", "dnsudp"), "udp;ports=61000-65535;icmp-errors");
});

Deno.test("the ephemeral range is read from the namespace's sysctl, else Linux's default", () => {
  assertEquals(localPortRange(() => "1024\t65000\n"), [1024, 65000]);
  assertEquals(localPortRange(() => "garbage"), [32768, 60999]);
  assertEquals(
    localPortRange(() => {
      throw new Error("no /proc");
    }),
    [32768, 60999],
  );
});

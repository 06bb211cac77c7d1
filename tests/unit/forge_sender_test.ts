import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { udpzeroPlugin } from "../../src/plugins/udpzero.ts";
import type { ForgeModel } from "../../src/plugins/plugin.ts";
import { forgeSender, PortCycle } from "../../src/spider/forge.ts";
import { forgeFirewall } from "../../src/host/firewall.ts";

const args = { connect: "dnsudp" as const, timeout: 5 };

Deno.test("ports come from the reserved range in turn and wrap around", () => {
  const p = new PortCycle(65534, 65535, 65535);
  assertEquals([p.next(), p.next(), p.next()], [65535, 65534, 65535]);
  const r = new PortCycle();
  for (let i = 0; i < 10; i++) {
    const port = r.next();
    assertEquals(port >= 61000 && port <= 65535, true);
  }
});

Deno.test("a forged packet reports its port and OK when sent, FAILED with the errno when not", async () => {
  const model = udpzeroPlugin.model(args) as ForgeModel;
  const sent: Uint8Array[] = [];
  let status = 0;
  const send = forgeSender(model, (pkt) => {
    sent.push(pkt);
    return Promise.resolve(status);
  }, new PortCycle(61000, 65535, 61000));
  const job = { dip: "198.19.0.1", dp: 53, domain: "a.example.test" };
  assertEquals(await send(job, 0, "198.18.0.2"), { sip: "198.18.0.2", sp: 61000, spdr_state: 0 });
  status = -101;
  assertEquals(await send(job, 1, "198.18.0.2"), {
    sip: "198.18.0.2",
    sp: 61001,
    spdr_state: 1,
    spdr_errno: 101,
  });
  assertEquals(sent.length, 2);
  assertEquals(sent[0]![20]! << 8 | sent[0]![21]!, 61000);
});

Deno.test("a job that cannot be forged is skipped or failed without sending anything", async () => {
  const model = udpzeroPlugin.model(args) as ForgeModel;
  let n = 0;
  const send = forgeSender(model, () => Promise.resolve(n++), new PortCycle());
  const skipped = await send({ dip: "198.19.0.1", dp: 53 }, 0, "198.18.0.2");
  assertEquals([skipped.sp, skipped.spdr_state], [0, 3]);
  const failed = await send({ dip: "198.19.0.1", dp: 53, domain: "a..b" }, 0, "198.18.0.2");
  assertEquals([failed.sp, failed.spdr_state, typeof failed.spdr_error], [0, 1, "string"]);
  assertEquals(n, 0);
});

Deno.test("the firewall table drops RSTs and port-unreachables of the forge ports only", () => {
  const fw = forgeFirewall(42);
  assertEquals(fw.table, "pathspider_forge_42");
  assertEquals(fw.rules.includes("tcp sport 61000-65535 tcp flags & rst == rst drop"), true);
  assertEquals(fw.rules.includes("hook output"), true);
});

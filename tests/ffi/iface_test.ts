/**
 * Interface flags and addresses from the library (`interfaceInfo`, getifaddrs) agree with
 * `ip -j addr` on a veth pair with several addresses, in a namespace of their own; the source
 * addresses of a run (`sourceAddresses`) are the ones `ip` gave. Needs root (namespaces).
 */
import { assert, assertEquals } from "./assert.ts";
import { interfaceInfo } from "../../src/ffi/iface.ts";

const NS = `psI${Deno.pid}`;
const SRC = new URL("../../src/", import.meta.url).pathname;

async function run(...args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: r.success, out: text(r.stdout), err: text(r.stderr) };
}

async function must(...args: string[]): Promise<string> {
  const r = await run(...args);
  if (!r.ok) throw new Error(`${args.join(" ")}: ${r.err.trim()}`);
  return r.out;
}

Deno.test("loopback is up with 127.0.0.1/8; a missing interface is undefined", () => {
  const lo = interfaceInfo("lo");
  assert(lo && lo.up && lo.running, JSON.stringify(lo));
  assert(lo.addresses.some((a) => a.family === 4 && a.address === "127.0.0.1" && a.prefix === 8));
  assertEquals(interfaceInfo("psI-nope"), undefined);
});

Deno.test({
  name: "interfaceInfo agrees with ip -j addr in a namespace, addresses in the same order",
  sanitizeResources: false,
  async fn() {
    try {
      await run("ip", "netns", "del", NS);
      await must("ip", "netns", "add", NS);
      await must("ip", "-n", NS, "link", "add", "psI-a", "type", "veth", "peer", "name", "psI-b");
      for (
        const a of ["198.18.7.9/24", "198.18.8.1/16", "fd00:7::9/64", "fd00:8::1/48"]
      ) await must("ip", "-n", NS, "addr", "add", a, "dev", "psI-a", "nodad");
      const code = `
        import { interfaceInfo } from ${JSON.stringify(SRC + "ffi/iface.ts")};
        import { sourceAddresses } from ${JSON.stringify(SRC + "host/iface.ts")};
        const down = interfaceInfo("psI-a");
        const p = new Deno.Command("ip", { args: ["link", "set", "psI-a", "up"] }).outputSync();
        if (!p.success) throw new Error("ip link set up failed");
        const b = new Deno.Command("ip", { args: ["link", "set", "psI-b", "up"] }).outputSync();
        if (!b.success) throw new Error("ip link set up failed");
        await new Promise((r) => setTimeout(r, 300));
        console.log(JSON.stringify({ down, up: interfaceInfo("psI-a"), src: sourceAddresses("psI-a") }));`;
      const out = JSON.parse(
        await must("ip", "netns", "exec", NS, Deno.execPath(), "eval", "--ext=ts", code),
      );
      assertEquals(out.down.up, false);
      assertEquals(out.up.up, true);
      assertEquals(out.up.running, true);
      const ip = JSON.parse(await must("ip", "-n", NS, "-j", "addr", "show", "dev", "psI-a"))[0]
        .addr_info as { family: string; local: string; prefixlen: number }[];
      assertEquals(
        out.up.addresses,
        ip.map((a) => ({
          family: a.family === "inet" ? 4 : 6,
          address: a.local,
          prefix: a.prefixlen,
        })),
      );
      assert(out.up.addresses.some((a: { address: string }) => a.address.startsWith("fe80:")));
      // what the run used to take from ip -j addr: the first IPv4 address and the first IPv6
      // one that is not link-local, in ip's order (the kernel lists IPv6 newest first)
      assertEquals(out.src, {
        v4: ip.find((a) => a.family === "inet")?.local,
        v6: ip.find((a) => a.family === "inet6" && !a.local.startsWith("fe"))?.local,
      });
      assertEquals(out.src.v4, "198.18.7.9");
    } finally {
      await run("ip", "netns", "del", NS);
    }
  },
});

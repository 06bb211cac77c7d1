/**
 * The forge table over netlink (`addForgeTable`, capture-ffi/src/nft.rs) in a namespace: `nft list`
 * shows exactly the table `nft -f` makes of `forgeFirewall`'s rule set, and it works: a RST or an
 * ICMP/ICMPv6 port-unreachable from a forge port never leaves (the peer's connect times out
 * instead of being refused), other ports are refused as before, and after `deleteNftTable` the
 * forge ports are refused again. Needs root (namespaces, CAP_NET_ADMIN); `nft` only to compare.
 */
import { assert, assertEquals } from "./assert.ts";
import { forgeFirewall } from "../../src/host/firewall.ts";
import { Status } from "../../src/ffi/status.ts";

const NS_A = `psN${Deno.pid}-a`;
const NS_B = `psN${Deno.pid}-b`;
const NS_C = `psN${Deno.pid}-c`;
const NFT_TS = new URL("../../src/ffi/nftables.ts", import.meta.url).pathname;
const TABLE = "pathspider_forge_test";

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

async function cleanup(): Promise<void> {
  for (const ns of [NS_A, NS_B, NS_C]) await run("ip", "netns", "del", ns);
}

/** Runs `body` (TypeScript with addForgeTable/deleteNftTable in scope) in namespace A. */
async function inA(body: string, ...prefix: string[]): Promise<unknown> {
  const code = `import { addForgeTable, deleteNftTable } from ${JSON.stringify(NFT_TS)};
    import { CaptureError } from ${JSON.stringify(NFT_TS.replace("nftables.ts", "status.ts"))};
    try { console.log(JSON.stringify(await (async () => { ${body} })() ?? null)); }
    catch (e) { console.log(JSON.stringify({ code: e instanceof CaptureError ? e.code : String(e), message: e.message })); }`;
  return JSON.parse(
    await must(...prefix, "ip", "netns", "exec", NS_A, Deno.execPath(), "eval", "--ext=ts", code),
  );
}

/** From namespace B: how A answers a TCP connect and a UDP datagram to each port, v4 and v6. */
const PROBE = `
import json, socket
out = {}
for fam, dst in ((socket.AF_INET, "198.18.0.1"), (socket.AF_INET6, "fd00:18::1")):
    for port in (40000, 61001, 65535):
        for kind in ("tcp", "udp"):
            s = socket.socket(fam, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
            s.settimeout(0.7)
            try:
                s.connect((dst, port))
                if kind == "udp":
                    s.send(b"x")
                    s.recv(10)
                r = "open"
            except ConnectionRefusedError:
                r = "refused"
            except (socket.timeout, TimeoutError):
                r = "timeout"
            s.close()
            out["%s%d/%s/%d" % ("v", 4 if fam == socket.AF_INET else 6, kind, port)] = r
print(json.dumps(out))
`;

async function probe(): Promise<Record<string, string>> {
  return JSON.parse(await must("ip", "netns", "exec", NS_B, "python3", "-c", PROBE));
}

/** The expected answers: forge ports time out when `dropped`, everything else is refused. */
function expected(dropped: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of ["v4", "v6"]) {
    for (const port of [40000, 61001, 65535]) {
      for (const kind of ["tcp", "udp"]) {
        out[`${v}/${kind}/${port}`] = dropped && port >= 61000 ? "timeout" : "refused";
      }
    }
  }
  return out;
}

Deno.test({
  name: "the forge table over netlink is nft's own and drops RSTs and unreachables of forge ports",
  sanitizeResources: false,
  async fn() {
    try {
      await cleanup();
      for (const ns of [NS_A, NS_B, NS_C]) await must("ip", "netns", "add", ns);
      await must(
        "ip",
        "link",
        "add",
        "psN-va",
        "netns",
        NS_A,
        "type",
        "veth",
        "peer",
        "name",
        "psN-vb",
        "netns",
        NS_B,
      );
      for (const [ns, dev, n] of [[NS_A, "psN-va", 1], [NS_B, "psN-vb", 2]] as const) {
        await must("ip", "-n", ns, "addr", "add", `198.18.0.${n}/24`, "dev", dev);
        await must("ip", "-n", ns, "addr", "add", `fd00:18::${n}/64`, "dev", dev, "nodad");
        await must("ip", "-n", ns, "link", "set", dev, "up");
      }
      assertEquals(await probe(), expected(false), "before: every port is refused");

      assertEquals(
        await inA(`addForgeTable(${JSON.stringify(TABLE)}, { first: 61000, last: 65535 });`),
        null,
      );
      // the same listing as the table nft makes of forgeFirewall's rules (in another namespace)
      const fw = forgeFirewall(4242);
      const file = await Deno.makeTempFile({ suffix: ".nft" });
      await Deno.writeTextFile(file, fw.rules);
      await must("ip", "netns", "exec", NS_C, "nft", "-f", file);
      await Deno.remove(file);
      const ours = await must("ip", "netns", "exec", NS_A, "nft", "list", "table", "inet", TABLE);
      const nfts = await must(
        "ip",
        "netns",
        "exec",
        NS_C,
        "nft",
        "list",
        "table",
        "inet",
        fw.table,
      );
      assertEquals(ours.replace(TABLE, "T"), nfts.replace(fw.table, "T"));
      assertEquals(await probe(), expected(true), "with the table: forge ports give no answer");

      assertEquals(
        await inA(
          `return [deleteNftTable(${JSON.stringify(TABLE)}), deleteNftTable(${
            JSON.stringify(TABLE)
          })];`,
        ),
        [true, false],
      );
      assertEquals(await probe(), expected(false), "after: refused again");
      assertEquals(
        (await run("ip", "netns", "exec", NS_A, "nft", "list", "ruleset")).out.trim(),
        "",
      );

      // without CAP_NET_ADMIN: one line, NOT_PERMITTED
      const denied = await inA(
        `addForgeTable(${JSON.stringify(TABLE)}, { first: 61000, last: 65535 });`,
        "setpriv",
        "--bounding-set=-net_admin",
      ) as { code: number; message: string };
      assertEquals(denied.code, Status.NOT_PERMITTED);
      assert(denied.message.includes("needs CAP_NET_ADMIN"), denied.message);
      const bad = await inA(`addForgeTable("a b", { first: 1, last: 2 });`) as { code: number };
      assertEquals(bad.code, Status.INVALID_ARGUMENT);
    } finally {
      await cleanup();
    }
  },
});

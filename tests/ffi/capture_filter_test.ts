/**
 * The run filter of a live capture (`runFilter`, capture-ffi/src/bpf.rs) in the kernel, on a veth
 * pair between two namespaces (198.18.0.0/24, fd00:18::/64): the run's ports pass in both
 * directions, ICMP errors pass, while background pings and unrelated TCP/UDP ports never reach the
 * ring. Needs root (network namespaces, CAP_NET_RAW).
 */
import { assert, assertEquals } from "./assert.ts";
import { CaptureError, CaptureSource, runFilter, Status } from "../../src/ffi/capture.ts";

const DENO = Deno.execPath();
const PROBE = new URL("./live_probe.ts", import.meta.url).pathname;
const NS_A = `psF${Deno.pid}-a`;
const NS_B = `psF${Deno.pid}-b`;

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
  for (const ns of [NS_A, NS_B]) await run("ip", "netns", "del", ns);
}

async function testbed(): Promise<void> {
  await cleanup();
  for (const ns of [NS_A, NS_B]) await must("ip", "netns", "add", ns);
  await must(
    ..."ip link add psF-va netns A type veth peer name psF-vb netns B".split(" ")
      .map((w) => w === "A" ? NS_A : w === "B" ? NS_B : w),
  );
  for (const [ns, dev, n] of [[NS_A, "psF-va", 1], [NS_B, "psF-vb", 2]] as const) {
    await must("ip", "-n", ns, "addr", "add", `198.18.0.${n}/24`, "dev", dev);
    await must("ip", "-n", ns, "addr", "add", `fd00:18::${n}/64`, "dev", dev, "nodad");
    await must("ip", "-n", ns, "link", "set", dev, "up");
  }
}

/** Traffic from namespace A: what the filter must keep and what it must drop. */
const TRAFFIC = `
import socket, time
A4, A6 = socket.AF_INET, socket.AF_INET6
def udp(fam, dst, sport, dport):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == A6 else "", sport))
    s.sendto(b"x", (dst, dport))
    s.close()
    time.sleep(0.05)
def tcp(fam, dst, dport):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect((dst, dport))
    except OSError:
        pass
    s.close()
    time.sleep(0.05)
udp(A4, "198.18.0.2", 40000, 5000)   # dropped; the port unreachable it draws is kept
udp(A4, "198.18.0.2", 40001, 53)     # kept
udp(A4, "198.18.0.2", 61001, 7)      # kept: a forge source port
tcp(A4, "198.18.0.2", 80)            # SYN and RST kept
tcp(A4, "198.18.0.2", 8080)          # dropped
udp(A6, "fd00:18::2", 40002, 53)     # kept
udp(A6, "fd00:18::2", 40003, 5001)   # dropped; its ICMPv6 unreachable kept
tcp(A6, "fd00:18::2", 8080)          # dropped
`;

Deno.test("runFilter writes the spec the library parses", () => {
  assertEquals(
    runFilter({ ports: [80, 443, 53, [61000, 65535]] }),
    "tcp,udp;ports=80,443,53,61000-65535;icmp-errors",
  );
  assertEquals(runFilter({ ports: [53], protocols: ["udp"], icmpErrors: false }), "udp;ports=53");
  assertEquals(runFilter({ ports: [], protocols: [] }), "icmp-errors");
  for (
    const bad of [
      () => runFilter({ ports: [70000] }),
      () => runFilter({ ports: [1.5] }),
      () => runFilter({ ports: [80], protocols: [] }),
      () => runFilter({ ports: [], protocols: [], icmpErrors: false }),
    ]
  ) {
    try {
      bad();
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof CaptureError && e.code === Status.INVALID_ARGUMENT, String(e));
    }
  }
});

Deno.test("a malformed filter spec is refused with one line before anything opens", () => {
  for (const spec of ["tcp;ports=90-80", "sctp", "ports=http"]) {
    try {
      CaptureSource.openLive("lo", { filter: spec }).close();
      throw new Error(`${spec} accepted`);
    } catch (e) {
      assert(e instanceof CaptureError, String(e));
      assertEquals(e.code, Status.INVALID_ARGUMENT);
      assert(e.message.startsWith(`capture filter ${JSON.stringify(spec)}:`), e.message);
      assert(!e.message.includes("\n"));
    }
  }
});

Deno.test({
  name: "the run filter keeps the run's ports and ICMP errors, not pings or other ports",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      const spec = runFilter({ ports: [80, 53, [61000, 65535]] });
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", NS_A, DENO, "run", "-A", PROBE, "filtered", "psF-va", "4000", spec],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("ready\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      assert(text.includes("ready\n"), "probe did not start");
      // background: pings every 10 ms both ways, IPv4 and IPv6, during the whole run
      const pings = ["-4", "-6"].map((v) =>
        run(
          "ip",
          "netns",
          "exec",
          NS_A,
          "ping",
          v,
          "-c",
          "60",
          "-i",
          "0.01",
          "-q",
          v === "-4" ? "198.18.0.2" : "fd00:18::2",
        )
      );
      await must("ip", "netns", "exec", NS_A, "python3", "-c", TRAFFIC);
      for (const p of await Promise.all(pings)) assert(p.ok, `ping failed: ${p.err}`);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const st = await child.status;
      const line = text.split("\n").filter((l) => l.startsWith("{")).pop();
      assert(line, `probe printed no result (exit ${st.code})`);
      const { packets, stats } = JSON.parse(line) as {
        packets: number[][];
        stats: { received: number };
      };
      const has = (v: number, proto: number, sport: number | null, dport: number | null) =>
        packets.some((p) =>
          p[0] === v && p[1] === proto && (sport === null || p[2] === sport) &&
          (dport === null || p[3] === dport)
        );
      assert(has(4, 17, 40001, 53), "UDP to 53");
      assert(has(4, 17, 61001, 7), "UDP from a forge port");
      assert(has(4, 6, null, 80), "SYN to 80");
      assert(has(4, 6, 80, null), "RST from 80");
      assert(has(6, 17, 40002, 53), "IPv6 UDP to 53");
      assert(packets.some((p) => p[0] === 4 && p[1] === 1 && p[4] === 3), "ICMP unreachable");
      assert(packets.some((p) => p[0] === 6 && p[1] === 58 && p[4] === 1), "ICMPv6 unreachable");
      const echo = packets.filter((p) =>
        (p[1] === 1 && (p[4] === 0 || p[4] === 8)) || (p[1] === 58 && p[4]! >= 128)
      );
      assertEquals(echo.length, 0, "pings and neighbour discovery are dropped in the kernel");
      const other = packets.filter((p) => [5000, 5001, 8080].some((x) => p[2] === x || p[3] === x));
      assertEquals(other, [], "unrelated ports are dropped in the kernel");
      // everything the socket accepted was delivered: the rest never passed the filter
      assertEquals(stats.received, packets.length);
    } finally {
      await cleanup();
    }
  },
});

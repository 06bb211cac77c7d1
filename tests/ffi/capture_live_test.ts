/**
 * Live capture through the FFI on a veth pair between two network namespaces (198.18.0.0/24):
 * the packets and bytes of a known ping, the drop counters, and the errors for a missing or down
 * interface. Needs root (network namespaces, CAP_NET_RAW).
 */
import { assert, assertEquals } from "./assert.ts";
import { Status } from "../../src/ffi/capture.ts";

const DENO = Deno.execPath();
const PROBE = new URL("./live_probe.ts", import.meta.url).pathname;
// Unique per run: two suites running at once (a developer and CI) must not share namespaces.
// The veth and TUN names live inside these namespaces, so they need no tag.
const NS_A = `psL${Deno.pid}-a`;
const NS_B = `psL${Deno.pid}-b`;

async function sh(...args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout) };
}

async function must(...args: string[]): Promise<string> {
  const r = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!r.success) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
  return new TextDecoder().decode(r.stdout);
}

async function cleanup(): Promise<void> {
  for (const ns of [NS_A, NS_B]) await sh("ip", "netns", "del", ns);
}

/** Two namespaces joined by veth psH1-va (198.18.0.1) / psH1-vb (198.18.0.2), IPv6 off. */
async function testbed(): Promise<void> {
  await cleanup();
  for (const ns of [NS_A, NS_B]) {
    await must("ip", "netns", "add", ns);
    await must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
    await must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
  }
  await must(
    "ip",
    "link",
    "add",
    "psH1-va",
    "netns",
    NS_A,
    "type",
    "veth",
    "peer",
    "name",
    "psH1-vb",
    "netns",
    NS_B,
  );
  await must("ip", "-n", NS_A, "addr", "add", "198.18.0.1/24", "dev", "psH1-va");
  await must("ip", "-n", NS_B, "addr", "add", "198.18.0.2/24", "dev", "psH1-vb");
  await must("ip", "-n", NS_A, "link", "set", "psH1-va", "up");
  await must("ip", "-n", NS_B, "link", "set", "psH1-vb", "up");
  // A second veth pair left down, for the interface-down error.
  await must(
    "ip",
    "-n",
    NS_A,
    "link",
    "add",
    "psH1-down",
    "type",
    "veth",
    "peer",
    "name",
    "psH1-down2",
  );
}

/** Starts the probe in namespace A and resolves once it printed "ready". */
async function startProbe(...args: string[]) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", NS_A, DENO, "run", "-A", PROBE, ...args],
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
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const st = await child.status;
    const err = await new Response(child.stderr).text();
    const line = text.split("\n").filter((l) => l.startsWith("{")).pop();
    if (!line) throw new Error(`probe printed no result (exit ${st.code}): ${err.trim()}`);
    return JSON.parse(line);
  })();
  return { ready: text.includes("ready\n"), result: rest };
}

Deno.test({
  name: "a live capture sees every packet of a ping with its DSCP, bytes and direction",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      const probe = await startProbe("capture", "psH1-va", "3500");
      assert(probe.ready, "probe did not start capturing");
      await must(
        "ip",
        "netns",
        "exec",
        NS_A,
        "ping",
        "-c",
        "20",
        "-i",
        "0.05",
        "-Q",
        "0x28",
        "198.18.0.2",
      );
      const { packets, stats } = await probe.result;
      // [direction, linktype, wire, caplen, ethertype, proto, tos, icmp type, sec]
      const icmp = (packets as number[][]).filter((p) => p[4] === 0x0800 && p[5] === 1);
      const requests = icmp.filter((p) => p[7] === 8);
      const replies = icmp.filter((p) => p[7] === 0);
      assertEquals(requests.length, 20);
      assertEquals(replies.length, 20);
      assert(requests.every((p) => p[0] === 5), "echo requests are outgoing (PACKET_OUTGOING+1)");
      assert(replies.every((p) => p[0] === 1), "echo replies are to us (PACKET_HOST+1)");
      assert(requests.every((p) => p[6] === 0x28), "requests carry ToS 0x28 (DSCP 10)");
      // 56 data + 8 ICMP + 20 IPv4 + 14 Ethernet = 98 bytes each, captured whole.
      assertEquals(icmp.reduce((s, p) => s + p[2]!, 0), 40 * 98);
      assert(icmp.every((p) => p[1] === 1 && p[3] === 98), "Ethernet link type, full caplen");
      const now = Date.now() / 1000;
      assert(icmp.every((p) => Math.abs(p[8]! - now) < 60), "timestamps are wall-clock seconds");
      // The "ip" filter runs in the kernel: no ARP reaches us.
      assert((packets as number[][]).every((p) => p[4] === 0x0800), "only IPv4 (IPv6 is off)");
      assertEquals(stats.received, packets.length);
      assertEquals(stats.dropped, 0);
      assertEquals(stats.ifDropped, 0);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "a live capture on loopback sees Ethernet frames, each packet out and in",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      await must("ip", "-n", NS_A, "link", "set", "lo", "up");
      const probe = await startProbe("capture", "lo", "3000");
      assert(probe.ready);
      await must("ip", "netns", "exec", NS_A, "ping", "-c", "5", "-i", "0.05", "127.0.0.1");
      const { packets } = await probe.result;
      const requests = (packets as number[][]).filter((p) => p[5] === 1 && p[7] === 8);
      assertEquals(requests.length, 10);
      assertEquals(requests.filter((p) => p[0] === 5).length, 5, "outgoing copies");
      assertEquals(requests.filter((p) => p[0] === 1).length, 5, "incoming copies");
      assert(requests.every((p) => p[1] === 1 && p[2] === 98), "Ethernet link type");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "a live capture on a TUN device delivers raw IP packets",
  sanitizeResources: false,
  async fn() {
    const holder = new URL("./tun_holder.py", import.meta.url).pathname;
    let tun: Deno.ChildProcess | undefined;
    try {
      await testbed();
      tun = new Deno.Command("ip", {
        args: ["netns", "exec", NS_A, "python3", holder, "psH1-tun"],
        stdout: "piped",
      }).spawn();
      const line = await tun.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
      assertEquals(line.value?.trim(), "ready");
      await must(
        "ip",
        "-n",
        NS_A,
        "addr",
        "add",
        "198.18.5.1",
        "peer",
        "198.18.5.2",
        "dev",
        "psH1-tun",
      );
      await must("ip", "-n", NS_A, "link", "set", "psH1-tun", "up");
      const probe = await startProbe("capture", "psH1-tun", "3500");
      assert(probe.ready);
      // Nobody answers on the other side of the TUN device: ping fails, its requests are seen.
      await sh(
        "ip",
        "netns",
        "exec",
        NS_A,
        "ping",
        "-c",
        "5",
        "-i",
        "0.05",
        "-W",
        "1",
        "-Q",
        "0x28",
        "198.18.5.2",
      );
      const { packets } = await probe.result;
      const requests = (packets as number[][]).filter((p) => p[5] === 1 && p[7] === 8);
      assertEquals(requests.length, 5);
      // 56 data + 8 ICMP + 20 IPv4, no link header, link type 101, outgoing.
      assert(requests.every((p) => p[1] === 101 && p[2] === 84 && p[0] === 5 && p[6] === 0x28));
    } finally {
      if (tun) {
        tun.kill();
        await tun.status;
      }
      await cleanup();
    }
  },
});

Deno.test({
  name: "packets dropped by a full ring are counted and the counters accumulate",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      const probe = await startProbe("hold", "psH1-va", "5000");
      assert(probe.ready);
      // ~6000 frames of 1442 bytes into a 1 MiB ring nobody reads.
      await must(
        "ip",
        "netns",
        "exec",
        NS_A,
        "ping",
        "-f",
        "-c",
        "3000",
        "-s",
        "1400",
        "-q",
        "198.18.0.2",
      );
      const { before, delivered, after } = await probe.result;
      assert(before.dropped > 0, `no drops: ${JSON.stringify(before)}`);
      assert(delivered > 0 && delivered < 6000, `delivered ${delivered}`);
      // PACKET_STATISTICS resets on each read: ours must not.
      assert(after.dropped >= before.dropped && after.received >= before.received);
      assertEquals(after.received, delivered + after.dropped);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "opening a missing or down interface gives codes -3 and -4",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      const missing = JSON.parse(
        await must("ip", "netns", "exec", NS_A, DENO, "run", "-A", PROBE, "open", "psH1-nope"),
      );
      assertEquals(missing.code, Status.NO_SUCH_INTERFACE);
      assert(missing.message.includes("no such interface: psH1-nope"), missing.message);
      const down = JSON.parse(
        await must("ip", "netns", "exec", NS_A, DENO, "run", "-A", PROBE, "open", "psH1-down"),
      );
      assertEquals(down.code, Status.INTERFACE_DOWN);
      assert(down.message.includes("psH1-down is down"), down.message);
      const up = JSON.parse(
        await must("ip", "netns", "exec", NS_A, DENO, "run", "-A", PROBE, "open", "psH1-va"),
      );
      assertEquals(up.code, 0);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "opening a capture without CAP_NET_RAW gives code -5",
  sanitizeResources: false,
  async fn() {
    // As root, execve keeps only the capabilities of the bounding set: drop CAP_NET_RAW there.
    const r = JSON.parse(
      await must("setpriv", "--bounding-set=-net_raw", DENO, "run", "-A", PROBE, "open", "lo"),
    );
    assertEquals(r.code, Status.NOT_PERMITTED);
    assert(r.message.includes("needs CAP_NET_RAW"), r.message);
  },
});

Deno.test({
  name: "an interface going down during a capture ends it with code -4",
  sanitizeResources: false,
  async fn() {
    try {
      await testbed();
      const probe = await startProbe("capture", "psH1-va", "5000");
      assert(probe.ready);
      await must("ip", "-n", NS_A, "link", "set", "psH1-va", "down");
      const r = await probe.result;
      assertEquals(r.code, Status.INTERFACE_DOWN, JSON.stringify(r));
      assert(r.message.includes("psH1-va went down"), r.message);
    } finally {
      await cleanup();
    }
  },
});

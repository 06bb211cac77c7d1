/**
 * The `observe` command end to end: argument errors, capture files, --output/--write, agreement
 * with the original on real.pcap, and a live capture in a network namespace ended by SIGINT.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { havePeer, PEER } from "../peer.ts";
import { capturing } from "../e2e/lib/capturing.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const BIN = `${ROOT}bin/pathspider`;
const DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";

function run(args: string[]): { code: number; out: string; err: string } {
  const r = new Deno.Command(BIN, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

function sh(cmd: string[], check = true): string {
  const r = new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .outputSync();
  if (check && r.code !== 0) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
  return new TextDecoder().decode(r.stdout);
}

Deno.test("observe --list-chains prints the original's listing", () => {
  const r = run(["observe", "--list-chains"]);
  assertEquals(r.code, 0);
  assertEquals(
    r.out,
    "The following chains are available:\n\nicmp\nbasic\ntfo\ntcp\ndscp\ndns\nnoop\nudp\nevil\n" +
      "ecn\nmss\n\nSpider safely!\n",
  );
});

Deno.test("observe: an unknown chain is a one-line error listing the available chains", () => {
  const r = run(["observe", "-i", `${DATA}/tcp_ipv4_simple.pcap`, "basic", "nosuch"]);
  assertEquals(r.code, 2);
  assertEquals(r.out, "");
  assertEquals(r.err.trim().split("\n").length, 1);
  assert(r.err.includes("nosuch"));
  assert(r.err.includes("available: icmp, basic"));
});

Deno.test("observe: a missing interface, a missing file and a non-capture file are one line each", () => {
  // a capture whose file header is cut short
  const cut = Deno.makeTempFileSync({ suffix: ".pcap" });
  Deno.writeFileSync(cut, Deno.readFileSync(`${DATA}/tcp_http.pcap`).subarray(0, 10));
  try {
    for (
      const [arg, text] of [
        ["psnosuch0", "does not exist"],
        [`${DATA}/nosuch.pcap`, "nosuch.pcap"],
        [`${DATA}/webtest.csv`, "webtest.csv"],
        [cut, `${cut}: truncated capture file`],
      ] as const
    ) {
      const r = run(["observe", "-q", "-i", arg, "basic"]);
      assertEquals(r.code, 3, arg);
      assertEquals(r.err.trim().split("\n").length, 1, r.err);
      assert(r.err.startsWith("pathspider: ") && r.err.includes(text), r.err);
      assert(!r.err.includes("    at "), "no stack trace");
    }
  } finally {
    Deno.removeSync(cut);
  }
});

Deno.test("observe: pcapng files and the original's prefixes are read", () => {
  const plain = run(["observe", "-q", "-i", `${DATA}/icmp_ttl.pcap`, "basic"]);
  const prefixed = run(["observe", "-q", "-i", `pcap:${DATA}/icmp_ttl.pcap`, "basic"]);
  assertEquals(plain.code, 0);
  assertEquals(plain.out.trim().split("\n").length, 297);
  assertEquals(prefixed.out, plain.out);
});

Deno.test("observe: --output writes the records, --write keeps every packet, the summary counts", () => {
  const dir = Deno.makeTempDirSync({ prefix: "psobs-" });
  try {
    const r = run([
      "observe",
      "-i",
      `${DATA}/tcp_http.pcap`,
      "--output",
      `${dir}/flows.ndjson`,
      "--write",
      `${dir}/copy.pcap`,
      "basic",
      "tcp",
    ]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out, "");
    assert(
      /^pathspider: 43 packets, 3 flows \(0 ignored\), 0 non-IP, 0 short, 0 malformed/.test(r.err),
      r.err,
    );
    const flows = Deno.readTextFileSync(`${dir}/flows.ndjson`);
    assertEquals(flows.trim().split("\n").length, 3);
    // the copy gives the same records
    const again = run(["observe", "-q", "-i", `${dir}/copy.pcap`, "basic", "tcp"]);
    assertEquals(again.out, flows);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

const PEER_ORDERED = `${ROOT}tests/unit/peer_ordered.py`;

Deno.test({
  name: "observe prints what the original prints, byte for byte, in the same order",
  ignore: !havePeer,
  fn() {
    // the original with insertion-ordered timer bins (its only source of run-to-run variation),
    // and without its private `_idle_bin` key (docs/differences.md)
    const cases: [string, string[]][] = [
      ["real.pcap", ["basic", "tcp", "ecn", "dscp"]],
      ["icmp_ttl.pcap", ["basic", "tcp", "ecn", "dscp", "udp", "icmp"]],
      ["tcp_http.pcap", ["basic", "tcp", "udp", "icmp", "noop"]],
      ["basic_ipv6_udp.pcap", ["basic", "udp", "dscp"]],
      ["ecn_ipv6_unreachable_ce_on_syn.pcap", ["basic", "ecn", "icmp"]],
    ];
    for (const [file, chains] of cases) {
      const ours = run(["observe", "-q", "-i", `${DATA}/${file}`, ...chains]);
      assertEquals(ours.code, 0, ours.err);
      const peer = new Deno.Command("/usr/bin/python3", {
        args: [PEER_ORDERED, "observe", "-i", `pcap:${DATA}/${file}`, ...chains],
        env: { PSPDR_PEER: PEER },
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const theirs = new TextDecoder().decode(peer.stdout).replace(/, "_idle_bin": \d+/g, "");
      assert(theirs.length > 0, file);
      assertEquals(ours.out, theirs, file);
    }
    const real = cases[0]!;
    assertEquals(
      run(["observe", "-q", "-i", `${DATA}/${real[0]}`, ...real[1]]).out.split("\n").length,
      6318,
    );
  },
});

Deno.test("observe: a capture from a pipe that goes quiet still ends on SIGINT, flushing its flows", async () => {
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/capture.pcap`;
  sh(["mkfifo", fifo]);
  const child = new Deno.Command(BIN, {
    args: ["observe", "-i", fifo, "basic", "tcp"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let writer: Deno.FsFile | undefined;
  try {
    // opening blocks until observe opens the other end
    writer = await Deno.open(fifo, { write: true });
    const file = `${DATA}/tcp_http.pcap`;
    await writer.write(await Deno.readFile(file));
    // the pipe stays open and quiet: the library's reader thread waits in read()
    await new Promise((r) => setTimeout(r, 1500));
    const sent = Date.now();
    child.kill("SIGINT");
    const out = await child.output();
    const waited = Date.now() - sent;
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, err);
    assert(waited < 5000, `took ${waited} ms to stop`);
    // every flow of the capture is written, as when reading the file itself
    assertEquals(
      new TextDecoder().decode(out.stdout),
      run(["observe", "-i", file, "basic", "tcp"]).out,
    );
    assert(/^pathspider: 43 packets, /.test(err), err);
  } finally {
    writer?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "observe refuses a down interface, and on a live one ends on SIGINT, flushing the flows",
  ignore: Deno.uid() !== 0,
  async fn() {
    const ns = `psobs-${Deno.pid}`;
    // names and subnet per process: gates of several worktrees run this test at once, and a
    // fixed name let one run delete the other's interface ("went down")
    const tag = Deno.pid % 100000;
    const A = `psoA${tag}`, B = `psoB${tag}`;
    const net = `198.18.${100 + (tag % 150)}`;
    const cleanup = () => {
      sh(["ip", "netns", "del", ns], false);
      sh(["ip", "link", "del", A], false);
    };
    cleanup();
    try {
      sh(["ip", "netns", "add", ns]);
      sh(["ip", "link", "add", A, "type", "veth", "peer", "name", B]);
      // the peer end is down while still in this namespace: observe refuses it
      const down = run(["observe", "-i", B, "basic"]);
      assertEquals(down.code, 3);
      assert(down.err.startsWith(`pathspider: interface ${B} is not up`), down.err);
      sh(["ip", "link", "set", B, "netns", ns]);
      sh(["ip", "addr", "add", `${net}.1/24`, "dev", A]);
      sh(["ip", "link", "set", A, "up"]);
      sh(["ip", "-n", ns, "addr", "add", `${net}.2/24`, "dev", B]);
      sh(["ip", "-n", ns, "link", "set", B, "up"]);
      const child = new Deno.Command(BIN, {
        args: ["observe", "-i", A, "basic", "icmp"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await capturing(A);
      sh(["ping", "-c", "3", "-i", "0.2", "-W", "1", `${net}.2`]);
      child.kill("SIGINT");
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout);
      const err = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, err);
      const recs = text.trim().split("\n").map((l) => JSON.parse(l));
      const icmp = recs.find((r) => r.proto === 1 && r.dip === `${net}.2`);
      assert(icmp, text);
      assertEquals([icmp.pkt_fwd, icmp.pkt_rev], [3, 3]);
      assert(/^pathspider: \d+ packets, \d+ flows .* kernel drops\n$/.test(err), err);
    } finally {
      cleanup();
    }
  },
});

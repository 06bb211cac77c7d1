/**
 * Forge benchmark: `measure evilbit` and `measure udpzero` with ours and with the original
 * PATHspider on the same N targets (default 1000, IPv4) in one run, and the raw send rate of the
 * forge path in packets/s (ours, and Scapy's `send()`, which the original forges with).
 *
 * The testbed has no added delay: 5% of the targets are silent, 5% drop evil-bit packets and 5%
 * drop zero-checksum UDP, so the conditions are not all alike. Each tool runs with 100 workers
 * (`-w 100`); the original needs a little traffic on the interface to notice the end of its
 * input, so a ping runs every 200 ms during every run (both tools, for fairness).
 *
 *   deno run -A bench/forge.ts [N]      results in bench/out/forge.{txt,json}; needs root
 *
 * @module
 */
import { cleanupStale, run, Testbed } from "../tests/e2e/lib/testbed.ts";
import { type TimedMeasure, timedMeasure } from "./lib/timed_measure.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const PEER = Deno.env.get("PEER") ?? `${ROOT}../shared/peer/pspdr-peer`;
const N = Number(Deno.args[0] ?? 1000);
const PREFIX = "psbf";
/** Packets for the raw send rate. */
const RAW_PACKETS = Number(Deno.env.get("RAW_PACKETS") ?? 200_000);
/** Packets for Scapy's send rate (it is slow). */
const SCAPY_PACKETS = Number(Deno.env.get("SCAPY_PACKETS") ?? 1_000);
/** A client-side address whose packets the router drops: the raw rate measures the sender. */
const SINK = "198.18.200.1";

interface Run extends TimedMeasure {
  tool: string;
  plugin: string;
}

async function measure(tb: Testbed, tool: string, plugin: string, argv: string[], jobs: string) {
  const m = await timedMeasure(tb, argv, jobs, {
    timeFile: `${OUT}/forge-time.txt`,
    outFile: `${OUT}/forge-${tool}-${plugin}.ndjson`,
  }, 600_000);
  return { tool, plugin, ...m };
}

/** Our raw send rate: RAW_PACKETS forged UDP packets, built and sent in batches of 256. */
const RAW_SCRIPT = `
import { RawSender } from "${ROOT}src/ffi/raw.ts";
import { buildPacket } from "${ROOT}src/wire/build.ts";
const n = ${RAW_PACKETS};
const raw = RawSender.open();
const payload = new Uint8Array(34);
const batch = 256;
let sent = 0, failed = 0;
const t0 = performance.now();
for (let i = 0; i < n; i += batch) {
  const pkts = [];
  for (let k = 0; k < batch && i + k < n; k++) {
    pkts.push(buildPacket({ src: "198.18.0.2", dst: "${SINK}", id: 1 + ((i + k) & 0x7fff),
      l4: { proto: "udp", sport: 61000 + ((i + k) & 1023), dport: 53, payload } }));
  }
  for (const s of raw.send(pkts)) s === 0 ? sent++ : failed++;
}
const secs = (performance.now() - t0) / 1000;
// the FFI and kernel part alone: one batch of 256 built packets sent over and over
const fixed = [];
for (let k = 0; k < batch; k++) {
  fixed.push(buildPacket({ src: "198.18.0.2", dst: "${SINK}", id: 1 + k,
    l4: { proto: "udp", sport: 61000 + k, dport: 53, payload } }));
}
let sentOnly = 0;
const t1 = performance.now();
for (let i = 0; i < n; i += batch) for (const s of raw.send(fixed)) if (s === 0) sentOnly++;
const secsOnly = (performance.now() - t1) / 1000;
raw.close();
console.log(JSON.stringify({ sent, failed, secs, pps: sent / secs, sentOnly, ppsOnly: sentOnly / secsOnly }));
`;

/** Scapy's send rate, the original's forge path (one send() per packet, as its ForgeSpider). */
const SCAPY_SCRIPT = `
import json, sys, time
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from scapy.all import IP, UDP, Raw, send
n = ${SCAPY_PACKETS}
t0 = time.time()
for i in range(n):
    send(IP(src="198.18.0.2", dst="${SINK}")/UDP(sport=61000 + (i & 1023), dport=53)/Raw(b"x" * 34), verbose=0)
secs = time.time() - t0
print(json.dumps({"sent": n, "secs": secs, "pps": n / secs}))
`;

await Deno.mkdir(OUT, { recursive: true });
await cleanupStale(PREFIX);
console.error(`bench: building a testbed of ${N} targets`);
const targets = Array.from({ length: N }, (_, i) => ({
  name: `t${i}`,
  v6: false,
  behaviour: i % 20 === 0 ? ["offline" as const] : [],
}));
const tb = await Testbed.create({ prefix: PREFIX, targets, servers: ["dns"] });
const runs: Run[] = [];
let rawOurs: Record<string, number> | undefined;
let rawScapy: Record<string, number> | undefined;
try {
  const rules: string[] = [];
  tb.targets.forEach((t, i) => {
    if (i % 20 === 1) rules.push(`ip daddr ${t.v4} ip frag-off & 0x8000 != 0 drop`);
    if (i % 20 === 2) rules.push(`ip daddr ${t.v4} udp checksum 0 drop`);
  });
  const nftFile = `${tb.dir}/forge-bench.nft`;
  await Deno.writeTextFile(
    nftFile,
    // the raw-rate sink is dropped before routing (it has no route: no ICMP errors either)
    `add chain inet testbed sink { type filter hook prerouting priority raw; }\n` +
      `add rule inet testbed sink ip daddr ${SINK} drop\n` +
      rules.map((r) => `add rule inet testbed forward ${r}\n`).join(""),
  );
  await run(["nft", "-f", nftFile], { ns: tb.routerNs, check: true });
  // the original's forge plugins need `dp` in every job (they have no default port)
  const jobsFor = (dp: number) =>
    tb.targets.map((t) => JSON.stringify({ dip: t.v4, dp, domain: t.domain })).join("\n") + "\n";
  const ours = [`${ROOT}bin/pathspider`, "measure", "-w", "100", "-i", tb.clientIface];
  const orig = [PEER, "measure", "-w", "100", "-i", tb.clientIface];
  const havePeer = (await Deno.stat(PEER).catch(() => null)) !== null;
  for (const plugin of ["evilbit", "udpzero"]) {
    for (const [tool, argv] of [["ours", ours], ["original", orig]] as const) {
      if (tool === "original" && !havePeer) continue;
      // the original's evilbit needs its own name for the tcp mode
      const extra = tool === "original" && plugin === "evilbit" ? ["--connect", "tcpsyn"] : [];
      console.error(`bench: ${tool} measure ${plugin} < ${N} jobs`);
      const jobs = jobsFor(plugin === "evilbit" ? 80 : 53);
      runs.push(await measure(tb, tool, plugin, [...argv, plugin, ...extra], jobs));
    }
  }
  const script = `${tb.dir}/raw.ts`;
  await Deno.writeTextFile(script, RAW_SCRIPT);
  console.error(`bench: raw send rate, ${RAW_PACKETS} packets`);
  const r = await tb.exec([`${ROOT}.tools/bin/deno`, "run", "-A", script], tb.clientNs, {
    env: { PATHSPIDER_CAPTURE_LIB: `${ROOT}capture-ffi/target/release/libpathspider_capture.so` },
    timeoutMs: 600_000,
  });
  rawOurs = JSON.parse(r.stdout.trim().split("\n").pop()!);
  const py = `${tb.dir}/scapy_rate.py`;
  await Deno.writeTextFile(py, SCAPY_SCRIPT);
  console.error(`bench: Scapy send rate, ${SCAPY_PACKETS} packets`);
  const s = await tb.exec(["python3", py], tb.clientNs, { timeoutMs: 600_000 });
  if (s.code === 0) rawScapy = JSON.parse(s.stdout.trim().split("\n").pop()!);
  else console.error(`bench: Scapy failed: ${s.stderr.trim().split("\n").pop()}`);
} finally {
  await tb.destroy();
}

const lines = [
  `measure evilbit / udpzero, ${N} jobs (IPv4 targets, no delay, 5% silent), -w 100`,
  `${"tool".padEnd(10)} ${"plugin".padEnd(8)} ${"wall".padStart(8)} ${"jobs/s".padStart(8)} ${
    "cpu".padStart(8)
  } ${"rss MiB".padStart(8)} ${"results".padStart(8)}`,
  ...runs.map((r) =>
    `${r.tool.padEnd(10)} ${r.plugin.padEnd(8)} ${r.wall.toFixed(1).padStart(7)}s ${
      (N / r.wall).toFixed(1).padStart(8)
    } ${r.cpu.toFixed(1).padStart(7)}s ${r.rssMiB.toFixed(0).padStart(8)} ${
      String(r.results.size).padStart(8)
    }`
  ),
];
for (const plugin of ["evilbit", "udpzero"]) {
  const a = runs.find((r) => r.tool === "ours" && r.plugin === plugin);
  const b = runs.find((r) => r.tool === "original" && r.plugin === plugin);
  if (!a || !b) continue;
  let same = 0;
  for (const [k, v] of a.results) if (b.results.get(k) === v) same++;
  lines.push(
    `${plugin}: same conditions for ${same}/${N} jobs; ours ${
      (b.wall / a.wall).toFixed(1)
    }x the original's speed`,
  );
}
if (rawOurs) {
  lines.push(
    `raw send (build + send, batches of 256): ${rawOurs.sent} packets in ${
      rawOurs.secs!.toFixed(2)
    } s = ${Math.round(rawOurs.pps!)} packets/s (${rawOurs.failed} refused); send only ` +
      `(pre-built batch of 256): ${Math.round(rawOurs.ppsOnly!)} packets/s`,
  );
}
if (rawScapy) {
  lines.push(
    `Scapy send() (the original's forge path): ${rawScapy.sent} packets in ${
      rawScapy.secs!.toFixed(2)
    } s = ${Math.round(rawScapy.pps!)} packets/s`,
  );
}
for (const r of runs) lines.push(`${r.tool} ${r.plugin}: ${r.summary}`);
const text = lines.join("\n") + "\n";
await Deno.writeTextFile(`${OUT}/forge.txt`, text);
await Deno.writeTextFile(
  `${OUT}/forge.json`,
  JSON.stringify(
    { runs: runs.map((r) => ({ ...r, results: r.results.size })), rawOurs, rawScapy },
    null,
    2,
  ),
);
console.log(text);

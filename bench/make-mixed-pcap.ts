/**
 * Writes the observe benchmark's capture: about 17,000 flows and more than 200,000 packets of
 * mixed traffic (TCP connections with handshake, data and FIN; unanswered SYNs; DNS-like UDP),
 * a third over IPv6, some with ECN negotiation, ECT/CE marks and DSCP marks. Deterministic: the
 * same file on every run.
 *   deno run -A bench/make-mixed-pcap.ts [OUT] [FLOWS]   (default bench/out/mixed.pcap, 17000)
 *
 * @module
 */
import { ECN, PcapFile, rng } from "../examples/lib/synth.ts";
import { tcpFlow, type TimedPacket, udpFlow } from "../examples/lib/flows.ts";

const out = Deno.args[0] ?? new URL("./out/mixed.pcap", import.meta.url).pathname;
const flows = Number(Deno.args[1] ?? 17000);
const rand = rng(20261122);
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const t0 = 1700000000;
const span = 120; // seconds over which flows start
const all: TimedPacket[] = [];
for (let i = 0; i < flows; i++) {
  const v6 = rand() < 0.33;
  const client = v6
    ? `fd00:c::${(1 + (i % 4000)).toString(16)}`
    : `198.18.${(i >> 8) & 0x3f}.${1 + (i & 0xfe)}`;
  const server = v6
    ? `fd00:5::${(1 + int(0, 1999)).toString(16)}`
    : `198.19.${int(0, 7)}.${int(1, 254)}`;
  const start = t0 + (i / flows) * span + rand() * 0.01;
  const rtt = 0.005 + rand() * 0.2;
  const sport = 1024 + ((i * 7) % 64000);
  const dscp = rand() < 0.1 ? pick([8, 10, 18, 26, 34, 46]) : 0;
  if (rand() < 0.7) {
    const ecn = rand();
    all.push(...tcpFlow({
      client,
      server,
      sport,
      dport: pick([80, 443, 443, 443, 8080, 25]),
      start,
      rtt,
      ecnSyn: ecn < 0.3,
      ecnAck: ecn < 0.22,
      ceAt: ecn < 0.03 ? 0 : undefined,
      dscpFwd: dscp,
      dscpRev: rand() < 0.5 ? dscp : 0,
      requestLen: int(40, 600),
      segments: int(1, 14),
      segLen: rand() < 0.6 ? 1448 : int(100, 1400),
      unanswered: rand() < 0.03 ? 2 : undefined,
    }));
  } else {
    all.push(...udpFlow({
      client,
      server,
      sport,
      dport: rand() < 0.8 ? 53 : 123,
      start,
      rtt,
      dscpFwd: dscp,
      ecnFwd: rand() < 0.05 ? ECN.ECT0 : 0,
      unanswered: rand() < 0.05,
    }));
  }
}
all.sort((a, b) => a.t - b.t);
await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
const w = new PcapFile(out);
for (const { t, p } of all) w.packet(t, p);
w.close();
console.error(`make-mixed-pcap: wrote ${w.count} packets of ${flows} flows to ${out}`);

/**
 * Writes examples/example.pcap: a handful of flows that exercise what `observe basic tcp ecn dscp`
 * reports. Deterministic; run `deno run -A examples/make-example-pcap.ts [OUT]`.
 *
 * | flows                                | what they show                                       |
 * | ------------------------------------ | ---------------------------------------------------- |
 * | 198.18.0.2 → 198.19.0.1:80           | ECN negotiated, ECT(0) data both ways                 |
 * | 198.18.0.2 → 198.19.0.2:80           | ECN asked, not agreed; DSCP 46 (EF) forward           |
 * | 198.18.0.2 → 198.19.0.3:80           | ECN negotiated, a CE mark, ECE echo and CWR           |
 * | 198.18.0.2 → 198.19.0.4:80           | ECN SYN never answered (3 retransmissions)            |
 * | fd00:c::2 → fd00:5::1:80             | IPv6, ECN negotiated, DSCP 10 (AF11) both ways        |
 * | fd00:c::2 → fd00:5::2:443            | IPv6, no ECN, replies remarked to DSCP 8 (CS1)        |
 * | 198.18.0.2 / fd00:c::2 → :53 (UDP)   | DNS-like exchanges, one with ECT(0)                   |
 *
 * @module
 */
import { ECN, PcapFile } from "./lib/synth.ts";
import { tcpFlow, type TimedPacket, udpFlow } from "./lib/flows.ts";

const out = Deno.args[0] ?? new URL("./example.pcap", import.meta.url).pathname;
const t0 = 1700000000;
const rtt = 0.02;
const pkts: TimedPacket[] = [
  ...tcpFlow({
    client: "198.18.0.2",
    server: "198.19.0.1",
    sport: 40001,
    dport: 80,
    start: t0,
    rtt,
    ecnSyn: true,
    ecnAck: true,
  }),
  ...tcpFlow({
    client: "198.18.0.2",
    server: "198.19.0.2",
    sport: 40002,
    dport: 80,
    start: t0 + 0.1,
    rtt,
    ecnSyn: true,
    ecnAck: false,
    dscpFwd: 46,
  }),
  ...tcpFlow({
    client: "198.18.0.2",
    server: "198.19.0.3",
    sport: 40003,
    dport: 80,
    start: t0 + 0.2,
    rtt,
    ecnSyn: true,
    ecnAck: true,
    segments: 6,
    ceAt: 1,
  }),
  ...tcpFlow({
    client: "198.18.0.2",
    server: "198.19.0.4",
    sport: 40004,
    dport: 80,
    start: t0 + 0.3,
    rtt,
    ecnSyn: true,
    unanswered: 3,
  }),
  ...tcpFlow({
    client: "fd00:c::2",
    server: "fd00:5::1",
    sport: 40005,
    dport: 80,
    start: t0 + 0.4,
    rtt,
    ecnSyn: true,
    ecnAck: true,
    dscpFwd: 10,
    dscpRev: 10,
  }),
  ...tcpFlow({
    client: "fd00:c::2",
    server: "fd00:5::2",
    sport: 40006,
    dport: 443,
    start: t0 + 0.5,
    rtt,
    dscpRev: 8,
  }),
  ...udpFlow({ client: "198.18.0.2", server: "198.19.0.53", sport: 50001, start: t0 + 0.6, rtt }),
  ...udpFlow({
    client: "198.18.0.2",
    server: "198.19.0.53",
    sport: 50002,
    start: t0 + 0.65,
    rtt,
    ecnFwd: ECN.ECT0,
  }),
  ...udpFlow({ client: "fd00:c::2", server: "fd00:5::53", sport: 50003, start: t0 + 0.7, rtt }),
];
pkts.sort((a, b) => a.t - b.t);
const w = new PcapFile(out);
for (const { t, p } of pkts) w.packet(t, p);
w.close();
console.error(`make-example-pcap: wrote ${w.count} packets to ${out}`);

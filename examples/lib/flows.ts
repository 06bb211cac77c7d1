/**
 * Plausible flows for synthetic captures: a TCP connection (handshake with or without ECN
 * negotiation, request, response segments with optional ECT/CE marks and the ECE/CWR feedback,
 * FIN teardown), an unanswered TCP connection attempt, and a DNS-like UDP exchange.
 * Each returns its packets with timestamps; callers interleave flows by sorting on time.
 *
 * @module
 */
import { addr, ECN, type PacketSpec, TCP } from "./synth.ts";

/** A packet of a flow and the time it is seen. */
export interface TimedPacket {
  t: number;
  p: PacketSpec;
}

/** What a TCP flow looks like. */
export interface TcpFlow {
  client: string;
  server: string;
  sport: number;
  dport: number;
  /** time of the SYN, seconds */
  start: number;
  /** round-trip time, seconds */
  rtt: number;
  /** ask for ECN in the SYN (ECE|CWR) */
  ecnSyn?: boolean;
  /** the server agrees (ECE in the SYN-ACK) */
  ecnAck?: boolean;
  /** codepoint of data segments in both directions (default: ECT0 when negotiated) */
  dataEcn?: number;
  /** index of a server segment that a router marked CE (the client then echoes ECE) */
  ceAt?: number;
  /** DSCP of client→server packets */
  dscpFwd?: number;
  /** DSCP of server→client packets */
  dscpRev?: number;
  requestLen?: number;
  /** number of server data segments */
  segments?: number;
  /** payload bytes per segment, at most what a 1500-byte MTU allows (the default) */
  segLen?: number;
  /** the SYN is never answered: this many retransmissions follow (1 s, 2 s apart...) */
  unanswered?: number;
}

/** The packets of one TCP flow. */
export function tcpFlow(f: TcpFlow): TimedPacket[] {
  const c = addr(f.client), s = addr(f.server);
  const out: TimedPacket[] = [];
  const half = f.rtt / 2;
  let t = f.start;
  const isnC = (f.sport * 7919) >>> 0, isnS = (f.sport * 104729 + 17) >>> 0;
  const fwd = (o: Partial<PacketSpec>): PacketSpec => ({
    src: c,
    dst: s,
    proto: 6,
    sport: f.sport,
    dport: f.dport,
    dscp: f.dscpFwd ?? 0,
    ...o,
  });
  const rev = (o: Partial<PacketSpec>): PacketSpec => ({
    src: s,
    dst: c,
    proto: 6,
    sport: f.dport,
    dport: f.sport,
    dscp: f.dscpRev ?? 0,
    ...o,
  });
  const synFlags = TCP.SYN | (f.ecnSyn ? TCP.ECE | TCP.CWR : 0);
  out.push({ t, p: fwd({ seq: isnC, flags: synFlags, mss: 1460, window: 64240 }) });
  if (f.unanswered !== undefined) {
    let gap = 1;
    for (let i = 0; i < f.unanswered; i++) {
      t += gap;
      gap *= 2;
      out.push({ t, p: fwd({ seq: isnC, flags: synFlags, mss: 1460, window: 64240 }) });
    }
    return out;
  }
  const ecnOn = !!(f.ecnSyn && f.ecnAck);
  const mark = f.dataEcn ?? (ecnOn ? ECN.ECT0 : ECN.NOT_ECT);
  t += half;
  out.push({
    t,
    p: rev({
      seq: isnS,
      ack: isnC + 1,
      flags: TCP.SYN | TCP.ACK | (ecnOn ? TCP.ECE : 0),
      mss: 1460,
      window: 65160,
    }),
  });
  t += half;
  let cseq = isnC + 1, sseq = isnS + 1;
  out.push({ t, p: fwd({ seq: cseq, ack: sseq, flags: TCP.ACK }) });
  const req = f.requestLen ?? 80;
  out.push({
    t: t + 0.0001,
    p: fwd({ seq: cseq, ack: sseq, flags: TCP.PSH | TCP.ACK, payloadLen: req, ecn: mark }),
  });
  cseq += req;
  t += half;
  // a full segment fills a 1500-byte MTU: IPv6's header is 20 bytes longer than IPv4's
  const maxSeg = c.length === 16 ? 1428 : 1448;
  const n = f.segments ?? 4, len = Math.min(f.segLen ?? maxSeg, maxSeg);
  let echo = false, cwr = false;
  for (let i = 0; i < n; i++) {
    const ce = f.ceAt === i;
    out.push({
      t: t + i * 0.0002,
      p: rev({
        seq: sseq,
        ack: cseq,
        flags: TCP.ACK | (i === n - 1 ? TCP.PSH : 0) | (cwr ? TCP.CWR : 0),
        payloadLen: len,
        ecn: ce ? ECN.CE : mark,
        payloadByte: 0x30 + (i % 10),
      }),
    });
    if (cwr) {
      cwr = false;
      echo = false;
    }
    if (ce && ecnOn) echo = true;
    sseq += len;
    if (i % 2 === 1 || i === n - 1) {
      // the client acknowledges every second segment; ECE until the server's CWR
      out.push({
        t: t + half + i * 0.0002,
        p: fwd({ seq: cseq, ack: sseq, flags: TCP.ACK | (echo ? TCP.ECE : 0) }),
      });
      if (echo) cwr = true;
    }
  }
  t += half + n * 0.0002 + 0.001;
  out.push({ t, p: rev({ seq: sseq, ack: cseq, flags: TCP.FIN | TCP.ACK }) });
  t += half;
  out.push({ t, p: fwd({ seq: cseq, ack: sseq + 1, flags: TCP.FIN | TCP.ACK }) });
  t += half;
  out.push({ t, p: rev({ seq: sseq + 1, ack: cseq + 1, flags: TCP.ACK }) });
  return out;
}

/** What a DNS-like UDP exchange looks like. */
export interface UdpFlow {
  client: string;
  server: string;
  sport: number;
  dport?: number;
  start: number;
  rtt: number;
  /** payload sizes; by default a real DNS query and answer */
  queryLen?: number;
  answerLen?: number;
  dscpFwd?: number;
  dscpRev?: number;
  ecnFwd?: number;
  /** no answer */
  unanswered?: boolean;
}

/** A DNS message for `name`: a query for its A record, or the answer 198.19.0.80 (TTL 300). */
export function dnsMessage(id: number, name: string, answer: boolean): Uint8Array {
  const qname = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  const head = [id >> 8, id & 0xff, answer ? 0x84 : 0x01, 0, 0, 1, 0, answer ? 1 : 0, 0, 0, 0, 0];
  const question = [...qname, 0, 0, 1, 0, 1];
  const rr = answer ? [0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 198, 19, 0, 80] : [];
  return Uint8Array.from([...head, ...question, ...rr]);
}

/** The packets of one UDP exchange (query, answer). */
export function udpFlow(f: UdpFlow): TimedPacket[] {
  const c = addr(f.client), s = addr(f.server);
  const dport = f.dport ?? 53;
  const out: TimedPacket[] = [{
    t: f.start,
    p: {
      src: c,
      dst: s,
      proto: 17,
      sport: f.sport,
      dport,
      payload: f.queryLen ? undefined : dnsMessage(f.sport, "www.example.test", false),
      payloadLen: f.queryLen,
      dscp: f.dscpFwd ?? 0,
      ecn: f.ecnFwd ?? 0,
      payloadByte: 0x41,
    },
  }];
  if (!f.unanswered) {
    out.push({
      t: f.start + f.rtt,
      p: {
        src: s,
        dst: c,
        proto: 17,
        sport: dport,
        dport: f.sport,
        payload: f.answerLen ? undefined : dnsMessage(f.sport, "www.example.test", true),
        payloadLen: f.answerLen,
        dscp: f.dscpRev ?? 0,
        payloadByte: 0x42,
      },
    });
  }
  return out;
}

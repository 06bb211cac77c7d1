/**
 * The probe packets the forge plugins send: a bare TCP SYN (the original's "tcpsyn") and a DNS
 * query over UDP, each described for the packet builder with the IP fields the caller adds.
 *
 * @module
 */

import { buildQuery, QTYPE_A } from "../wire/dns.ts";
import type { Job } from "./plugin.ts";
import type { IpSpec, PacketSpec, UdpSpec } from "../wire/build.ts";
import { TCP_SYN } from "../wire/tcp.ts";

function random16(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0]!;
}

function random32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** IP fields of a probe from `src` to the job's target; a random IPv4 id (never 0). */
export function probeIp(job: Job, src: string, extra: Partial<IpSpec> = {}): IpSpec {
  return { src, dst: job.dip, id: random16() || 1, ...extra };
}

/** A TCP SYN to the job's port, random sequence number, no options, window 8192. */
export function synProbe(
  job: Job,
  src: { addr: string; port: number },
  ip: Partial<IpSpec> = {},
): PacketSpec {
  return {
    ...probeIp(job, src.addr, ip),
    l4: { proto: "tcp", sport: src.port, dport: Number(job.dp), flags: TCP_SYN, seq: random32() },
  };
}

/**
 * A DNS query (type A, recursion desired, random id) for the job's `domain` over UDP; null
 * when the job has no domain to ask for. `udp` adds UDP fields (zero checksum, options).
 */
export function dnsProbe(
  job: Job,
  src: { addr: string; port: number },
  ip: Partial<IpSpec> = {},
  udp: Partial<UdpSpec> = {},
): PacketSpec | null {
  const domain = job.domain;
  if (typeof domain !== "string" || domain === "") return null;
  const payload = buildQuery(random16(), domain, QTYPE_A);
  return {
    ...probeIp(job, src.addr, ip),
    l4: { proto: "udp", sport: src.port, dport: Number(job.dp), payload, ...udp },
  };
}

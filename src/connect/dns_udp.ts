/**
 * The `dnsudp` connection helper: one query for the job's `domain` over UDP; OK when a
 * well-formed response with the query's id comes back.
 *
 * @module
 */

import { SocketError } from "../ffi/sockets.ts";
import { buildQuery, parseResponse, QTYPE_A, QTYPE_AAAA } from "../wire/dns.ts";
import { failState, jobPort, openConnection, remaining, result } from "./socket_exchange.ts";
import {
  CONN_FAILED,
  CONN_OK,
  CONN_SKIPPED,
  type ConnectHelper,
  type ConnResult,
  type HelperCall,
} from "./types.ts";

/**
 * The query a DNS helper sends for a job: the job's `domain`, type AAAA for an IPv6 target and A
 * for an IPv4 one, as the issue asks (the original's code asked for A whatever the family).
 */
export function jobQuery(call: Pick<HelperCall, "job">): { id: number; msg: Uint8Array } | null {
  const domain = call.job.domain;
  if (typeof domain !== "string" || domain === "") return null;
  const [id = 0] = crypto.getRandomValues(new Uint16Array(1));
  const qtype = call.job.dip.includes(":") ? QTYPE_AAAA : QTYPE_A;
  try {
    return { id, msg: buildQuery(id, domain, qtype) };
  } catch {
    return null;
  }
}

async function run(call: HelperCall): Promise<ConnResult> {
  const deadline = performance.now() + call.timeoutMs;
  const port = jobPort(call, dnsUdpHelper.defaultPort);
  const q = jobQuery(call);
  // no domain to ask for: the connection is not attempted
  if (q === null) return result(null, CONN_SKIPPED);
  if (port === null) return result(null, CONN_FAILED);
  let c;
  try {
    c = await openConnection(call, "udp", port);
  } catch (e) {
    if (e instanceof SocketError) return result(null, CONN_FAILED);
    throw e;
  }
  const sock = c.socket;
  try {
    if (!c.ok) return result(c, failState(c));
    const sent = await sock.send(q.msg, remaining(deadline));
    if (!sent.ok) return result(c, failState(sent));
    for (;;) {
      // an ICMP port unreachable comes back here as ECONNREFUSED on the connected socket
      const got = await sock.recv(65535, remaining(deadline));
      if (!got.ok) return result(c, failState(got));
      const head = parseResponse(got.data);
      // a stray datagram (another id, garbage) is not the answer: keep waiting for it
      if (head !== null && head.id === q.id) return result(c, CONN_OK);
    }
  } finally {
    sock.close();
  }
}

/** A DNS query over UDP. */
export const dnsUdpHelper: ConnectHelper = {
  name: "dnsudp",
  defaultPort: 53,
  marks: true,
  opensAtCall: true,
  run,
};

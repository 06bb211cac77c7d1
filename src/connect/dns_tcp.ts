/**
 * The `dnstcp` connection helper: one query for the job's `domain` over TCP with the 2-byte
 * length prefix; OK when a well-formed response with the query's id comes back.
 *
 * @module
 */

import { SocketError } from "../ffi/sockets.ts";
import { frameTcp, parseResponse, tcpFrameLength } from "../wire/dns.ts";
import { jobQuery } from "./dns_udp.ts";
import {
  failState,
  jobPort,
  openConnection,
  readUntil,
  remaining,
  result,
} from "./socket_exchange.ts";
import {
  CONN_FAILED,
  CONN_OK,
  CONN_SKIPPED,
  CONN_TIMEOUT,
  type ConnectHelper,
  type ConnResult,
  type HelperCall,
} from "./types.ts";

async function run(call: HelperCall): Promise<ConnResult> {
  const deadline = performance.now() + call.timeoutMs;
  const port = jobPort(call, dnsTcpHelper.defaultPort);
  const q = jobQuery(call);
  if (q === null) return result(null, CONN_SKIPPED);
  if (port === null) return result(null, CONN_FAILED);
  const framed = frameTcp(q.msg);
  let c;
  try {
    c = await openConnection(call, "tcp", port, framed);
  } catch (e) {
    if (e instanceof SocketError) return result(null, CONN_FAILED);
    throw e;
  }
  const sock = c.socket;
  try {
    if (!c.ok) return result(c, failState(c));
    if (!call.opts.fastOpen) {
      const sent = await sock.send(framed, remaining(deadline));
      if (!sent.ok) return result(c, failState(sent));
    }
    const read = await readUntil(sock, deadline, 65537, (b) => tcpFrameLength(b) >= 0);
    if (read.end !== "complete") {
      return result(c, read.end === "timeout" ? CONN_TIMEOUT : CONN_FAILED);
    }
    const head = parseResponse(read.buf.subarray(2, 2 + tcpFrameLength(read.buf)));
    return result(c, head !== null && head.id === q.id ? CONN_OK : CONN_FAILED);
  } finally {
    sock.close();
  }
}

/** A DNS query over TCP. */
export const dnsTcpHelper: ConnectHelper = {
  name: "dnstcp",
  defaultPort: 53,
  marks: true,
  opensAtCall: true,
  run,
};

/**
 * The `http` connection helper: `GET /` with `Host:` from the job's `domain` (else the IP), read
 * the response head, close. Adds `http_response_code` and `http_response_header` as the
 * original (which used curl) does; the body is not read.
 *
 * @module
 */

import { SocketError } from "../../ffi/sockets.ts";
import { acceptsH2c, buildH2cUpgradeRequest } from "./h2_codec.ts";
import { buildGetRequest, headEnd, hostHeader, MAX_HEAD_BYTES, parseHead } from "./http_codec.ts";
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
  CONN_TIMEOUT,
  type ConnectHelper,
  type ConnResult,
  type HelperCall,
} from "./types.ts";

async function run(call: HelperCall): Promise<ConnResult> {
  const deadline = performance.now() + call.timeoutMs;
  const port = jobPort(call, httpHelper.defaultPort);
  if (port === null) return result(null, CONN_FAILED);
  const domain = typeof call.job.domain === "string" ? call.job.domain : undefined;
  let request: Uint8Array;
  let c;
  try {
    const host = hostHeader(call.job.dip, port, domain, false);
    request = call.opts.http2 ? buildH2cUpgradeRequest(host) : buildGetRequest(host);
    c = await openConnection(call, "tcp", port, request);
  } catch (e) {
    if (e instanceof SocketError || (e as Error).message?.startsWith("invalid host")) {
      return result(null, CONN_FAILED);
    }
    throw e;
  }
  const sock = c.socket;
  try {
    if (!c.ok) return result(c, failState(c));
    if (!call.opts.fastOpen) {
      const sent = await sock.send(request, remaining(deadline));
      if (!sent.ok) return result(c, failState(sent));
    }
    const read = await readUntil(sock, deadline, MAX_HEAD_BYTES, (b) => headEnd(b) >= 0);
    const head = parseHead(read.buf);
    if (head === null) return result(c, read.end === "timeout" ? CONN_TIMEOUT : CONN_FAILED);
    return {
      ...result(c, CONN_OK),
      http_response_code: head.status,
      http_response_header: head.text,
      // for the h2 plugin (which sets http2 on both its connections): the protocol agreed
      ...(call.opts.http2 === undefined ? {} : {
        http_version: acceptsH2c(head.status, head.text) ? "2" : head.version,
      }),
    };
  } finally {
    sock.close();
  }
}

/** GET / over a marked TCP socket. */
export const httpHelper: ConnectHelper = { name: "http", defaultPort: 80, marks: true, run };

/**
 * The `http` connection helper: `GET /` with `Host:` from the job's `domain` (else the IP), read
 * the response head, close. Adds `http_response_code` and `http_response_header` as the
 * original (which used curl) does; the body is not read.
 *
 * @module
 */

import { SocketError } from "../ffi/sockets.ts";
import { acceptsH2c, buildH2cUpgradeRequest } from "../wire/http2.ts";
import {
  buildGetRequest,
  CHUNKED,
  expectedBodyLength,
  headEnd,
  hostHeader,
  LAST_CHUNK,
  MAX_HEAD_BYTES,
  MAX_RESPONSE_BYTES,
  parseHead,
} from "../wire/http1.ts";
import type { Socket } from "../ffi/sockets.ts";
import { failState, jobPort, openConnection, remaining, result } from "./socket_exchange.ts";
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
    const read = await readResponse(sock, deadline);
    const head = parseHead(read.head);
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

/**
 * Reads the response: its head (kept, at most MAX_HEAD_BYTES) and its body (counted, not kept)
 * up to the Content-Length, the server's close ("Connection: close" asks for it) or
 * MAX_RESPONSE_BYTES. Reading the body as curl did matters: closing with unread bytes makes our
 * kernel answer with a RST instead of a FIN, and the observer would record it.
 */
async function readResponse(sock: Socket, deadline: number) {
  let head = new Uint8Array(0);
  let total = 0;
  let headDone = false;
  let want: number | null = null; // head + body bytes, once the head says
  let chunked = false;
  const tail = new Uint8Array(LAST_CHUNK.length); // the last bytes of a chunked body
  for (;;) {
    const io = await sock.recv(65536, remaining(deadline));
    if (!io.ok) return { head, end: io.timedOut ? "timeout" : "error" };
    if (io.data.length === 0) return { head, end: "eof" };
    total += io.data.length;
    if (!headDone) {
      const take = io.data.subarray(0, MAX_HEAD_BYTES - head.length);
      const next = new Uint8Array(head.length + take.length);
      next.set(head);
      next.set(take, head.length);
      head = next;
      const end = headEnd(head);
      if (end >= 0) {
        headDone = true;
        const body = expectedBodyLength(head);
        if (body === CHUNKED) chunked = true;
        else if (body !== null) want = end + body;
        head = head.subarray(0, end);
      }
    }
    if (want !== null && total >= want) return { head, end: "complete" };
    if (chunked) {
      // slide the tail window over the new bytes (a chunk may end in any read)
      const d = io.data;
      const k = Math.min(d.length, tail.length);
      tail.copyWithin(0, k);
      tail.set(d.subarray(d.length - k), tail.length - k);
      if (tail.every((b, i) => b === LAST_CHUNK[i])) return { head, end: "complete" };
    }
    if (total >= MAX_RESPONSE_BYTES || (!headDone && head.length >= MAX_HEAD_BYTES)) {
      return { head, end: "full" };
    }
  }
}

/** GET / over a marked TCP socket. */
export const httpHelper: ConnectHelper = {
  name: "http",
  defaultPort: 80,
  marks: true,
  opensAtCall: true,
  run,
};

/**
 * The `tcp` connection helper: the three-way handshake, then an orderly close (the original's
 * `connect_tcp`: connect, shutdown, close).
 *
 * @module
 */

import { SocketError } from "../ffi/sockets.ts";
import { buildGetRequest, hostHeader } from "../wire/http1.ts";
import { failState, jobPort, openConnection, result } from "./socket_exchange.ts";
import {
  CONN_FAILED,
  CONN_OK,
  type ConnectHelper,
  type ConnResult,
  type HelperCall,
} from "./types.ts";

async function run(call: HelperCall): Promise<ConnResult> {
  const port = jobPort(call, tcpHelper.defaultPort);
  if (port === null) return result(null, CONN_FAILED);
  let c;
  try {
    // fast open needs bytes for the SYN: the tfo plugin's tcp mode sends the http mode's GET
    const syn = call.opts.fastOpen ? fastOpenProbe(call, port) : undefined;
    c = await openConnection(call, "tcp", port, syn);
  } catch (e) {
    if (e instanceof SocketError) return result(null, CONN_FAILED);
    throw e;
  }
  c.socket.close();
  return result(c, c.ok ? CONN_OK : failState(c));
}

function fastOpenProbe(call: HelperCall, port: number): Uint8Array {
  const domain = typeof call.job.domain === "string" ? call.job.domain : undefined;
  try {
    return buildGetRequest(hostHeader(call.job.dip, port, domain, false));
  } catch {
    return buildGetRequest(hostHeader(call.job.dip, port, undefined, false));
  }
}

/** 3WHS only (with fast open: a GET on the SYN, then close after the handshake). */
export const tcpHelper: ConnectHelper = {
  name: "tcp",
  defaultPort: 80,
  marks: true,
  opensAtCall: true,
  run,
};

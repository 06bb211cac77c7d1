/**
 * The `tcp` connection helper: the three-way handshake, then an orderly close (the original's
 * `connect_tcp`: connect, shutdown, close).
 *
 * @module
 */

import { SocketError } from "../../ffi/sockets.ts";
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
    c = await openConnection(call, "tcp", port);
  } catch (e) {
    if (e instanceof SocketError) return result(null, CONN_FAILED);
    throw e;
  }
  c.socket.close();
  return result(c, c.ok ? CONN_OK : failState(c));
}

/** 3WHS only. */
export const tcpHelper: ConnectHelper = { name: "tcp", defaultPort: 80, marks: true, run };

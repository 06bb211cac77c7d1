/**
 * Types shared by the connection helpers (`tcp`, `http`, `https`, `dnsudp`, `dnstcp`).
 *
 * A helper makes one connection for one job and reports, as the original's helpers do, the
 * local port and a `spdr_state`; it never throws for a network outcome (refused, reset,
 * timeout, garbage reply are all states). Unlike the original, a failed or timed-out
 * connection reports the local port it really used (docs/differences.md).
 *
 * @module
 */

import type { Reactor } from "../ffi/sockets.ts";
import type { ConnectionOptions, Job } from "../plugins/plugin.ts";

export { CONN_FAILED, CONN_OK, CONN_SKIPPED, CONN_TIMEOUT } from "../plugins/plugin.ts";

/**
 * The options of one connection, for the helpers and the engine alike: the plugin's
 * per-connection options (`tos`, `mss`, `fastOpen`, `http2`: `ConnectionOptions`) and the source
 * address. The engine's `Connector` takes these with `source` set and the timeout beside them.
 */
export interface ConnectOptions extends ConnectionOptions {
  /** Source address to bind (the original's `source` option); the port stays ephemeral. */
  source?: string;
}

/**
 * What one connection reports, whoever made it: a helper, the forge sender, or the engine itself
 * (a job with no source address of its family, a helper that threw or overran). The engine
 * merges it into the job's `FlowResult` for the plugin.
 */
export type ConnResult = Record<string, unknown> & {
  /**
   * Local address: "" when the socket never got one; absent only when the engine failed the
   * connection before any was chosen (no address of the job's family), as in the original.
   */
  sip?: string;
  /** Local port (0 when the socket never got one). */
  sp: number;
  /** 0 OK, 1 FAILED, 2 TIMEOUT, 3 SKIPPED. */
  spdr_state: number;
};

/** Everything a helper needs for one connection. */
export interface HelperCall {
  /** The job: `dip`, optional `dp` (the helper's default port otherwise) and `domain`. */
  job: Job;
  opts: ConnectOptions;
  /** Whole-exchange deadline (connect, request, reply), milliseconds. */
  timeoutMs: number;
  /** Reactor for the marked sockets (unused by `https`, which uses Deno's TLS). */
  reactor: Reactor;
}

/** A connection helper. */
export interface ConnectHelper {
  /** The mode name (`--connect` value). */
  name: string;
  /** Destination port when the job has no `dp`. */
  defaultPort: number;
  /** Whether the helper can mark its socket (ToS, MSS, fast open). */
  marks: boolean;
  /**
   * The connection is opened (the kernel built its first SYN, or sent the UDP socket's connect)
   * within the `run` call, before its promise settles: true for the reactor helpers, whose
   * `connect()` runs before their first await.
   */
  opensAtCall?: boolean;
  /** Makes the connection. */
  run(call: HelperCall): Promise<ConnResult>;
}

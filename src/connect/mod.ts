/**
 * The connection helpers by mode name (the manual's "Connection Modes").
 *
 * @example (Not run by `deno test --doc`: it needs the native library and a server.)
 * ```ts ignore
 * const reactor = Reactor.open();
 * const r = await CONNECT_HELPERS.http.run({
 *   job: { dip: "198.18.0.2", domain: "www.example.test" },
 *   opts: { tos: 46 << 2 },
 *   timeoutMs: 5000,
 *   reactor,
 * });
 * // r = { sip: "198.18.0.1", sp: 40312, spdr_state: 0, http_response_code: 200, ... }
 * ```
 * @module
 */

import type { ConnectMode } from "../plugins/plugin.ts";
import { dnsTcpHelper } from "./dns_tcp.ts";
import { dnsUdpHelper } from "./dns_udp.ts";
import { httpHelper } from "./http.ts";
import { httpsHelper } from "./https.ts";
import { tcpHelper } from "./tcp.ts";
import type { ConnectHelper } from "./types.ts";

export type { ConnectHelper, ConnectOptions, ConnResult, HelperCall } from "./types.ts";

/** Every helper, keyed by its `--connect` name. */
export const CONNECT_HELPERS: Readonly<Record<ConnectMode, ConnectHelper>> = {
  tcp: tcpHelper,
  http: httpHelper,
  https: httpsHelper,
  dnsudp: dnsUdpHelper,
  dnstcp: dnsTcpHelper,
};

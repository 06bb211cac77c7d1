/**
 * The `h2` plugin (desync model): a baseline HTTP/1.1 request and one asking for HTTP/2, with
 * `--connect http` through the `Upgrade: h2c` request of RFC 7540 §3.2 (success: `101 Switching
 * Protocols` to h2c), with `--connect https` through TLS ALPN (`h2` offered before `http/1.1`;
 * success: the server picks `h2` and sends its SETTINGS frame). The original's https mode never
 * did TLS (docs/differences.md).
 */
import { VERSION } from "../version.ts";
import { connectivity } from "./conditions.ts";
import type { FlowResult, Plugin } from "./plugin.ts";

/** The `h2` plugin. */
export const h2Plugin: Plugin = {
  name: "h2",
  description: "HTTP/2",
  version: VERSION,
  chains: ["basic", "tcp"],
  connectSupported: ["http", "https"],
  options: [],
  helpText:
    "\nThe baseline asks for HTTP/1.1; the experiment asks for HTTP/2: with --connect http\n" +
    "by the 'Upgrade: h2c' request header (the server must answer 101 Switching Protocols),\n" +
    "with --connect https by offering ALPN h2 before http/1.1 (the server must pick h2 and send\n" +
    "its HTTP/2 SETTINGS). The certificate is not verified.\n",
  model: () => ({ kind: "desync", connections: [{ http2: false }, { http2: true }] }),
  combineFlows(flows: FlowResult[]): string[] {
    const base = flows[0]!, test = flows[1]!;
    const c = connectivity(base.spdr_state, test.spdr_state);
    const conditions = [`h2.connectivity.${c}`];
    if (c === "works") {
      // http_version is the helper's account of the protocol the server agreed to
      conditions.push(test.http_version === "2" ? "h2.upgrade.success" : "h2.upgrade.failed");
    }
    return conditions;
  },
};

/**
 * The `tcpopt` plugin (sync model, from the original's master branch): does the path let the
 * timestamps, window scale (RFC 7323) and SACK-permitted (RFC 2018) options through, and does
 * the server answer options it was not offered?
 *
 * Linux has no per-socket switch for these options, so four configurations are switched
 * system-wide by sysctl: a baseline with all three off, then one with only timestamps, one with
 * only window scaling and one with only SACK on, so that a failure can be blamed on one option.
 */
import { VERSION } from "../version.ts";
import { connectivity } from "./conditions.ts";
import type { FlowResult, Plugin, Setting } from "./plugin.ts";

const TS = "net.ipv4.tcp_timestamps", WS = "net.ipv4.tcp_window_scaling";
const SACK = "net.ipv4.tcp_sack";

function only(on: string | null): Setting[] {
  return [TS, WS, SACK].map((key) => ({ kind: "sysctl", key, value: key === on ? "1" : "0" }));
}

/** The options in configuration order (1, 2, 3): condition prefix and flow field. */
const OPTIONS = [
  { prefix: "tsopt", field: "tcpopt_ts" },
  { prefix: "wsopt", field: "tcpopt_ws" },
  { prefix: "sack", field: "tcpopt_sack" },
] as const;

/** The `tcpopt` plugin. */
export const tcpoptPlugin: Plugin = {
  name: "tcpopt",
  description: "TCP Options (Timestamp, Window Scaling, SACK)",
  version: VERSION,
  chains: ["basic", "tcp", "tcpopt"],
  connectSupported: ["http", "https", "tcp", "dnstcp"],
  options: [],
  helpText:
    "\nFour connections per target, switched system-wide by sysctl in pathspider's network\n" +
    "namespace (journalled and restored): all of net.ipv4.tcp_timestamps, tcp_window_scaling\n" +
    "and tcp_sack off (baseline), then only timestamps, only window scaling, only SACK on.\n" +
    "X.negotiation.{succeeded,failed}: the SYN-ACK answered the offered option X;\n" +
    "X.unsolicited.{seen,not_seen}: the SYN-ACK to the baseline (no option offered) carried X.\n",
  model: () => ({
    kind: "sync",
    configurations: [only(null), only(TS), only(WS), only(SACK)],
  }),
  combineFlows(flows: FlowResult[]): string[] {
    const base = flows[0]!;
    const conditions = OPTIONS.map((o, i) =>
      `${o.prefix}.connectivity.${connectivity(base.spdr_state, flows[i + 1]!.spdr_state)}`
    );
    if (flows.some((f) => !f.observed)) conditions.push("pathspider.not_observed");
    OPTIONS.forEach((o, i) => {
      const f = flows[i + 1]!;
      if (f.observed && f.tcp_connected) {
        conditions.push(`${o.prefix}.negotiation.${f[o.field] ? "succeeded" : "failed"}`);
      }
    });
    if (base.observed && base.tcp_connected) {
      for (const o of OPTIONS) {
        conditions.push(`${o.prefix}.unsolicited.${base[o.field] ? "seen" : "not_seen"}`);
      }
    }
    return conditions;
  },
};

/**
 * The `ecn` plugin (sync model): a baseline connection with ECN off and an experimental one
 * with ECN negotiation requested, switched system-wide by sysctl in the network namespace the
 * tool runs in.
 */
import { VERSION } from "../version.ts";
import { connectivity } from "./conditions.ts";
import type { FlowResult, Plugin } from "./plugin.ts";
import { TCP_SAE, TCP_SAEC } from "../wire/tcp.ts";

/** The `ecn` plugin. */
export const ecnPlugin: Plugin = {
  name: "ecn",
  description: "Explicit Congestion Notification",
  version: VERSION,
  chains: ["basic", "tcp", "ecn"],
  connectSupported: ["http", "https", "tcp", "dnstcp"],
  options: [],
  helpText:
    "\nThe baseline connection runs with net.ipv4.tcp_ecn=2 (ECN only when the peer asks),\n" +
    "the experiment with net.ipv4.tcp_ecn=1 (ECN requested on every SYN), as the original.\n" +
    "During the experiment net.ipv4.tcp_ecn_fallback is set to 0: Linux otherwise retries a\n" +
    "failed ECN SYN without ECN and hides the broken paths this plugin looks for. Both sysctls\n" +
    "are changed in the network namespace pathspider runs in, journalled first and restored on\n" +
    "exit.\n",
  model: () => ({
    kind: "sync",
    configurations: [
      [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", value: "2" }],
      [
        { kind: "sysctl", key: "net.ipv4.tcp_ecn", value: "1" },
        { kind: "sysctl", key: "net.ipv4.tcp_ecn_fallback", value: "0" },
      ],
    ],
    // Linux reads tcp_ecn only when connect() builds the SYN (tcp_ecn_send_syn), and
    // tcp_ecn_fallback on a SYN retransmission, which the baseline configuration leaves at 0 once
    // the experiment set it (it has no effect on a SYN without ECE/CWR)
    openOnly: true,
  }),
  combineFlows(flows: FlowResult[]): string[] {
    const base = flows[0]!, test = flows[1]!;
    const conditions = [`ecn.connectivity.${connectivity(base.spdr_state, test.spdr_state)}`];
    if (flows.some((f) => !f.observed)) conditions.push("pathspider.not_observed");
    if (test.observed && test.tcp_connected) {
      const synack = Number(test.tcp_synflags_rev ?? 0) & TCP_SAEC;
      if (synack === TCP_SAE) conditions.push("ecn.negotiation.succeeded");
      else if (synack === TCP_SAEC) conditions.push("ecn.negotiation.reflected");
      else conditions.push("ecn.negotiation.failed");
      const seen = (mark: string) =>
        test[`ecn_${mark}_syn_rev`] || test[`ecn_${mark}_data_rev`] ? "seen" : "not_seen";
      conditions.push(`ecn.ipmark.ect0.${seen("ect0")}`);
      conditions.push(`ecn.ipmark.ect1.${seen("ect1")}`);
      conditions.push(`ecn.ipmark.ce.${seen("ce")}`);
    }
    return conditions;
  },
};

/**
 * The `dscp` plugin (desync model): a baseline connection with DSCP 0 and an experimental one
 * with `--codepoint X`, each marked on its own socket (IP_TOS / IPV6_TCLASS = X << 2) instead
 * of the original's iptables mangle rule, so no system setting changes and no barrier is needed.
 */
import { VERSION } from "../version.ts";
import { connectivity } from "./conditions.ts";
import type { FlowResult, Plugin, PluginArgs } from "./plugin.ts";

/** The manual's usage text says 46 (EF); the original's code defaults to 48. */
export const DEFAULT_CODEPOINT = 46;

function parseCodepoint(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 0 || n > 63) {
    throw new Error(`--codepoint must be an integer from 0 to 63, not '${text}'`);
  }
  return n;
}

/** Python's `a or b` on the chain's int-or-None fields (0 and None are false). */
function pyOr(a: unknown, b: unknown): unknown {
  return a ? a : b;
}

/** Python's `str()` of an int-or-None field, as the original builds condition names. */
function pyStr(v: unknown): string {
  return v === null || v === undefined ? "None" : String(v);
}

/** The `dscp` plugin. */
export const dscpPlugin: Plugin = {
  name: "dscp",
  description: "Differentiated Services Codepoints",
  version: VERSION,
  chains: ["basic", "dscp", "tcp", "dns"],
  connectSupported: ["http", "tcp", "dnsudp", "dnstcp"],
  options: [{
    flags: "--codepoint <0-63>",
    description: "DSCP codepoint to send (46 as the manual says; the original's code used 48)",
    default: DEFAULT_CODEPOINT,
    parse: parseCodepoint,
  }],
  helpText:
    "\nEach connection sets its own DSCP on its socket (IP_TOS / IPV6_TCLASS = codepoint << 2):\n" +
    "the baseline uses 0, the experiment --codepoint. No system setting is changed.\n",
  model: (args: PluginArgs) => ({
    kind: "desync",
    connections: [{ tos: 0 }, { tos: (Number(args.codepoint ?? DEFAULT_CODEPOINT) & 63) << 2 }],
    // each mark is on its own socket: the two connections can run side by side
    concurrent: true,
  }),
  combineFlows(flows: FlowResult[]): string[] {
    // as the original: one unobserved flow and nothing else can be said
    if (flows.some((f) => !f.observed)) return ["pathspider.not_observed"];
    const base = flows[0]!, test = flows[1]!;
    const prefix = (f: FlowResult) =>
      `dscp.${pyStr(pyOr(f.dscp_mark_syn_fwd, f.dscp_mark_data_fwd))}.`;
    const conditions = [
      `${prefix(test)}connectivity.${connectivity(base.spdr_state, test.spdr_state)}`,
    ];
    const baseReply = pyOr(base.dscp_mark_syn_rev, base.dscp_mark_data_rev);
    const testReply = pyOr(test.dscp_mark_syn_rev, test.dscp_mark_data_rev);
    if (baseReply !== null && baseReply !== undefined) {
      conditions.push(`${prefix(base)}replymark:${pyStr(baseReply)}`);
    }
    if (testReply !== null && testReply !== undefined) {
      conditions.push(`${prefix(test)}replymark:${pyStr(testReply)}`);
    }
    return conditions;
  },
};

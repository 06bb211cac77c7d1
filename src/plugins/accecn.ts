/**
 * The `accecn` plugin (forge model): what a path and a server do with an Accurate ECN setup
 * (RFC 9768) and with each ECN codepoint on a SYN, without kernel support for AccECN on the
 * measuring host: five forged SYNs per target, a baseline (no ECN) and four AccECN setup SYNs
 * (AE+CWR+ECE) whose IP ECN field is Not-ECT, ECT(0), ECT(1) and CE.
 *
 * An AccECN server tells in its SYN-ACK's AE, CWR and ECE which codepoint the SYN arrived with
 * (RFC 9768 §3.1.1, Table 2), so the forward path's treatment of each codepoint is reported by
 * the far end itself. Conditions:
 * - `accecn.connectivity.*` from a SYN-ACK to the baseline and to the Not-ECT AccECN SYN;
 * - `accecn.negotiation.{accecn,classic,reflected,none}` from the SYN-ACK to the Not-ECT
 *   AccECN SYN;
 * - for an AccECN server, `accecn.syn.<sent>.arrived:<codepoint>` per SYN that was answered,
 *   and `accecn.syn.<sent>.unanswered` for a marked SYN left without answer while the Not-ECT
 *   one was answered (a path dropping ECT or CE SYNs).
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { connectivityOf } from "./conditions.ts";
import { synProbe } from "./probes.ts";
import type { FlowResult, Plugin } from "./plugin.ts";
import { TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_SYN } from "../wire/tcp.ts";

/** ECN field names, by value (RFC 3168 §5). */
export const ECN_NAMES = ["not-ect", "ect1", "ect0", "ce"] as const;

/** The IP ECN field of each AccECN SYN, config 1..4 (config 0 is the baseline). */
export const ACCECN_SYN_ECN = [0, 2, 1, 3] as const;

/** AE+CWR+ECE+SYN: an AccECN setup SYN (RFC 9768 §3.1.1). */
export const ACCECN_SYN = TCP_AE | TCP_CWR | TCP_ECE | TCP_SYN;

/** What a SYN-ACK's AE, CWR and ECE say in reply to an AccECN setup SYN. */
export interface Feedback {
  negotiation: "accecn" | "classic" | "reflected" | "none";
  /** For `accecn`: the ECN field the SYN arrived with. */
  arrived?: (typeof ECN_NAMES)[number];
}

/**
 * Decodes a SYN-ACK's flags (nine bits) after an AccECN setup SYN (RFC 9768 Table 2):
 * (0,1,0) Not-ECT, (0,1,1) ECT(1), (1,0,0) ECT(0), (1,1,0) CE from an AccECN server; (0,0,1)
 * classic ECN (RFC 3168); (1,0,1), the historic ECN-nonce server (RFC 3540), is classic ECN too;
 * (1,1,1) a server reflecting the flags; (0,0,0) no ECN.
 */
export function accecnFeedback(flags: number): Feedback {
  const bits = ((flags & TCP_AE) ? 4 : 0) | ((flags & TCP_CWR) ? 2 : 0) |
    ((flags & TCP_ECE) ? 1 : 0);
  switch (bits) {
    case 0b010:
      return { negotiation: "accecn", arrived: "not-ect" };
    case 0b011:
      return { negotiation: "accecn", arrived: "ect1" };
    case 0b100:
      return { negotiation: "accecn", arrived: "ect0" };
    case 0b110:
      return { negotiation: "accecn", arrived: "ce" };
    case 0b001:
    case 0b101:
      return { negotiation: "classic" };
    case 0b111:
      return { negotiation: "reflected" };
    default:
      return { negotiation: "none" };
  }
}

/** The SYN-ACK flags of a flow, or null when it got none. */
function synAck(f: FlowResult): number | null {
  const v = f.tcp_synflags_rev;
  return typeof v === "number" && (v & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) ? v : null;
}

/** The `accecn` plugin. */
export const accecnPlugin: Plugin = {
  name: "accecn",
  description: "Accurate ECN (RFC 9768) setup and the ECN codepoints of SYNs",
  version: VERSION,
  chains: ["basic", "tcp"],
  connectSupported: ["tcp"],
  options: [],
  helpText:
    "\nFive SYNs are forged per target on a raw socket (run as root): a baseline without\n" +
    "ECN, then AccECN setup SYNs (AE, CWR and ECE set) with the IP ECN field Not-ECT, ECT(0),\n" +
    "ECT(1) and CE. An AccECN server's SYN-ACK tells which codepoint each SYN arrived with:\n" +
    "accecn.syn.<sent>.arrived:<codepoint>. No kernel support for AccECN is needed here.\n" +
    "While it runs, an nftables table drops the kernel's RSTs from the forge ports\n" +
    "61000-65535; it is journalled and removed on exit.\n",
  model: () => ({
    kind: "forge",
    proto: "tcp",
    packets: 1 + ACCECN_SYN_ECN.length,
    forge(job, config, src) {
      if (config === 0) return synProbe(job, src);
      const spec = synProbe(job, src, { tos: ACCECN_SYN_ECN[config - 1] });
      if (spec.l4.proto === "tcp") spec.l4.flags = ACCECN_SYN;
      return spec;
    },
  }),
  combineFlows(flows: FlowResult[]): string[] {
    if (flows.some((f) => !f.observed)) return ["pathspider.not_observed"];
    const answers = flows.map(synAck);
    const conn = connectivityOf(answers[0] !== null, answers[1] !== null);
    const conditions = [`accecn.connectivity.${conn}`];
    if (answers[1] === null) return conditions;
    const fb = accecnFeedback(answers[1]!);
    conditions.push(`accecn.negotiation.${fb.negotiation}`);
    if (fb.negotiation !== "accecn") return conditions;
    ACCECN_SYN_ECN.forEach((ecn, i) => {
      const a = answers[i + 1]!;
      const sent = ECN_NAMES[ecn];
      if (a === null) conditions.push(`accecn.syn.${sent}.unanswered`);
      else {
        const f = accecnFeedback(a);
        conditions.push(`accecn.syn.${sent}.arrived:${f.arrived ?? f.negotiation}`);
      }
    });
    return conditions;
  },
};

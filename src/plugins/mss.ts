/**
 * The `mss` plugin (single model): one connection per job, no setting changed; the observer
 * reads the MSS option of the SYN sent and of the SYN-ACK received, and the conditions compare
 * them, as the original computes them.
 */
import { VERSION } from "../version.ts";
import type { FlowResult, Plugin } from "./plugin.ts";

/** The `mss` plugin. */
export const mssPlugin: Plugin = {
  name: "mss",
  description: "TCP Maximum Segment Size",
  version: VERSION,
  chains: ["basic", "tcp", "mss"],
  connectSupported: ["tcp", "http", "https", "dnstcp"],
  options: [],
  helpText: "\nOne connection per target; the received MSS is compared with the one sent:\n" +
    "mss.option.received.{absent,unchanged,inflated,deflated}. Like the original, a remote MSS\n" +
    "below the local one is 'deflated' (possibly clamped on the path).\n",
  model: () => ({ kind: "single" }),
  combineFlows(flows: FlowResult[]): string[] {
    const f = flows[0]!;
    // the original: no observation, no other condition (not even connectivity)
    if (!f.observed) return ["pathspider.not_observed"];
    if (!f.tcp_connected) return ["mss.connectivity.offline"];
    const local = f.mss_value_fwd as number | null;
    const remote = f.mss_value_rev as number | null;
    // the original prints Python's str(None) when the SYN carried no MSS option
    const conditions = ["mss.connectivity.online", `mss.option.local.value:${local ?? "None"}`];
    if (f.mss_len_rev === null || f.mss_len_rev === undefined || remote === null) {
      conditions.push("mss.option.received.absent");
      return conditions;
    }
    conditions.push(`mss.option.remote.value:${remote}`);
    // our SYN always carries an MSS (Linux sends one); were it missing, there is nothing to compare
    // with (the original's Python would fail on `int < None` and lose the job)
    if (local === null) return conditions;
    if (remote < local) conditions.push("mss.option.received.deflated");
    else if (remote === local) conditions.push("mss.option.received.unchanged");
    else conditions.push("mss.option.received.inflated");
    return conditions;
  },
};

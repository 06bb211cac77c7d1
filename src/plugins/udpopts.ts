/**
 * The `udpopts` plugin (forge model; listed in the original's manual, "UDP Options Trailer",
 * but not shipped in 2.0.1): two DNS queries over UDP per target, forged on a raw socket; the
 * experiment carries a UDP options surplus area after the DNS message (the IP length exceeds
 * the UDP length), laid out as RFC 9868 (draft-ietf-tsvwg-udp-options-45) defines it: zero
 * alignment, the Option Checksum (OCS), then NOP and EOL (the original's later upstream sent
 * the bare option bytes `01 00`, without OCS). `udpopts.connectivity.*` from whether each
 * query got a valid DNS response; a job with a flow not observed gets only
 * `pathspider.not_observed`.
 *
 * @module
 */

import { dnsProbe } from "./probes.ts";
import { UDP_OPTIONS_SPEC, UDPOPT_EOL, UDPOPT_NOP } from "../wire/udp_options.ts";
import { VERSION } from "../version.ts";
import { dnsProbeConditions } from "./conditions.ts";
import type { FlowResult, Plugin } from "./plugin.ts";

/** The options after the OCS in the experiment's surplus area. */
export const UDPOPTS_OPTIONS = Uint8Array.of(UDPOPT_NOP, UDPOPT_EOL);

/** The `udpopts` plugin. */
export const udpoptsPlugin: Plugin = {
  name: "udpopts",
  description: "UDP Options Trailer",
  version: VERSION,
  chains: ["basic", "dns"],
  connectSupported: ["dnsudp"],
  options: [],
  helpText:
    `\nTwo DNS queries for the job's \`domain\` per target, forged on a raw socket (run as\n` +
    `root); the experiment carries a UDP options trailer following\n` +
    `${UDP_OPTIONS_SPEC}: zero alignment to 2 bytes, the Option\n` +
    `Checksum (OCS), NOP, EOL. While it runs, an nftables table drops the kernel's\n` +
    `port-unreachables for the replies to the forge ports 61000-65535; it is journalled\n` +
    `and removed on exit.\n`,
  model: () => ({
    kind: "forge",
    proto: "udp",
    packets: 2,
    forge: (job, config, src) =>
      dnsProbe(job, src, {}, config === 1 ? { udpOptions: UDPOPTS_OPTIONS } : {}),
  }),
  combineFlows(flows: FlowResult[]): string[] {
    return dnsProbeConditions("udpopts", flows);
  },
};

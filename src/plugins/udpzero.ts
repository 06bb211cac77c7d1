/**
 * The `udpzero` plugin (forge model): two DNS queries over UDP per target, forged and sent on
 * a raw socket; the baseline with the UDP checksum computed, the experiment with the checksum
 * field all zeros (RFC 768's "no checksum"). `udpzero.connectivity.*` from whether each query
 * got a valid DNS response; a job with a flow not observed gets only
 * `pathspider.not_observed`, as in the original.
 *
 * For IPv6 a zero checksum is invalid (RFC 8200 §8.1), so receivers drop the experiment: the
 * original sent it all the same, and so does this plugin.
 *
 * @module
 */

import { dnsProbe } from "./probes.ts";
import { VERSION } from "../version.ts";
import { dnsProbeConditions } from "./conditions.ts";
import type { FlowResult, Plugin } from "./plugin.ts";

/** The `udpzero` plugin. */
export const udpzeroPlugin: Plugin = {
  name: "udpzero",
  description: "UDP Zero Checksum",
  version: VERSION,
  chains: ["basic", "dns"],
  // the original accepted no --connect at all; dnsudp is what it always did
  connectSupported: ["dnsudp"],
  options: [],
  helpText:
    "\nTwo DNS queries for the job's `domain` per target, forged on a raw socket (run as\n" +
    "root): the baseline with its UDP checksum, the experiment with a zero checksum. IPv6\n" +
    "forbids zero UDP checksums, so IPv6 targets normally come out broken. While it runs,\n" +
    "an nftables table drops the kernel's port-unreachables for the replies to the forge\n" +
    "ports 61000-65535; it is journalled and removed on exit.\n",
  model: () => ({
    kind: "forge",
    proto: "udp",
    packets: 2,
    forge: (job, config, src) => dnsProbe(job, src, {}, { zeroChecksum: config === 1 }),
  }),
  combineFlows(flows: FlowResult[]): string[] {
    return dnsProbeConditions("udpzero", flows);
  },
};

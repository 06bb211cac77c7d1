/**
 * The `evilbit` plugin (forge model): two forged probes per target, the second with the IPv4
 * reserved flag set (RFC 3514, the "evil bit"); a TCP SYN (`--connect tcp`, the default; the
 * original called this mode `tcpsyn`, accepted too) or a DNS query over UDP (`dnsudp`).
 *
 * Conditions, as the original computes them: `evilbit.connectivity.*` from a SYN-ACK (tcp) or
 * a valid DNS response (dnsudp) to each probe; whenever the marked probe got one (`works`, and
 * `transient` too: the manual's "whether the evil bit was set on the return path for the
 * experimental connection"; the original gave it with `works` only), `evilbit.mark.seen` if that
 * reply carried the evil bit itself (the SYN-ACK's, or the first reply datagram's), else
 * `evilbit.mark.not_seen`. A job with a flow not observed gets only `pathspider.not_observed`.
 *
 * IPv6 has no evil bit: as in the original, both probes to an IPv6 target are alike.
 *
 * @module
 */

import { synProbe } from "./probes.ts";
import { dnsProbe } from "./probes.ts";
import { VERSION } from "../version.ts";
import { connectivityOf } from "./conditions.ts";
import { TCP_SA } from "../wire/tcp.ts";
import type { FlowResult, Plugin, PluginArgs } from "./plugin.ts";

/** The `evilbit` plugin. */
export const evilbitPlugin: Plugin = {
  name: "evilbit",
  description: "Evil bit connectivity testing",
  version: VERSION,
  chains: ["basic", "dns", "tcp", "evil"],
  connectSupported: ["tcp", "dnsudp"],
  connectAliases: { tcpsyn: "tcp" },
  options: [],
  helpText: "\nProbes are forged and sent on a raw socket (run as root): a bare TCP SYN (tcp,\n" +
    "also accepted as tcpsyn, the original's name) or a DNS query for the job's `domain`\n" +
    "over UDP (dnsudp); the second probe has the IPv4 reserved bit set. IPv6 has no such\n" +
    "bit: both probes to an IPv6 target are alike, as in the original. While it runs, an\n" +
    "nftables table drops the kernel's RSTs (and port-unreachables) from the forge ports\n" +
    "61000-65535; it is journalled and removed on exit.\n",
  model: (args: PluginArgs) => {
    const udp = args.connect === "dnsudp";
    return {
      kind: "forge",
      proto: udp ? "udp" : "tcp",
      packets: 2,
      forge(job, config, src) {
        const ip = { evil: config === 1 && !job.dip.includes(":") };
        return udp ? dnsProbe(job, src, ip) : synProbe(job, src, ip);
      },
    };
  },
  combineFlows(flows: FlowResult[], args: PluginArgs): string[] {
    if (flows.some((f) => !f.observed)) return ["pathspider.not_observed"];
    const base = flows[0]!, test = flows[1]!;
    let ok: (f: FlowResult) => boolean;
    let markKey: string;
    if (args.connect === "dnsudp") {
      ok = (f) => f.dns_response_valid === true;
      markKey = "evilbit_data_rev";
    } else {
      ok = (f) =>
        typeof f.tcp_synflags_rev === "number" && (f.tcp_synflags_rev & TCP_SA) === TCP_SA;
      markKey = "evilbit_syn_rev";
    }
    const conn = connectivityOf(ok(base), ok(test));
    const conditions = [`evilbit.connectivity.${conn}`];
    if (ok(test)) conditions.push(`evilbit.mark.${test[markKey] ? "seen" : "not_seen"}`);
    return conditions;
  },
};

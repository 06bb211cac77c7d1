/**
 * The probe that stands for a job's connection `config` when locating: the forge model's own
 * packet, or, for connections the kernel makes, a SYN with the fields that connection's SYN
 * carries (its ToS, ECN setup flags, options as the settings of its configuration leave them) or
 * the DNS query datagram of `dnsudp`.
 *
 * A kernel SYN's options are rebuilt in Linux's order (MSS, SACK-permitted and timestamps, NOP
 * and window scale 7), with a timestamp value of its own: the values are not what is compared,
 * the presence of each kind and what routers do to it are.
 *
 * @module
 */

import type { ConnectionOptions, Job, Model, PluginArgs, Setting } from "../plugins/plugin.ts";
import { dnsProbe, synProbe } from "../plugins/probes.ts";
import type { PacketSpec } from "../wire/build.ts";
import { TCP_CWR, TCP_ECE, TCP_SYN } from "../wire/tcp.ts";

/** The probe's source: the run's address of the target's family and a port. */
export type ProbeSource = { addr: string; port: number };

/** Makes the probe of one connection of a job from a given source. */
export type ProbeMaker = (src: ProbeSource) => PacketSpec | null;

/** The configurations of a model: how many connections a job makes, baseline first. */
export function configCount(model: Model): number {
  switch (model.kind) {
    case "forge":
      return model.packets;
    case "sync":
      return model.configurations.length;
    case "desync":
      return model.connections.length;
    default:
      return 1;
  }
}

function sysctl(settings: Setting[], key: string): string | undefined {
  return settings.find((s) => s.key === key)?.value;
}

/** Linux's SYN options under the given switches (net/ipv4/tcp_output.c tcp_options_write). */
export function kernelSynOptions(o: {
  mss?: number;
  sack?: boolean;
  timestamps?: boolean;
  windowScaling?: boolean;
  fastOpen?: boolean;
}): Uint8Array {
  const mss = o.mss ?? 1460;
  const b: number[] = [2, 4, mss >> 8, mss & 255];
  const ts = [8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
  if (o.timestamps !== false) b.push(...(o.sack !== false ? [4, 2] : [1, 1]), ...ts);
  else if (o.sack !== false) b.push(1, 1, 4, 2);
  if (o.windowScaling !== false) b.push(1, 3, 3, 7);
  // a fast open cookie request (RFC 7413, kind 34 without cookie), padded
  if (o.fastOpen) b.push(34, 2, 1, 1);
  return new Uint8Array(b);
}

/**
 * The probe maker of connection `config` of `job` under `model`, or null when the connection
 * cannot be stood for by one packet.
 */
export function probeMaker(
  model: Model,
  args: PluginArgs,
  job: Job,
  config: number,
): ProbeMaker | null {
  if (model.kind === "forge") return (src) => model.forge(job, config, src);
  let settings: Setting[] = [];
  let conn: ConnectionOptions = {};
  if (model.kind === "sync") settings = model.configurations[config] ?? [];
  if (model.kind === "desync") {
    conn = model.connections[config] ?? {};
    settings = model.settings ?? [];
  }
  const tos = conn.tos ?? 0;
  if (args.connect === "dnsudp") return (src) => dnsProbe(job, src, { tos });
  const ecn = sysctl(settings, "net.ipv4.tcp_ecn") === "1";
  const off = (key: string) => sysctl(settings, key) === "0";
  const options = kernelSynOptions({
    // Linux's default: the MTU (1500 on Ethernet) less the IP and TCP headers
    mss: conn.mss ?? (job.dip.includes(":") ? 1440 : 1460),
    sack: !off("net.ipv4.tcp_sack"),
    timestamps: !off("net.ipv4.tcp_timestamps"),
    windowScaling: !off("net.ipv4.tcp_window_scaling"),
    fastOpen: conn.fastOpen,
  });
  return (src) => {
    const spec = synProbe(job, src, { tos });
    if (spec.l4.proto === "tcp") {
      spec.l4.flags = TCP_SYN | (ecn ? TCP_ECE | TCP_CWR : 0);
      spec.l4.options = options;
      spec.l4.window = 64240;
    }
    return spec;
  };
}

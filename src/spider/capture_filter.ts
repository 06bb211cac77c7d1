/**
 * What a run's live capture keeps: the kernel filter (src/ffi/capture.ts `runFilter`) built from
 * the run's own traffic, so that background traffic on a busy interface costs neither CPU nor
 * flow-table room.
 *
 * A job may carry any `dp`, and jobs are read as they are measured, so destination ports are not
 * known when the capture opens. Source ports are: every connection the helpers open gets its
 * local port from the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, per network
 * namespace; nothing binds a fixed port), and the forge model sends from 61000-65535. A TCP or UDP
 * packet passes the filter when its source or destination port lies in those ranges, so both
 * directions of every connection of the run pass, whatever its `dp`; only the run's protocol
 * (UDP for `dnsudp` and UDP forge plugins, else TCP); and ICMP/ICMPv6 errors (the icmp chain,
 * errors quoting the run's packets). Not exact: other local programs' connections use the same
 * ephemeral range and pass too; the merger holds what no connection claims up to a bound.
 *
 * @module
 */
import type { ConnectMode, Model } from "../plugins/plugin.ts";
import { FORGE_PORTS } from "../host/firewall.ts";

/** The run filter as `runFilter` takes it (src/ffi/capture.ts `RunFilter`). */
export interface CaptureFilterSpec {
  ports: [number, number][];
  protocols: ("tcp" | "udp")[];
  icmpErrors: boolean;
}

/** Linux's default ephemeral range, when /proc cannot be read. */
const DEFAULT_LOCAL_PORTS: [number, number] = [32768, 60999];

/** The ephemeral port range of this network namespace. */
export function localPortRange(
  read: () => string = () => Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range"),
): [number, number] {
  try {
    const [lo, hi] = read().trim().split(/\s+/).map(Number);
    if (
      lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) &&
      lo >= 1 && lo <= hi && hi <= 65535
    ) {
      return [lo, hi];
    }
  } catch {
    // no /proc: the default
  }
  return DEFAULT_LOCAL_PORTS;
}

/** The capture filter of a run of `model` in connection mode `mode`. */
export function captureFilterFor(
  model: Model,
  mode: ConnectMode,
  local: [number, number] = localPortRange(),
): CaptureFilterSpec {
  if (model.kind === "forge") {
    return {
      ports: [[FORGE_PORTS.first, FORGE_PORTS.last]],
      protocols: [model.proto === "udp" ? "udp" : "tcp"],
      icmpErrors: true,
    };
  }
  return { ports: [local], protocols: [mode === "dnsudp" ? "udp" : "tcp"], icmpErrors: true };
}

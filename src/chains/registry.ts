/**
 * The chains by name, as `observe` and the plugins select them.
 *
 * @module
 */

import type { Chain, ChainFactory } from "../observer/chain.ts";
import { BasicChain } from "./basic.ts";
import { DnsChain } from "./dns.ts";
import { DscpChain } from "./dscp.ts";
import { EcnChain } from "./ecn.ts";
import { EvilChain } from "./evil.ts";
import { IcmpChain } from "./icmp.ts";
import { MssChain } from "./mss.ts";
import { NoopChain } from "./noop.ts";
import { TcpChain } from "./tcp.ts";
import { TfoChain } from "./tfo.ts";
import { TcpOptChain } from "./tcpopt.ts";
import { UdpChain } from "./udp.ts";

/**
 * Every chain, in the order the original's `--list-chains` prints them on Debian 12 (its plugin
 * loader's order), so that the listing reads the same.
 */
export const CHAINS: ReadonlyMap<string, ChainFactory> = new Map<string, ChainFactory>([
  ["icmp", () => new IcmpChain()],
  ["basic", () => new BasicChain()],
  ["tfo", () => new TfoChain()],
  ["tcp", () => new TcpChain()],
  ["dscp", () => new DscpChain()],
  ["dns", () => new DnsChain()],
  ["noop", () => new NoopChain()],
  ["udp", () => new UdpChain()],
  ["evil", () => new EvilChain()],
  ["ecn", () => new EcnChain()],
  ["mss", () => new MssChain()],
  ["tcpopt", () => new TcpOptChain()],
]);

/** Chains that belong to a plugin (the original defines them inside the plugin): not listed. */
const PLUGIN_CHAINS = new Set(["tcpopt"]);

/** Names of every chain, in listing order. */
export function chainNames(): string[] {
  return [...CHAINS.keys()];
}

/** Names `--list-chains` prints: the original's chains, without plugin-private ones. */
export function listedChainNames(): string[] {
  return chainNames().filter((n) => !PLUGIN_CHAINS.has(n));
}

/**
 * New instances of the named chains, in the order given. Names are matched case-insensitively,
 * as the original does; an unknown name throws a `RangeError` naming it.
 */
export function makeChains(names: readonly string[]): Chain[] {
  return names.map((n) => {
    const f = CHAINS.get(n.toLowerCase());
    if (f === undefined) throw new RangeError(`unknown chain "${n}"`);
    return f();
  });
}

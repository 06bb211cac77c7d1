/**
 * The firewall setting of the forge model: a temporary nftables table that keeps the kernel from
 * answering replies to forged packets (see src/spider/forge.ts for why), and the source port
 * range it protects.
 *
 * @module
 */

/** The source ports forged packets use (inclusive). */
export const FORGE_PORTS = { first: 61000, last: 65535 } as const;

/** A temporary nftables table (family inet): its name and the rule set creating it. */
export interface NftablesTable {
  table: string;
  rules: string;
}

/** Name of the nftables table of this process's forge run. */
export function forgeTableName(pid = Deno.pid): string {
  return `pathspider_forge_${pid}`;
}

/**
 * The nftables setting that keeps the kernel from answering replies to forged packets: RSTs
 * from the reserved ports and ICMP / ICMPv6 port-unreachables quoting a datagram to them are
 * dropped on output. The offsets of the quoted port assume a quoted header without IPv4
 * options, which is what targets send back to us.
 */
export function forgeFirewall(pid = Deno.pid): NftablesTable {
  const range = `${FORGE_PORTS.first}-${FORGE_PORTS.last}`;
  const table = forgeTableName(pid);
  // ICMP header 8 bytes, quoted IPv4 header 20 (IPv6 40), then the quoted UDP's destination
  // port at offset 2: bits 240 and 400 of the ICMP message
  const rules = [
    `table inet ${table} {`,
    `  chain output {`,
    `    type filter hook output priority filter; policy accept;`,
    `    tcp sport ${range} tcp flags & rst == rst drop`,
    `    icmp type destination-unreachable icmp code port-unreachable @th,240,16 ${range} drop`,
    `    icmpv6 type destination-unreachable icmpv6 code port-unreachable @th,400,16 ${range} drop`,
    `  }`,
    `}`,
    "",
  ].join("\n");
  return { table, rules };
}

/** Where a forge run keeps its firewall table: the run's settings journal. */
export interface FirewallJournal {
  addNftables(table: string, rules: string): void;
}

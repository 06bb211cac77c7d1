/**
 * Middlebox behaviours of the testbed's router, one nftables rule set per target address.
 * "fwd" is client → target, "rev" is target → client. Marks are rewritten with nftables payload
 * statements (the kernel fixes the IPv4 header checksum); there is no netem on this kernel, so
 * drops are rule-based and silent.
 *
 * @module
 */

/** A named behaviour of the path to one target. */
export type Behaviour =
  /** nothing is changed */
  | "clean"
  /** every packet to and from the target is dropped: it looks offline */
  | "offline"
  /** TCP to the target is answered by a RST from the router, UDP by ICMP port unreachable */
  | "reject"
  /** SYNs carrying ECE and CWR (an ECN setup) are dropped, forward */
  | "drop-ecn-syn"
  /** packets with any ECT or CE mark are dropped, forward */
  | "drop-ect"
  /** ECN bits are cleared to not-ECT, forward */
  | "clear-ect"
  /** ECN bits are cleared to not-ECT, reverse */
  | "clear-ect-rev"
  /** ECT(0)/ECT(1) packets are marked CE, forward (an AQM under load) */
  | "set-ce"
  /** DSCP is bleached to 0 (CS0), forward */
  | "bleach-dscp"
  /** DSCP is bleached to 0 (CS0), reverse */
  | "bleach-dscp-rev"
  /** packets with DSCP 46 (EF) are dropped, forward */
  | "drop-dscp46"
  /** replies are remarked to DSCP 10 (AF11), reverse */
  | "remark-replies"
  /** UDP is dropped both ways (TCP passes) */
  | "drop-udp"
  /** DSCP is remarked to 18 (AF21), forward */
  | "remark-dscp"
  /** the TCP AE flag (RFC 9768) and the reserved bits are cleared, forward */
  | "clear-ae"
  /** the ECN field of SYNs is remarked to ECT(0), forward */
  | "syn-ect0"
  /** the SACK-permitted option (kind 4) is stripped from TCP, forward (iptables TCPOPTSTRIP) */
  | "strip-sackok"
  /** the IPv4 reserved ("evil") flag is cleared, forward */
  | "clear-evil"
  /** the TCP fast open option (kind 34) is stripped from TCP, forward (iptables TCPOPTSTRIP) */
  | "strip-tfo";

/** Every behaviour name, for validation and documentation. */
export const BEHAVIOURS: readonly Behaviour[] = [
  "clean",
  "offline",
  "reject",
  "drop-ecn-syn",
  "drop-ect",
  "clear-ect",
  "clear-ect-rev",
  "set-ce",
  "bleach-dscp",
  "bleach-dscp-rev",
  "drop-dscp46",
  "remark-replies",
  "drop-udp",
  "remark-dscp",
  "clear-ae",
  "syn-ect0",
  "strip-sackok",
  "clear-evil",
  "strip-tfo",
];

/** The nftables rules (forward chain, inet table) that give `addr` the behaviour `b`. */
export function rulesFor(b: Behaviour, addr: string): string[] {
  const v6 = addr.includes(":");
  const ip = v6 ? "ip6" : "ip";
  const to = `${ip} daddr ${addr}`;
  const from = `${ip} saddr ${addr}`;
  switch (b) {
    case "clean":
      return [];
    case "offline":
      return [`${to} drop`, `${from} drop`];
    case "reject":
      return [`${to} meta l4proto tcp reject with tcp reset`, `${to} reject`];
    case "drop-ecn-syn":
      // nftables calls ECE "ecn"
      return [`${to} tcp flags & (syn|ecn|cwr) == syn|ecn|cwr drop`];
    case "drop-ect":
      return [`${to} ${ip} ecn != not-ect drop`];
    case "clear-ect":
      return [`${to} ${ip} ecn set not-ect`];
    case "clear-ect-rev":
      return [`${from} ${ip} ecn set not-ect`];
    case "set-ce":
      return [`${to} ${ip} ecn { ect0, ect1 } ${ip} ecn set ce`];
    case "bleach-dscp":
      return [`${to} ${ip} dscp set cs0`];
    case "bleach-dscp-rev":
      return [`${from} ${ip} dscp set cs0`];
    case "drop-dscp46":
      return [`${to} ${ip} dscp ef drop`];
    case "remark-replies":
      return [`${from} ${ip} dscp set af11`];
    case "drop-udp":
      return [`${to} meta l4proto udp drop`, `${from} meta l4proto udp drop`];
    case "remark-dscp":
      return [`${to} ${ip} dscp set af21`];
    case "clear-ae":
      // `tcp reserved` is the low nibble of the data-offset byte, AE its lowest bit; a named TCP
      // field (unlike a raw @th write) makes nftables fix the TCP checksum
      return [`${to} tcp reserved set 0`];
    case "syn-ect0":
      return [`${to} tcp flags & (syn|ack) == syn ${ip} ecn set ect0`];
    case "clear-evil":
      return v6
        ? []
        : [`${to} ip frag-off & 0x8000 == 0x8000 ip frag-off set ip frag-off & 0x7fff`];
    case "strip-sackok":
    case "strip-tfo":
      // not an nftables rule: see iptablesFor
      return [];
    default:
      throw new Error(`unknown testbed behaviour: ${b}`);
  }
}

/**
 * The iptables/ip6tables commands (argv after the program name) for behaviours nftables cannot
 * express: stripping a TCP option (the TCPOPTSTRIP target, through iptables-nft's xtables
 * compatibility; it fixes the checksum).
 */
export function iptablesFor(b: Behaviour, addr: string): string[][] {
  if (b !== "strip-sackok" && b !== "strip-tfo") return [];
  const prog = addr.includes(":") ? "ip6tables" : "iptables";
  return [[
    prog,
    "-t",
    "mangle",
    "-A",
    "FORWARD",
    "-d",
    addr,
    "-p",
    "tcp",
    "-j",
    "TCPOPTSTRIP",
    "--strip-options",
    b === "strip-sackok" ? "sack-permitted" : "34",
  ]];
}

/**
 * The whole router rule set for the given (address, behaviours) pairs; `delayDev` names the delay
 * element's device, whose output the rules let through untouched. Each address's rules live in a
 * chain of their own, reached through verdict maps on the packet's addresses: a packet meets the
 * rules of its own target only (in their order), not every target's in turn. One rule list of
 * 1,650 rules (4,000 targets) was 30% of a `measure -w 2000` run's CPU (`nft_do_chain`, run in
 * the sender's context).
 */
export function routerRuleset(
  table: string,
  targets: { addr: string; behaviour: Behaviour[] }[],
  delayDev?: string,
) {
  const byAddr = new Map<string, string[]>();
  for (const t of targets) {
    const rules = t.behaviour.flatMap((b) => rulesFor(b, t.addr));
    if (rules.length > 0) byAddr.set(t.addr, [...(byAddr.get(t.addr) ?? []), ...rules]);
  }
  const chains: string[] = [];
  const maps = new Map<string, string[]>(
    ["ip daddr", "ip saddr", "ip6 daddr", "ip6 saddr"].map((k) => [k, []]),
  );
  let n = 0;
  for (const [addr, rules] of byAddr) {
    const chain = `target${n++}`;
    chains.push(`  chain ${chain} {`, ...rules.map((r) => `    ${r}`), `  }`);
    const ip = addr.includes(":") ? "ip6" : "ip";
    for (const dir of ["daddr", "saddr"]) {
      // every rule of rulesFor begins with the address it matches
      if (rules.some((r) => r.startsWith(`${ip} ${dir} `))) {
        maps.get(`${ip} ${dir}`)?.push(`${addr} : jump ${chain}`);
      }
    }
  }
  return [
    `table inet ${table} {`,
    ...chains,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    // delayed packets cross the forward chain twice: apply the behaviours once, on the way in
    ...(delayDev ? [`    iifname "${delayDev}" accept`] : []),
    ...[...maps].filter(([, m]) => m.length > 0).map(([k, m]) =>
      `    ${k} vmap { ${m.join(", ")} }`
    ),
    `  }`,
    `}`,
    "",
  ].join("\n");
}

/**
 * The measuring interface: whether it exists and is up, and its addresses (the original's
 * `self.source`: the first IPv4 address, the first IPv6 address that is not link-local).
 */
import { UserError } from "../errors.ts";

/** The interface's addresses, as the original's `self.source`. */
export interface SourceAddresses {
  v4?: string;
  v6?: string;
}

/** Throws a one-line UserError unless `iface` exists and is up. */
export function checkInterfaceUp(iface: string): void {
  let flags: number, oper: string;
  try {
    flags = parseInt(Deno.readTextFileSync(`/sys/class/net/${iface}/flags`).trim(), 16);
    oper = Deno.readTextFileSync(`/sys/class/net/${iface}/operstate`).trim();
  } catch {
    throw new UserError(`interface ${iface} does not exist`);
  }
  // IFF_UP, and not operationally down (veths are "up", loopback is "unknown")
  if ((flags & 1) === 0 || oper === "down" || oper === "lowerlayerdown") {
    throw new UserError(`interface ${iface} is not up; cannot measure on it`);
  }
}

/** The interface's source addresses, from `ip -j addr`. */
export function sourceAddresses(iface: string): SourceAddresses {
  const out = new Deno.Command("ip", { args: ["-j", "addr", "show", "dev", iface], stderr: "null" })
    .outputSync();
  const src: SourceAddresses = {};
  if (!out.success) return src;
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    addr_info?: { family: string; local: string; scope?: string }[];
  }[];
  for (const a of info[0]?.addr_info ?? []) {
    if (a.family === "inet" && src.v4 === undefined) src.v4 = a.local;
    if (a.family === "inet6" && src.v6 === undefined && !a.local.toLowerCase().startsWith("fe")) {
      src.v6 = a.local;
    }
  }
  return src;
}

/**
 * The measuring interface: whether it exists and is up, and its addresses (the original's
 * `self.source`: the first IPv4 address, the first IPv6 address that is not link-local).
 */
import { EXIT, UserError } from "../errors.ts";
import { interfaceInfo } from "../ffi/iface.ts";

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
    throw new UserError(`interface ${iface} does not exist`, EXIT.SETUP);
  }
  // IFF_UP, and not operationally down (veths are "up", loopback is "unknown")
  if ((flags & 1) === 0 || oper === "down" || oper === "lowerlayerdown") {
    throw new UserError(`interface ${iface} is not up; cannot measure on it`, EXIT.SETUP);
  }
}

/** The interface's source addresses, from the kernel (`getifaddrs`, no subprocess). */
export function sourceAddresses(iface: string): SourceAddresses {
  const src: SourceAddresses = {};
  for (const a of interfaceInfo(iface)?.addresses ?? []) {
    if (a.family === 4 && src.v4 === undefined) src.v4 = a.address;
    // the original skips link-local addresses (fe80::/10)
    if (a.family === 6 && src.v6 === undefined && !a.address.toLowerCase().startsWith("fe")) {
      src.v6 = a.address;
    }
  }
  return src;
}

/**
 * An interface's flags and addresses from the native library (`getifaddrs`, see
 * capture-ffi/src/iface.rs): no `ip -j addr` subprocess.
 * @module
 */
import { libraryMessage, openProjectLibrary } from "./library.ts";
import { CaptureError, Status } from "./status.ts";

const SYMBOLS = {
  ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ps_iface_addrs: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

/** One address of an interface. */
export interface InterfaceAddress {
  /** 4 or 6. */
  family: 4 | 6;
  /** Canonical text (`198.18.0.1`, `fd00::1`). */
  address: string;
  /** Prefix length. */
  prefix: number;
}

/** What the kernel says of an interface. */
export interface InterfaceInfo {
  /** The `IFF_*` flags. */
  flags: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: operationally up (or unknown, as loopback). */
  running: boolean;
  /** Its addresses in the kernel's order (that of `ip addr`: the primary address first). */
  addresses: InterfaceAddress[];
}

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** The flags and addresses of interface `name`, or undefined when there is no such interface. */
export function interfaceInfo(name: string): InterfaceInfo | undefined {
  lib ??= openProjectLibrary(SYMBOLS);
  if (name.includes("\0")) return undefined;
  const cname = new TextEncoder().encode(name + "\0");
  let buf = new Uint8Array(4096);
  let n = lib.ps_iface_addrs(cname, buf, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = lib.ps_iface_addrs(cname, buf, buf.length);
  }
  if (n === Status.NO_SUCH_INTERFACE) return undefined;
  if (n < 0) throw new CaptureError(n, libraryMessage(lib) || `error ${n}`);
  const lines = new TextDecoder().decode(buf.subarray(0, Math.min(n, buf.length))).split("\n");
  const flags = parseInt(lines[0]!.replace("flags ", ""), 16);
  const addresses: InterfaceAddress[] = [];
  for (const line of lines.slice(1)) {
    const m = /^([46]) (\S+)\/(\d+)$/.exec(line);
    if (m) addresses.push({ family: m[1] === "4" ? 4 : 6, address: m[2]!, prefix: Number(m[3]) });
  }
  return {
    flags,
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    addresses,
  };
}

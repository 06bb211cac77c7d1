/**
 * The forge model's nftables table over netlink, from the native library (capture-ffi/src/nft.rs):
 * no `nft` command, so a process whose CAP_NET_ADMIN comes from file capabilities (which a child
 * does not inherit) can still add and remove it.
 * @module
 */
import { libraryMessage, openProjectLibrary } from "./library.ts";
import { CaptureError } from "./status.ts";

const SYMBOLS = {
  ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ps_nft_add_forge_table: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  ps_nft_delete_table: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

function symbols(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openProjectLibrary(SYMBOLS);
  return lib;
}

function cName(table: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(table.replaceAll("\0", "") + "\0");
}

/**
 * Adds table `inet <table>` whose output chain drops RSTs from source ports `first..last` and
 * ICMP/ICMPv6 port-unreachables quoting a datagram to them: the rule set of
 * `forgeFirewall` (src/host/firewall.ts), in one transaction. Throws `CaptureError` (one line;
 * `Status.NOT_PERMITTED` without CAP_NET_ADMIN, `Status.INVALID_ARGUMENT` for a bad name).
 */
export function addForgeTable(table: string, ports: { first: number; last: number }): void {
  const l = symbols();
  const st = l.ps_nft_add_forge_table(cName(table), ports.first, ports.last);
  if (st < 0) throw new CaptureError(st, libraryMessage(l) || `error ${st}`);
}

/** Deletes table `inet <table>`; returns whether it was there. Throws `CaptureError`. */
export function deleteNftTable(table: string): boolean {
  const l = symbols();
  const st = l.ps_nft_delete_table(cName(table));
  if (st < 0) throw new CaptureError(st, libraryMessage(l) || `error ${st}`);
  return st === 1;
}

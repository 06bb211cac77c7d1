/**
 * Per-observer hook dispatchers: for one hook name, a function generated for the observer's own
 * chain list that calls each chain's hook in order, stopping at the first false (Python's
 * `keep and fn(...)`).
 *
 * Why generated code rather than a loop over an array of hooks: a loop has one call site for
 * every chain's hook, which V8 sees as polymorphic (megamorphic past four chains) and never
 * inlines. Here every call site is `cN.hook(...)` on one chain object, so it stays monomorphic
 * and small hooks are inlined into the observer's packet loop. `new Function` compiles a fresh
 * function each time, so two observers with different chain lists do not share type feedback.
 *
 * @module
 */

import type { Chain, FlowRecord } from "./chain.ts";
import type { PacketView } from "./packet.ts";

/** Runs one packet hook of every chain that has it; false when one of them returned false. */
export type PacketDispatch = (rec: FlowRecord, pkt: PacketView, rev: boolean) => boolean;

/** Runs every chain's `newFlow`; false when one of them vetoed the flow. */
export type NewFlowDispatch = (rec: FlowRecord, pkt: PacketView) => boolean;

type HookName = "newFlow" | "ip4" | "ip6" | "icmp4" | "icmp6" | "tcp" | "udp";

/** The chains (by index) that define `name` as a function. */
function withHook(chains: readonly Chain[], name: HookName): number[] {
  const out: number[] = [];
  for (let i = 0; i < chains.length; i++) {
    if (typeof chains[i]![name] === "function") out.push(i);
  }
  return out;
}

/** True when at least one chain defines the hook. */
export function hasHook(chains: readonly Chain[], name: HookName): boolean {
  return withHook(chains, name).length > 0;
}

function generate(chains: readonly Chain[], name: HookName, args: string): unknown {
  const idx = withHook(chains, name);
  // a hook may return any value: only its truthiness counts, as with Python's `and`
  const calls = idx.map((i) => `!!c${i}.${name}(${args})`);
  const body = `"use strict"; return function ${name}Dispatch(${args}) { return ` +
    (calls.length ? calls.join(" && ") : "true") + "; };";
  const make = new Function(...idx.map((i) => `c${i}`), body);
  return make(...idx.map((i) => chains[i]));
}

/** A dispatcher of packet hook `name` (`ip4` ... `udp`) over `chains`, in order. */
export function packetDispatch(
  chains: readonly Chain[],
  name: Exclude<HookName, "newFlow">,
): PacketDispatch {
  return generate(chains, name, "rec, pkt, rev") as PacketDispatch;
}

/** A dispatcher of every chain's `newFlow`, in order. */
export function newFlowDispatch(chains: readonly Chain[]): NewFlowDispatch {
  return generate(chains, "newFlow", "rec, pkt") as NewFlowDispatch;
}

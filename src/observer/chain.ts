/**
 * The chain API: what a flow-analysis chain (src/chains/*.ts) implements.
 *
 * A chain is an object with a `name` (the CLI name, e.g. "basic") and optional hooks. The
 * observer calls them in the original's order for every packet of a flow it keeps:
 *
 * 1. `newFlow(rec, pkt)` once, when the first packet of a flow is seen, on every chain in the
 *    order given. It initialises the chain's fields in `rec` (insertion order is output order) and
 *    returns false to ignore the flow (the observer then remembers the flow as ignored and never
 *    calls any chain for it again). It must set the same fields, in the same order, for every
 *    flow (null for "not seen yet"): the observer builds records with the first flow's fields
 *    already in place.
 * 2. `ip4(rec, pkt, rev)` or `ip6(rec, pkt, rev)`.
 * 3. `icmp4(rec, pkt, rev)` or `icmp6(rec, pkt, rev)` when the packet is ICMP (`pkt.icmpOff >=
 *    0`); the quotation of an ICMP error is described by `pkt.quote*`.
 * 4. `tcp(rec, pkt, rev)` when `pkt.tcpOff >= 0`, else `udp(rec, pkt, rev)` when `pkt.udpOff >= 0`.
 *
 * Every hook but `newFlow` returns true to keep observing the flow, false when the chain thinks
 * the flow is complete. As in the original, once one hook of a packet has returned false the
 * remaining hooks of that packet are not called (Python's `keep and fn(...)` short-circuit), and
 * the flow is moved to the expiring table.
 *
 * `rev` is true when the packet travels in the reverse direction of the flow (from the flow's
 * destination to its source), as the original computes it.
 *
 * Hooks must not keep references to `pkt` (it is reused for the next packet) and must not throw:
 * read only within the `*End` bounds of the view or through its checked accessors.
 *
 * @example
 * ```ts
 * import type { Chain, FlowRecord } from "./chain.ts";
 * import type { PacketView } from "./packet.ts";
 *
 * export class CountChain implements Chain {
 *   readonly name = "count";
 *   newFlow(rec: FlowRecord): boolean {
 *     rec.count = 0;
 *     return true;
 *   }
 *   ip4(rec: FlowRecord, _pkt: PacketView, _rev: boolean): boolean {
 *     rec.count = (rec.count as number) + 1;
 *     return true;
 *   }
 * }
 * ```
 *
 * @module
 */

import type { PacketView } from "./packet.ts";

/**
 * A flow record: field names and JSON types are the manual's. Values are numbers, booleans,
 * strings, null, or arrays/objects of those. Fields whose Python type is float must be listed in
 * the chain's `floatFields` so that the serializer prints them the way Python does (`1.0`).
 */
export type FlowRecord = Record<string, unknown>;

/** Hook called for the first packet of a flow; false ignores the flow. */
export type NewFlowHook = (rec: FlowRecord, pkt: PacketView) => boolean;

/** Hook called for a packet of a kept flow; false completes the flow. */
export type PacketHook = (rec: FlowRecord, pkt: PacketView, rev: boolean) => boolean;

/** A flow-analysis chain. All hooks are optional; the observer resolves them once. */
export interface Chain {
  /** The name used on the command line (`basic`, `tcp`, ...). */
  readonly name: string;
  /** Fields this chain writes whose values are Python floats (serialised with a `.0`). */
  readonly floatFields?: readonly string[];
  /** Initialises the chain's fields of a new flow; false ignores the flow. */
  newFlow?(rec: FlowRecord, pkt: PacketView): boolean;
  /** Called for every IPv4 packet of the flow. */
  ip4?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
  /** Called for every IPv6 packet of the flow. */
  ip6?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
  /** Called for every ICMPv4 packet of the flow (after `ip4`). */
  icmp4?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
  /** Called for every ICMPv6 packet of the flow (after `ip6`). */
  icmp6?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
  /** Called for every TCP segment of the flow. */
  tcp?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
  /** Called for every UDP datagram of the flow. */
  udp?(rec: FlowRecord, pkt: PacketView, rev: boolean): boolean;
}

/** A constructor of a chain, as kept in the registry (a fresh instance per observer). */
export type ChainFactory = () => Chain;

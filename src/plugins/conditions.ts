/**
 * Condition rules several plugins share, as the original spells them: the connectivity word of
 * a baseline/experiment pair (`works`, `broken`, `transient`, `offline`), from connection states
 * (the socket plugins: ecn, dscp, tfo, tcpopt, h2) or from whether each probe got its answer (the
 * forge plugins: evilbit, udpzero, udpopts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectivity, connectivityOf } from "./conditions.ts";
 * import { CONN_OK, CONN_TIMEOUT } from "./plugin.ts";
 *
 * assert(connectivity(CONN_OK, CONN_TIMEOUT) === "broken");
 * assert(connectivityOf(false, true) === "transient");
 * ```
 *
 * @module
 */

import { CONN_OK, type FlowResult } from "./plugin.ts";

/** `works`, `broken`, `transient` or `offline` from whether the baseline and the test worked. */
export function connectivityOf(base: boolean, test: boolean): string {
  if (base && test) return "works";
  if (base) return "broken";
  if (test) return "transient";
  return "offline";
}

/** The connectivity word from the two connections' states (`spdr_state`, `CONN_*`). */
export function connectivity(base: number, test: number): string {
  return connectivityOf(base === CONN_OK, test === CONN_OK);
}

/**
 * The conditions of a pair of forged DNS probes (udpzero, udpopts): `<plugin>.connectivity.*`
 * from whether each got a valid answer, or `pathspider.not_observed` when a flow was not seen.
 */
export function dnsProbeConditions(plugin: string, flows: FlowResult[]): string[] {
  if (flows.some((f) => !f.observed)) return ["pathspider.not_observed"];
  const base = flows[0]!, test = flows[1]!;
  const conn = connectivityOf(
    base.dns_response_valid === true,
    test.dns_response_valid === true,
  );
  return [`${plugin}.connectivity.${conn}`];
}

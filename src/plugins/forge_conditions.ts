/**
 * Conditions shared by the forge plugins (evilbit, udpzero, udpopts): the connectivity word
 * of a baseline/experiment pair as the original spells it, from whether each probe got its
 * answer.
 *
 * @module
 */

import type { FlowResult } from "./plugin.ts";

/** `works`, `broken`, `transient` or `offline` from the two probes' outcomes. */
export function forgeConnectivity(base: boolean, test: boolean): string {
  if (base && test) return "works";
  if (base) return "broken";
  if (test) return "transient";
  return "offline";
}

/**
 * The conditions of a pair of forged DNS probes (udpzero, udpopts): `<plugin>.connectivity.*`
 * from whether each got a valid answer, or `pathspider.not_observed` when a flow was not seen.
 */
export function dnsProbeConditions(plugin: string, flows: FlowResult[]): string[] {
  if (flows.some((f) => !f.observed)) return ["pathspider.not_observed"];
  const [base, test] = flows;
  const conn = forgeConnectivity(
    base.dns_response_valid === true,
    test.dns_response_valid === true,
  );
  return [`${plugin}.connectivity.${conn}`];
}

/**
 * Conditions shared by the forge plugins (evilbit, udpzero, udpopts): the connectivity word
 * of a baseline/experiment pair as the original spells it, from whether each probe got its
 * answer.
 *
 * @module
 */

/** `works`, `broken`, `transient` or `offline` from the two probes' outcomes. */
export function forgeConnectivity(base: boolean, test: boolean): string {
  if (base && test) return "works";
  if (base) return "broken";
  if (test) return "transient";
  return "offline";
}

/**
 * Whether a finished run's data can be trusted: the check behind exit status 4
 * (`EXIT.UNTRUSTED`), which a scheduled job gates on.
 *
 * @module
 */

/** The counts the check reads. */
export interface TrustCounts {
  /** Flows the run's connections made (each expected on the wire). */
  flows: number;
  /** Of those, flows the observer never saw. */
  unobserved: number;
  /** Packets the kernel dropped before the observer saw them. */
  drops: number;
}

/**
 * Why the data cannot be trusted, or null when it can. Any kernel drop counts: a dropped packet
 * may be the one a condition depends on (a SYN-ACK's ECE, a reply's DSCP), and nothing tells
 * which. Unobserved flows count above `maxUnobservedPct` percent of the flows: a flow that was
 * not observed gives a result without conditions, and a run where most were not (`-i` naming an
 * interface the traffic does not take) measured nothing.
 */
export function distrust(c: TrustCounts, maxUnobservedPct: number): string | null {
  if (c.drops > 0) {
    return `the kernel dropped ${c.drops} packets before the observer saw them; ` +
      `conditions may be missing or wrong (fewer workers, or a quieter interface)`;
  }
  if (c.flows > 0 && c.unobserved * 100 > maxUnobservedPct * c.flows) {
    const pct = Math.round((c.unobserved * 1000) / c.flows) / 10;
    return `${pct}% of the flows (${c.unobserved} of ${c.flows}) were not observed, more than ` +
      `--max-unobserved ${maxUnobservedPct}%; does the traffic leave by the interface given with -i?`;
  }
  return null;
}

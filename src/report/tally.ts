/**
 * Counting results: how many were read and how many carry each condition, plus the data-quality
 * counts. One Tally per report, per file (for the time series) and per group (`--by`); adding a
 * result costs a few map updates and no allocation beyond what parsing it made.
 *
 * @module
 */

/** The connection state the original writes for a connection that timed out (`CONN_TIMEOUT`). */
const CONN_TIMEOUT = 2;
const MISSED_PREFIX = "pathspider.missed_flows:";
const NOT_OBSERVED = "pathspider.not_observed";

/** Counts over a set of results. */
export class Tally {
  /** Results read (the denominator of every share). */
  jobs = 0;
  /** Results with no `conditions` list (the plugin gave none, as the original then omits it). */
  withoutConditions = 0;
  /** Results carrying `pathspider.not_observed`. */
  notObserved = 0;
  /** Results with at least one missed (unobserved) flow, and those flows. */
  missedResults = 0;
  missedFlows = 0;
  /** Results carrying `flow_results` (written with `--output-flows`), and their flows. */
  withFlows = 0;
  flows = 0;
  /** Results with at least one connection that timed out, and those connections. */
  timeoutResults = 0;
  timeoutFlows = 0;
  /** Condition string -> results carrying it. */
  readonly conditions = new Map<string, number>();
  /**
   * Plugin -> results carrying at least one of its conditions: the denominator of that plugin's
   * shares, so that a report over several plugins' files does not divide one plugin's counts by
   * every plugin's results (`pathspider.*` is data quality, not a plugin).
   */
  readonly plugins = new Map<string, number>();
  /** The plugins counted for the result being added (reused, so adding allocates nothing). */
  #seen: string[] = [];

  /** Counts one result record. */
  add(rec: Record<string, unknown>): void {
    this.jobs++;
    const conds = rec.conditions;
    let missed = typeof rec.missed_flows === "number" ? rec.missed_flows : -1;
    if (Array.isArray(conds)) {
      const m = this.conditions;
      const seen = this.#seen;
      seen.length = 0;
      for (let i = 0; i < conds.length; i++) {
        const c = conds[i];
        if (typeof c !== "string") continue;
        m.set(c, (m.get(c) ?? 0) + 1);
        const plugin = pluginOf(c);
        if (plugin !== "pathspider" && !seen.includes(plugin)) {
          seen.push(plugin);
          this.plugins.set(plugin, (this.plugins.get(plugin) ?? 0) + 1);
        }
        if (c.charCodeAt(0) === 112 && c.startsWith("pathspider.")) {
          if (c === NOT_OBSERVED) this.notObserved++;
          else if (missed < 0 && c.startsWith(MISSED_PREFIX)) {
            missed = Number(c.slice(MISSED_PREFIX.length)) || 0;
          }
        }
      }
    } else this.withoutConditions++;
    if (missed > 0) {
      this.missedResults++;
      this.missedFlows += missed;
    }
    const flows = rec.flow_results;
    if (Array.isArray(flows)) {
      this.withFlows++;
      this.flows += flows.length;
      let timeouts = 0;
      for (let i = 0; i < flows.length; i++) {
        const f = flows[i] as { spdr_state?: unknown } | null;
        if (f !== null && typeof f === "object" && f.spdr_state === CONN_TIMEOUT) timeouts++;
      }
      if (timeouts > 0) {
        this.timeoutResults++;
        this.timeoutFlows += timeouts;
      }
    }
  }

  /** Adds another tally's counts into this one. */
  merge(o: Tally): void {
    this.jobs += o.jobs;
    this.withoutConditions += o.withoutConditions;
    this.notObserved += o.notObserved;
    this.missedResults += o.missedResults;
    this.missedFlows += o.missedFlows;
    this.withFlows += o.withFlows;
    this.flows += o.flows;
    this.timeoutResults += o.timeoutResults;
    this.timeoutFlows += o.timeoutFlows;
    for (const [c, n] of o.conditions) this.conditions.set(c, (this.conditions.get(c) ?? 0) + n);
    for (const [p, n] of o.plugins) this.plugins.set(p, (this.plugins.get(p) ?? 0) + n);
  }

  /**
   * The denominator of `condition`'s share: the results of its plugin; all results for
   * `pathspider.*`; 0 (no share: "-") where these results have none of that plugin's.
   */
  of(condition: string): number {
    const plugin = pluginOf(condition);
    return plugin === "pathspider" ? this.jobs : this.plugins.get(plugin) ?? 0;
  }
}

/** The plugin a condition belongs to: its first dotted part (`ecn.connectivity.works` -> ecn). */
function pluginOf(condition: string): string {
  const dot = condition.indexOf(".");
  return dot < 0 ? condition : condition.slice(0, dot);
}

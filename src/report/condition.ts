/**
 * How a condition name is read for grouping: `PLUGIN.[CODEPOINT.]FAMILY.REST[:VALUE]`.
 *
 * The plugin is the first dotted component and the family the first component after it that is
 * not a number or a codepoint (`dscp.46.connectivity.works` is plugin `dscp`, family
 * `connectivity`; `dscp.0.replymark:10` is `dscp`, `replymark`). A `:value` suffix (the
 * replymark's DSCP, `mss.option.local.value:1460`, `pathspider.missed_flows:2`) is not part of
 * the name: conditions are counted per full string, and shown grouped under the name.
 *
 * @module
 */

/** The parts of a condition string. */
export interface ConditionParts {
  /** First dotted component (`ecn`, `dscp`, `pathspider`). */
  plugin: string;
  /** First component after the plugin that is not numeric (empty when there is none). */
  family: string;
  /** The condition without its `:value` suffix. */
  name: string;
  /** The text after the first `:`, or null when there is no suffix. */
  value: string | null;
}

/** A codepoint or number as a condition component: `46`, `0x2e`. */
function isCodepoint(part: string): boolean {
  return /^(?:\d+|0x[0-9a-f]+)$/i.test(part);
}

/** Splits a condition into plugin, family, name and value (see the module documentation). */
export function conditionParts(condition: string): ConditionParts {
  const colon = condition.indexOf(":");
  const name = colon < 0 ? condition : condition.slice(0, colon);
  const value = colon < 0 ? null : condition.slice(colon + 1);
  const [plugin = "", ...rest] = name.split(".");
  const family = rest.find((p) => !isCodepoint(p)) ?? "";
  return { plugin, family, name, value };
}

/** One condition name and its counts: the name alone, or one entry per `:value`. */
export interface NamedCount {
  /** Condition name without value. */
  name: string;
  /** [full condition string, results carrying it], values in numeric order. */
  counts: [string, number][];
}

/** Conditions grouped plugin -> family -> name, each level in first-seen order. */
export type ConditionTree = Map<string, Map<string, NamedCount[]>>;

/** Groups a condition -> count map into a {@link ConditionTree}. */
export function conditionTree(counts: Map<string, number>): ConditionTree {
  const tree: ConditionTree = new Map();
  const byName = new Map<string, NamedCount>();
  for (const [cond, n] of counts) {
    const p = conditionParts(cond);
    let named = byName.get(p.name);
    if (named === undefined) {
      named = { name: p.name, counts: [] };
      byName.set(p.name, named);
      let families = tree.get(p.plugin);
      if (families === undefined) tree.set(p.plugin, families = new Map());
      let names = families.get(p.family);
      if (names === undefined) families.set(p.family, names = []);
      names.push(named);
    }
    named.counts.push([cond, n]);
  }
  for (const named of byName.values()) {
    if (named.counts.length > 1) named.counts.sort((a, b) => valueOrder(a[0], b[0]));
  }
  return tree;
}

function valueOrder(a: string, b: string): number {
  const va = a.slice(a.indexOf(":") + 1), vb = b.slice(b.indexOf(":") + 1);
  const na = Number(va), nb = Number(vb);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

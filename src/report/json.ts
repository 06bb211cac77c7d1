/**
 * The report as one JSON object, for scripts. Stable keys: `jobs` (results read),
 * `conditions` (condition -> results carrying it), `plugins` (plugin -> results carrying any of
 * its conditions: the denominator of its shares), `quality`, `families`
 * (plugin -> family -> condition -> count), `files`; with several files `series`; with `--by`
 * `by`; with `--compare` `compare` and `changed` (targets whose condition sets differ, each with
 * `dip`, `dp` and `conditions`: each run's sorted conditions, null where it has no result).
 *
 * @module
 */
import type { Report } from "./build.ts";
import { conditionTree } from "./condition.ts";
import type { Tally } from "./tally.ts";

function counts(t: Tally): Record<string, number> {
  return Object.fromEntries(t.conditions);
}

function families(t: Tally): Record<string, Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const [plugin, fams] of conditionTree(t.conditions)) {
    out[plugin] = {};
    for (const [family, names] of fams) {
      out[plugin][family] = Object.fromEntries(names.flatMap((n) => n.counts));
    }
  }
  return out;
}

function quality(t: Tally) {
  return {
    without_conditions: t.withoutConditions,
    not_observed: t.notObserved,
    missed_flows_results: t.missedResults,
    missed_flows: t.missedFlows,
    with_flow_results: t.withFlows,
    flows: t.flows,
    timeout_results: t.timeoutResults,
    timeout_flows: t.timeoutFlows,
  };
}

/** The report as a plain object (what `--json` prints). */
export function reportObject(r: Report): Record<string, unknown> {
  const t = r.total;
  const skipped = r.files.reduce((s, f) => s + f.skipped, 0);
  const out: Record<string, unknown> = {
    jobs: t.jobs,
    skipped,
    conditions: counts(t),
    plugins: Object.fromEntries(t.plugins),
    families: families(t),
    quality: quality(t),
    files: r.files.map((f) => ({
      path: f.path,
      label: f.label,
      jobs: f.tally.jobs,
      lines: f.lines,
      skipped: f.skipped,
      torn_last_line: f.torn,
      truncated: f.truncated,
      metadata: f.metadata,
    })),
  };
  if (r.files.length > 1) {
    out.series = r.files.map((f) => ({
      label: f.label,
      start: f.metadata?.start ?? null,
      jobs: f.tally.jobs,
      conditions: counts(f.tally),
    }));
  }
  if (r.by !== null) {
    out.by = {
      key: r.by.spec,
      groups: r.by.groups.map(([group, g]) => ({
        group,
        jobs: g.jobs,
        conditions: counts(g),
        quality: quality(g),
      })),
    };
  }
  const c = r.comparison;
  if (c !== null) {
    out.compare = {
      runs: c.runs,
      targets: c.targets,
      in_all: c.inAll,
      duplicates: c.duplicates,
      changed: c.changed.length,
      matrix: c.matrix,
      common: c.common,
      path_dependent: c.pathDependent,
    };
    out.changed = c.changed;
  }
  return out;
}

/** Renders the report as JSON text (one object, a line feed after it). */
export function renderJson(r: Report): string {
  return JSON.stringify(reportObject(r)) + "\n";
}

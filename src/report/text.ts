/**
 * The report as text tables for a terminal: counts and shares per plugin and condition family,
 * data quality, and, when asked for, the breakdown (`--by`), the time series (several files)
 * and the comparison (`--compare`).
 *
 * @module
 */
import type { Report } from "./build.ts";
import { conditionTree } from "./condition.ts";
import type { Tally } from "./tally.ts";

/** Options of {@link renderText}. */
export interface TextOptions {
  /** At most this many groups, changed targets and series columns are listed (default 50). */
  limit?: number;
}

/** A share as a percentage with one decimal, or "-" without a denominator. */
export function pct(n: number, of: number): string {
  return of === 0 ? "-" : `${(100 * n / of).toFixed(1)}%`;
}

function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  // the first column (a name) and a fourth (a note) read left-aligned, numbers right-aligned
  return rows.map((r) =>
    indent +
    r.map((c, i) => i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ")
      .trimEnd()
  );
}

/** The conditions of `t`, grouped by plugin and family, with counts and shares of each plugin's results. */
function conditionLines(t: Tally, indent = ""): string[] {
  const out: string[] = [];
  const tree = conditionTree(t.conditions);
  for (const [plugin, families] of tree) {
    if (plugin === "pathspider") continue; // its conditions are data quality, shown there
    out.push(`${indent}${plugin} (${t.plugins.get(plugin) ?? t.jobs} results)`);
    const rows: string[][] = [];
    for (const [family, names] of families) {
      rows.push([`${family || "(no family)"}`, "", ""]);
      for (const named of names) {
        const only = named.counts.length === 1 ? named.counts[0] : undefined;
        if (only !== undefined && only[0] === named.name) {
          rows.push([
            `  ${named.name}`,
            String(only[1]),
            pct(only[1], t.of(named.name)),
          ]);
          continue;
        }
        rows.push([`  ${named.name}`, "", ""]);
        for (const [cond, n] of named.counts) {
          rows.push([`    ${cond.slice(named.name.length)}`, String(n), pct(n, t.of(cond))]);
        }
      }
    }
    out.push(...table(rows, indent + "  "));
  }
  return out;
}

function qualityLines(r: Report): string[] {
  const t = r.total;
  const skipped = r.files.reduce((s, f) => s + f.skipped, 0);
  const rows: string[][] = [
    ["results read", String(t.jobs), "", ""],
    ["lines skipped (not a result)", String(skipped), "", ""],
    [
      "results without conditions",
      String(t.withoutConditions),
      pct(t.withoutConditions, t.jobs),
      "",
    ],
    ["pathspider.not_observed", String(t.notObserved), pct(t.notObserved, t.jobs), ""],
    [
      "results with missed flows",
      String(t.missedResults),
      pct(t.missedResults, t.jobs),
      `${t.missedFlows} flows missed`,
    ],
  ];
  if (t.withFlows > 0) {
    rows.push([
      "results with a timed-out connection",
      String(t.timeoutResults),
      pct(t.timeoutResults, t.withFlows),
      `of ${t.withFlows} with flow_results; ${t.timeoutFlows} of ${t.flows} connections`,
    ]);
  } else {
    rows.push(["timed-out connections", "n/a", "", "no flow_results (measure --output-flows)"]);
  }
  const out = table(rows);
  for (const f of r.files) {
    if (f.torn) out.push(`  ${f.path}: the last line is torn (an interrupted write); skipped`);
    if (f.truncated) out.push(`  ${f.path}: compressed data ends early (${f.truncated})`);
  }
  return out;
}

const META_KEYS = [
  "tool",
  "version",
  "commit",
  "plugin",
  "vantage",
  "interface",
  "sip_public",
  "sip_asn",
  "kernel",
  "start",
  "end",
  "rate",
  "seed",
  "shard",
  "command",
];

function metadataLines(r: Report): string[] {
  const out: string[] = [];
  for (const f of r.files) {
    if (f.metadata === null) continue;
    out.push(`  ${f.label} (${f.metadataPath})`);
    const rows: string[][] = [];
    for (const k of META_KEYS) {
      const v = f.metadata[k];
      if (v === undefined || v === null) continue;
      rows.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
    }
    const counts = f.metadata.counts;
    if (counts && typeof counts === "object") {
      rows.push([
        "counts",
        Object.entries(counts as Record<string, unknown>).map(([k, v]) => `${k} ${v}`).join(", "),
      ]);
    }
    out.push(...table(rows, "    ").map((l) => l));
  }
  return out;
}

function seriesLines(r: Report, limit: number): string[] {
  const files = r.files.slice(0, limit);
  const conds = [...r.total.conditions.keys()].sort();
  const rows: string[][] = [["condition", ...files.map((f) => f.label)]];
  rows.push(["results", ...files.map((f) => String(f.tally.jobs))]);
  for (const c of conds) {
    rows.push([c, ...files.map((f) => pct(f.tally.conditions.get(c) ?? 0, f.tally.of(c)))]);
  }
  const out = table(rows);
  if (r.files.length > limit) out.push(`  (${r.files.length - limit} more runs; --json lists all)`);
  return out;
}

function compareLines(r: Report, limit: number): string[] {
  const c = r.comparison!;
  const out: string[] = [];
  out.push(
    `  runs: ${c.runs.join(", ")}`,
    `  targets (dip, dp): ${c.targets}, in every run: ${c.inAll}` +
      (c.duplicates > 0 ? `, repeated within a run: ${c.duplicates} (the later counts)` : ""),
    `  targets whose conditions changed: ${c.changed.length}`,
    `  path-dependent (broken from one run, works from another): ${c.pathDependent.targets}`,
    "",
    "  changed targets between runs (of targets in both):",
  );
  const m = [["", ...c.runs]];
  c.runs.forEach((a, i) =>
    m.push([a, ...c.runs.map((_, j) => i === j ? "-" : `${c.matrix[i]![j]}/${c.common[i]![j]}`)])
  );
  out.push(...table(m, "    "));
  if (c.pathDependent.targets > 0) {
    out.push("", "  broken from (row) and works from (column):");
    const p = [["", ...c.runs]];
    c.runs.forEach((a, i) =>
      p.push([a, ...c.runs.map((_, j) => i === j ? "-" : String(c.pathDependent.pairs[i]![j]))])
    );
    out.push(...table(p, "    "));
  }
  if (c.changed.length > 0) {
    out.push("", "  changed targets:");
    for (const t of c.changed.slice(0, limit)) {
      out.push(`    ${t.dip}${t.dp === null ? "" : ` port ${t.dp}`}`);
      t.conditions.forEach((conds, i) => {
        const label = c.runs[i];
        out.push(`      ${label}: ${conds === null ? "(no result)" : conds.join(" ") || "(none)"}`);
      });
    }
    if (c.changed.length > limit) {
      out.push(`    (${c.changed.length - limit} more; --json lists all)`);
    }
  }
  return out;
}

/** Renders the report as text. */
export function renderText(r: Report, opts: TextOptions = {}): string {
  const limit = opts.limit ?? 50;
  const t = r.total;
  const names = r.files.map((f) => f.path === "-" ? "stdin" : f.path);
  const out: string[] = [
    `pathspider report: ${t.jobs} results read from ${names.length} file${
      names.length === 1 ? "" : "s"
    } (${names.join(", ")})`,
    `Counts are results carrying each condition; a share is of the results of the condition's ` +
    `plugin (shown beside it); data-quality shares are of the ${t.jobs} results read.`,
    "",
    "Conditions",
    ...conditionLines(t, "  "),
    "",
    "Data quality",
    ...qualityLines(r),
  ];
  const meta = metadataLines(r);
  if (meta.length > 0) out.push("", "Run metadata", ...meta);
  if (r.by !== null) {
    out.push(
      "",
      `By ${r.by.spec} (${r.by.groups.length} groups; shares are of each group's results)`,
    );
    for (const [key, g] of r.by.groups.slice(0, limit)) {
      out.push("", `  ${key}: ${g.jobs} results`, ...conditionLines(g, "    "));
    }
    if (r.by.groups.length > limit) {
      out.push("", `  (${r.by.groups.length - limit} more groups; --json lists all)`);
    }
  }
  if (r.files.length > 1) {
    out.push(
      "",
      "Over time (share of each run's results of the condition's plugin; runs in time order)",
      ...seriesLines(r, limit),
    );
  }
  if (r.comparison !== null) out.push("", "Comparison", ...compareLines(r, limit));
  return out.join("\n") + "\n";
}

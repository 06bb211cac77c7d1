/**
 * The report as one self-contained HTML page: the tables, and charts drawn by Apache ECharts
 * (npm `echarts`, its dist build inlined, so the page loads nothing from anywhere): condition
 * shares per plugin, data quality at a glance, the time series as lines, the `--by` breakdown
 * and the comparison as a matrix. Charts use ECharts' SVG renderer without animation, so the
 * page is complete once loaded (for printing, screenshots and headless checks).
 *
 * The page records its own failures: a script error or a console error is counted in
 * `<body data-errors>`, and `data-charts` says how many charts were drawn.
 *
 * @module
 */
// A text import: Deno bundles the file into `deno compile` binaries like any module.
import ECHARTS from "echarts/dist/echarts.min.js" with { type: "text" };
import type { Report } from "./build.ts";
import { conditionTree } from "./condition.ts";
import { reportObject } from "./json.ts";
import { pct } from "./text.ts";
import type { Tally } from "./tally.ts";

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** At most this many groups, changed targets and series conditions are shown (default 50). */
  limit?: number;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Script text that cannot end its `<script>` element early (ECharts 6.1 holds no `</script`). */
function scriptText(s: string): string {
  return s.replace(/<\/(script)/gi, "<\\/$1");
}

/** A table; the columns from `firstNumeric` on are numbers (right-aligned). */
function tableHtml(head: string[], rows: string[][], firstNumeric = 1): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) =>
    `<tr>${
      r.map((c, i) => `<td${i >= firstNumeric ? ' class="num"' : ""}>${esc(c)}</td>`).join("")
    }</tr>`
  ).join("\n");
  return `<div class="wide"><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></div>`;
}

interface PluginData {
  plugin: string;
  rows: { condition: string; family: string; count: number; share: number }[];
}

function pluginData(t: Tally): PluginData[] {
  const out: PluginData[] = [];
  for (const [plugin, families] of conditionTree(t.conditions)) {
    if (plugin === "pathspider") continue;
    const rows: PluginData["rows"] = [];
    for (const [family, names] of families) {
      for (const named of names) {
        for (const [condition, count] of named.counts) {
          rows.push({
            condition,
            family,
            count,
            share: t.of(condition) ? 100 * count / t.of(condition) : 0,
          });
        }
      }
    }
    out.push({ plugin, rows });
  }
  return out;
}

function qualityData(r: Report) {
  const t = r.total;
  const lines = r.files.reduce((s, f) => s + f.lines, 0);
  const skipped = r.files.reduce((s, f) => s + f.skipped, 0);
  const share = (n: number, of: number) => of === 0 ? 0 : 100 * n / of;
  const items = [
    { label: "lines skipped", count: skipped, share: share(skipped, lines), of: `${lines} lines` },
    {
      label: "without conditions",
      count: t.withoutConditions,
      share: share(t.withoutConditions, t.jobs),
      of: `${t.jobs} results`,
    },
    {
      label: "pathspider.not_observed",
      count: t.notObserved,
      share: share(t.notObserved, t.jobs),
      of: `${t.jobs} results`,
    },
    {
      label: "missed flows",
      count: t.missedResults,
      share: share(t.missedResults, t.jobs),
      of: `${t.jobs} results`,
    },
  ];
  if (t.withFlows > 0) {
    items.push({
      label: "timed-out connection",
      count: t.timeoutResults,
      share: share(t.timeoutResults, t.withFlows),
      of: `${t.withFlows} results with flow_results`,
    });
  }
  return items;
}

function seriesData(r: Report, limit: number) {
  if (r.files.length < 2) return null;
  const conds = [...r.total.conditions.entries()]
    .filter(([c]) => !c.startsWith("pathspider.missed_flows:"))
    .sort((a, b) => b[1] - a[1]).slice(0, limit).map(([c]) => c);
  return {
    runs: r.files.map((f) => f.label),
    lines: conds.map((c) => ({
      condition: c,
      shares: r.files.map((f) =>
        f.tally.of(c) ? +(100 * (f.tally.conditions.get(c) ?? 0) / f.tally.of(c)).toFixed(2) : null
      ),
    })),
  };
}

/** The `--by` groups (largest first, up to `limit`) and the 8 most common conditions. */
function byData(r: Report, limit: number) {
  if (r.by === null) return null;
  const groups = r.by.groups.slice(0, limit);
  const conds = [...r.total.conditions.entries()]
    .filter(([c]) => !c.startsWith("pathspider."))
    .sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c]) => c);
  return {
    spec: r.by.spec,
    groups: groups.map(([g]) => g),
    series: conds.map((c) => ({
      condition: c,
      shares: groups.map(([, t]) =>
        t.of(c) ? +(100 * (t.conditions.get(c) ?? 0) / t.of(c)).toFixed(2) : 0
      ),
    })),
  };
}

const STYLE = `
body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1180px;
  color: #1d2330; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px;
  border-bottom: 1px solid #d8dce6; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 4px; }
.muted { color: #5a6275; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid #d8dce6; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 20px; } .card span { color: #5a6275; font-size: 12px; }
.chart { width: 100%; height: 320px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceef3; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f5f8; } code { font-size: 12px; } .wide { overflow-x: auto; }
`;

/** The script that draws the charts from the embedded data; it runs after ECharts is defined. */
const DRAW = String.raw`
(function () {
  var errors = 0, charts = 0;
  var body = document.body;
  function fail() { errors++; body.setAttribute("data-errors", String(errors)); }
  window.addEventListener("error", fail);
  var consoleError = console.error;
  console.error = function () { fail(); consoleError.apply(console, arguments); };
  body.setAttribute("data-errors", "0");
  var D = JSON.parse(document.getElementById("report-data").textContent);
  function draw(id, option, height) {
    var el = document.getElementById(id);
    if (!el) return;
    if (height) el.style.height = height + "px";
    var c = echarts.init(el, null, { renderer: "svg" });
    option.animation = false;
    c.setOption(option);
    charts++;
    body.setAttribute("data-charts", String(charts));
  }
  var pctFmt = function (v) { return (v == null ? "-" : Number(v).toFixed(1) + "%"); };
  D.plugins.forEach(function (p, i) {
    var rows = p.rows.slice().reverse();
    draw("chart-plugin-" + i, {
      title: { text: p.plugin + ": share of results carrying each condition", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (ps) { var r = rows[ps[0].dataIndex];
          return r.condition + "<br>" + r.count + " results (" + pctFmt(r.share) + ")"; } },
      grid: { left: 8, right: 48, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.condition; }) },
      series: [{ type: "bar", data: rows.map(function (r) { return +r.share.toFixed(2); }),
        label: { show: true, position: "right", formatter: function (x) { return pctFmt(x.value); } },
        itemStyle: { color: "#3b6fd1" } }]
    }, 60 + 26 * rows.length);
  });
  var q = D.quality.slice().reverse();
  draw("chart-quality", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
      formatter: function (ps) { var r = q[ps[0].dataIndex];
        return r.label + "<br>" + r.count + " of " + r.of + " (" + pctFmt(r.share) + ")"; } },
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: q.map(function (r) { return r.label; }) },
    series: [{ type: "bar", data: q.map(function (r) { return +r.share.toFixed(2); }),
      label: { show: true, position: "right", formatter: function (x) { return pctFmt(x.value); } },
      itemStyle: { color: "#d1663b" } }]
  }, 40 + 30 * q.length);
  function legendRoom(n) { return 30 + 22 * Math.ceil(n / 5); }
  if (D.series) {
    var sRoom = legendRoom(D.series.lines.length);
    draw("chart-series", {
      tooltip: { trigger: "axis", valueFormatter: pctFmt },
      legend: { type: "plain", bottom: 0 },
      grid: { left: 8, right: 24, top: 16, bottom: sRoom, containLabel: true },
      xAxis: { type: "category", data: D.series.runs },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: D.series.lines.map(function (l) {
        return { type: "line", name: l.condition, data: l.shares, showSymbol: true };
      })
    }, 320 + sRoom);
  }
  if (D.by) {
    var bRoom = legendRoom(D.by.series.length);
    draw("chart-by", {
      tooltip: { trigger: "axis", valueFormatter: pctFmt },
      legend: { type: "plain", bottom: 0 },
      grid: { left: 8, right: 24, top: 16, bottom: bRoom, containLabel: true },
      xAxis: { type: "category", data: D.by.groups, axisLabel: { rotate: D.by.groups.length > 8 ? 30 : 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: D.by.series.map(function (s) { return { type: "bar", name: s.condition, data: s.shares }; })
    }, 340 + bRoom);
  }
  if (D.compare) {
    var runs = D.compare.runs, cells = [], most = 1;
    runs.forEach(function (a, i) { runs.forEach(function (b, j) {
      if (i === j) return;
      var v = D.compare.matrix[i][j]; most = Math.max(most, v);
      cells.push([j, i, v, D.compare.common[i][j]]);
    }); });
    draw("chart-matrix", {
      tooltip: { formatter: function (p) { return runs[p.value[1]] + " / " + runs[p.value[0]] +
        "<br>" + p.value[2] + " of " + p.value[3] + " common targets changed"; } },
      grid: { left: 8, right: 24, top: 16, bottom: 60, containLabel: true },
      xAxis: { type: "category", data: runs, splitArea: { show: true } },
      yAxis: { type: "category", data: runs, splitArea: { show: true } },
      visualMap: { min: 0, max: most, calculable: false, orient: "horizontal", left: "center",
        bottom: 0, inRange: { color: ["#f4f5f8", "#d1663b"] } },
      series: [{ type: "heatmap", data: cells,
        label: { show: true, formatter: function (p) { return p.value[2] + "/" + p.value[3]; } } }]
    }, 120 + 48 * runs.length);
  }
})();
`;

/** Renders the report as one HTML page. */
export function renderHtml(r: Report, opts: HtmlOptions = {}): string {
  const limit = opts.limit ?? 50;
  const t = r.total;
  const plugins = pluginData(t);
  const quality = qualityData(r);
  const series = seriesData(r, limit);
  const by = byData(r, limit);
  const c = r.comparison;
  const names = r.files.map((f) => f.path === "-" ? "stdin" : f.path);
  const parts: string[] = [];
  parts.push(
    `<h1>pathspider report</h1>`,
    `<p class="muted">${t.jobs} results read from ${names.length} file${
      names.length === 1 ? "" : "s"
    }: ${
      esc(names.join(", "))
    }. Counts are results carrying a condition; a share is of the results ` +
      `of the condition's plugin (shown beside it), data-quality shares of the ${t.jobs} results ` +
      `read.</p>`,
    `<section id="quality"><h2>Data quality</h2><div class="cards">`,
    ...quality.map((q) =>
      `<div class="card"><b>${q.count}</b>${esc(q.label)}<br><span>${q.share.toFixed(1)}% of ${
        esc(q.of)
      }</span></div>`
    ),
    `</div><div class="chart" id="chart-quality"></div>`,
  );
  for (const f of r.files) {
    if (f.torn) parts.push(`<p>${esc(f.path)}: the last line is torn; skipped.</p>`);
    if (f.truncated) parts.push(`<p>${esc(f.path)}: compressed data ends early.</p>`);
  }
  const metas = r.files.filter((f) => f.metadata !== null);
  if (metas.length > 0) {
    // one column per run, one row per field any run's metadata has
    const keys: string[] = [];
    for (const f of metas) {
      for (const k of Object.keys(f.metadata!)) if (!keys.includes(k)) keys.push(k);
    }
    const cell = (v: unknown) =>
      v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
    parts.push(
      `<h3>Run metadata</h3>`,
      tableHtml(
        ["field", ...metas.map((f) => f.label)],
        keys.map((k) => [k, ...metas.map((f) => cell(f.metadata![k]))]),
        metas.length + 1,
      ),
    );
  }
  parts.push(`</section><section id="conditions"><h2>Conditions per plugin</h2>`);
  plugins.forEach((p, i) => {
    parts.push(
      `<h3>${esc(p.plugin)} <span class="muted">(${
        t.plugins.get(p.plugin) ?? t.jobs
      } results)</span></h3><div class="chart" id="chart-plugin-${i}"></div>`,
      tableHtml(
        ["condition", "family", "results", "share"],
        p.rows.map((row) => [
          row.condition,
          row.family,
          String(row.count),
          pct(row.count, t.of(row.condition)),
        ]),
        2,
      ),
    );
  });
  parts.push(`</section>`);
  if (series !== null) {
    parts.push(
      `<section id="series"><h2>Over time</h2><p class="muted">Share of each run's results, ` +
        `runs in time order.</p><div class="chart" id="chart-series"></div>`,
      tableHtml(
        ["run", "start", "results"],
        r.files.map((f) => [f.label, String(f.metadata?.start ?? ""), String(f.tally.jobs)]),
        2,
      ),
      `</section>`,
    );
  }
  if (by !== null) {
    parts.push(
      `<section id="by"><h2>By ${esc(by.spec)}</h2><p class="muted">${r.by!.groups.length} ` +
        `groups; shares are of each group's results; the ${by.groups.length} largest shown.</p>` +
        `<div class="chart" id="chart-by"></div>`,
      tableHtml(
        ["group", "results", ...by.series.map((s) => s.condition)],
        r.by!.groups.slice(0, limit).map(([g, gt]) => [
          g,
          String(gt.jobs),
          ...by.series.map((s) => pct(gt.conditions.get(s.condition) ?? 0, gt.of(s.condition))),
        ]),
      ),
      `</section>`,
    );
  }
  if (c !== null) {
    parts.push(
      `<section id="compare"><h2>Comparison</h2>`,
      `<div class="cards"><div class="card"><b>${c.targets}</b>targets (dip, dp)</div>` +
        `<div class="card"><b>${c.inAll}</b>in every run</div>` +
        `<div class="card"><b>${c.changed.length}</b>conditions changed</div>` +
        `<div class="card"><b>${c.pathDependent.targets}</b>path-dependent<br>` +
        `<span>broken from one run, works from another</span></div></div>`,
      `<h3>Targets whose conditions changed, per pair of runs (changed / in both)</h3>`,
      `<div class="chart" id="chart-matrix"></div>`,
      c.pathDependent.targets === 0 ? "" : `<h3>Path dependence: targets broken from (row) ` +
        `and working from (column)</h3>` +
        tableHtml(
          ["broken from \\ works from", ...c.runs],
          c.runs.map((a, i) => [
            a,
            ...c.runs.map((_, j) => i === j ? "-" : String(c.pathDependent.pairs[i]![j])),
          ]),
        ),
      `<h3>Changed targets${c.changed.length > limit ? ` (first ${limit})` : ""}</h3>`,
      tableHtml(
        ["target", ...c.runs],
        c.changed.slice(0, limit).map((ch) => [
          ch.dp === null ? ch.dip : `${ch.dip} port ${ch.dp}`,
          ...ch.conditions.map((cs) => cs === null ? "(no result)" : cs.join(" ")),
        ]),
        c.runs.length + 1,
      ),
      `</section>`,
    );
  }
  const data = {
    plugins,
    quality,
    series,
    by,
    compare: c === null ? null : { runs: c.runs, matrix: c.matrix, common: c.common },
    report: reportObject({ ...r, comparison: c === null ? null : { ...c, changed: [] } }),
  };
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>pathspider report</title><style>${STYLE}</style></head>
<body>
${parts.join("\n")}
<script>${scriptText(ECHARTS)}</script>
<script type="application/json" id="report-data">${
    JSON.stringify(data).replace(/</g, "\\u003c")
  }</script>
<script>${DRAW}</script>
</body></html>
`;
}

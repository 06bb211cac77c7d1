/**
 * Builds a report from result files in one streaming pass over each: the counts per file (the
 * time series), per group (`--by`) and, with `--compare`, the per-target comparison.
 *
 * @module
 */
import { EXIT, UserError } from "../errors.ts";
import type { AsnDb } from "../io/asndb.ts";
import { Comparison, type ComparisonSummary } from "./compare.ts";
import { groupKeyOf } from "./group.ts";
import { describeFile, readResults, type ResultFile } from "./read.ts";
import { Tally } from "./tally.ts";

/** A results file with its counts. */
export type FileReport = ResultFile & { tally: Tally };

/** Everything a renderer needs. */
export interface Report {
  /** The files, in time order (metadata `start` when every file has it, else as given). */
  files: FileReport[];
  /** Counts over all files. */
  total: Tally;
  /** `--by`: its spec and the groups (largest first). */
  by: { spec: string; groups: [string, Tally][] } | null;
  /** `--compare`: the comparison. */
  comparison: ComparisonSummary | null;
}

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** `--by` spec. */
  by?: string;
  /** `--asn-db` table for `--by asn`. */
  asnDb?: AsnDb | null;
  /** `--compare`: runs are the files, or with one file the results' `vantage` values. */
  compare?: boolean;
  /** `--metadata` files, the i-th for the i-th results file. */
  metadata?: string[];
  /** Receives warnings (default: stderr). */
  warn?: (message: string) => void;
}

/** Reads `paths` and counts what the options ask for. */
export async function buildReport(paths: string[], opts: ReportOptions = {}): Promise<Report> {
  if (paths.length === 0) {
    throw new UserError("no results file given (use - for stdin)", EXIT.USAGE);
  }
  if (paths.filter((p) => p === "-" || p === "/dev/stdin").length > 1) {
    throw new UserError("standard input can be read only once", EXIT.USAGE);
  }
  const metas = opts.metadata ?? [];
  if (metas.length > paths.length) {
    throw new UserError(
      `${metas.length} --metadata files for ${paths.length} results files`,
      EXIT.USAGE,
    );
  }
  const groupKey = opts.by === undefined ? null : groupKeyOf(opts.by, opts.asnDb ?? null);
  const files: FileReport[] = paths.map((p, i) => ({
    ...describeFile(p, metas[i]),
    tally: new Tally(),
  }));
  const byVantage = opts.compare === true && files.length === 1;
  const comparison = opts.compare
    ? new Comparison(byVantage ? [] : files.map((f) => f.label))
    : null;
  const groups = new Map<string, Tally>();
  for (const [i, file] of files.entries()) {
    const tally = file.tally;
    await readResults(file, (rec) => {
      tally.add(rec);
      if (groupKey !== null) {
        const k = groupKey(rec, file);
        let g = groups.get(k);
        if (g === undefined) groups.set(k, g = new Tally());
        g.add(rec);
      }
      if (comparison !== null) {
        const run = byVantage
          ? comparison.runIndex(typeof rec.vantage === "string" ? rec.vantage : file.label)
          : i;
        comparison.add(run, rec);
      }
    }, { warn: opts.warn });
  }
  const total = new Tally();
  for (const f of files) total.merge(f.tally);
  const summary = comparison?.summary() ?? null;
  if (summary !== null && summary.runs.length < 2) {
    throw new UserError(
      "--compare needs two runs: two or more files, or one whose results carry 'vantage'",
      EXIT.USAGE,
    );
  }
  if (files.every((f) => typeof f.metadata?.start === "string")) {
    files.sort((a, b) => (a.metadata!.start as string).localeCompare(b.metadata!.start as string));
  }
  return {
    files,
    total,
    by: groupKey === null
      ? null
      : { spec: opts.by!, groups: [...groups].sort((a, b) => b[1].jobs - a[1].jobs) },
    comparison: summary,
  };
}

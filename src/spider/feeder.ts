/**
 * The feeder: turns the input (ndjson, or the original's CSV shapes) into jobs, lazily.
 *
 * Jobs are produced only as workers pull them (an async generator over the input stream), so a
 * list of millions of lines is never held in memory; only the set of targets already seen grows
 * (4 or 16 bytes per address, src/spider/addrset.ts), as in the original, which skips a job whose
 * `dip` it has already queued.
 */
import { AddrSet } from "./addrset.ts";
import { ipVersion, parseIpInto } from "../wire/ip.ts";
import { neverProbeKind } from "../targets/special.ts";
import type { ExclusionList } from "../targets/exclude.ts";
import { parseAddress } from "../targets/address.ts";
import { countLines, openInput, readLines } from "../io/lines.ts";
import type { Job } from "../plugins/plugin.ts";
import { splitCsvRow } from "../io/csv.ts";
import { parseJsonExact } from "../io/json_exact.ts";

/** A job with where it came from. */
export interface FedJob {
  /** The job. */
  job: Job;
  /** 1-based input line number. */
  line: number;
}

/** Counters the feeder keeps while it runs. */
export interface FeederStats {
  /** Jobs handed out. */
  jobs: number;
  /** Lines skipped because they were malformed or had no valid `dip`. */
  malformed: number;
  /** Lines skipped because their `dip` was already measured. */
  duplicates: number;
  /** Lines skipped because their `dip` is never probed (targets/special.ts `neverProbeKind`). */
  unprobeable: number;
  /** Lines skipped because their `dip` is in an `--exclude` list. */
  excluded: number;
}

/** Lines skipped for any reason. */
export function skippedLines(s: FeederStats): number {
  return s.malformed + s.duplicates + s.unprobeable + s.excluded;
}

/** Options of `readJobs`. */
export interface FeederOptions {
  /** Input format: ndjson (default) or the original's CSV rows. */
  csv?: boolean;
  /** Receives each warning line (default: stderr). */
  warn?: (message: string) => void;
  /** Counters, updated as lines are read. */
  stats?: FeederStats;
  /** Targets never to probe (`--exclude`): skipped and counted, without a line each. */
  exclude?: ExclusionList;
  /**
   * Skip (with a warning each, counted) targets that are never probed (default true);
   * `pathspider filter` classifies them itself.
   */
  skipNeverProbed?: boolean;
}

/** Fresh zeroed counters. */
export function newFeederStats(): FeederStats {
  return { jobs: 0, malformed: 0, duplicates: 0, unprobeable: 0, excluded: 0 };
}

/** The original's CSV shapes: (rank, domain), (dip, dp, domain) of 0.9.x, (dip, dp, domain, rank). */
function csvJob(row: string[]): Record<string, unknown> | string {
  switch (row.length) {
    case 2:
      return "a 2-column row (rank, domain) has no dip: resolve it first (pathspider measure --csv-input dnsresolv)";
    case 3:
      return { dip: row[0], dp: row[1], domain: row[2] };
    case 4:
      return { dip: row[0], dp: row[1], domain: row[2], rank: row[3] };
    default:
      return `expected 3 or 4 columns (dip,dp,domain[,rank]), got ${row.length}`;
  }
}

/** Checks a parsed record; returns the job or why it is rejected. */
function checkJob(rec: unknown, fromCsv: boolean): Job | string {
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return "not a JSON object";
  const job = rec as Record<string, unknown>;
  if (!("dip" in job)) return "no 'dip' field";
  if (ipVersion(job.dip) === 0) {
    return `'dip' is not an IPv4 or IPv6 address: ${JSON.stringify(job.dip)}`;
  }
  if ("dp" in job) {
    // CSV gives text; the original kept it as text, we need a port number to connect
    const dp = fromCsv && typeof job.dp === "string" && /^\d+$/.test(job.dp)
      ? Number(job.dp)
      : job.dp;
    if (typeof dp !== "number" || !Number.isInteger(dp) || dp < 1 || dp > 65535) {
      return `'dp' is not a port number: ${JSON.stringify(job.dp)}`;
    }
    job.dp = dp;
  }
  return job as Job;
}

/**
 * Reads jobs from `stream`. Malformed lines and lines without a valid `dip` produce one warning
 * each (with the line number) and a counted skip; a `dip` seen before is skipped and counted
 * (the original's notion of a duplicate target: the same `dip`, whatever the port). A `dip` that
 * is never probed (unspecified, loopback, link-local, multicast, broadcast, and their IPv4-mapped
 * and -compatible forms) is skipped with one warning and counted; one in `exclude` is skipped and
 * counted. Blank lines are ignored.
 */
export async function* readJobs(
  stream: ReadableStream<Uint8Array>,
  opts: FeederOptions = {},
): AsyncGenerator<FedJob> {
  const warn = opts.warn ?? ((m: string) => console.error(m));
  const stats = opts.stats ?? newFeederStats();
  const seen = new AddrSet();
  const dipBytes = new Uint8Array(16);
  const skipNever = opts.skipNeverProbed !== false;
  let line = 0;
  for await (const text of readLines(stream)) {
    line++;
    if (text.trim() === "") continue;
    let rec: unknown;
    if (opts.csv) {
      rec = csvJob(splitCsvRow(text));
    } else {
      try {
        // integers beyond 2^53 kept exactly: a job's fields go into its result untouched
        rec = parseJsonExact(text);
      } catch {
        rec = "not valid JSON";
      }
    }
    const job = typeof rec === "string" ? rec : checkJob(rec, opts.csv === true);
    if (typeof job === "string") {
      stats.malformed++;
      warn(`pathspider: warning: input line ${line}: ${job}; skipped`);
      continue;
    }
    const never = skipNever
      ? neverProbeKind(dipBytes, parseIpInto(job.dip, dipBytes) as 4 | 6)
      : null;
    if (never !== null) {
      stats.unprobeable++;
      warn(
        `pathspider: warning: input line ${line}: ${job.dip} is ${never}: never probed; skipped`,
      );
      continue;
    }
    if (opts.exclude !== undefined && opts.exclude.has(parseAddress(job.dip)!)) {
      stats.excluded++;
      continue;
    }
    if (!seen.add(job.dip)) {
      stats.duplicates++;
      continue;
    }
    stats.jobs++;
    yield { job, line };
  }
}

/** Jobs for the engine, and what is known of their number. */
export interface JobSource extends AsyncDisposable {
  /** The jobs, read as the workers ask for them. */
  jobs: AsyncIterator<FedJob>;
  /** How many lines the input holds, once known (progress); undefined: not known (yet). */
  total(): number | undefined;
}

/**
 * Jobs from `path` (a file, a FIFO, `<(zcat ...)`; undefined or `-`: standard input), plain or
 * gzip. Only a regular file is counted for the progress total, in the background: reading a
 * stream to count it would consume the very lines the run must measure.
 */
export async function openJobs(
  path: string | undefined,
  opts: FeederOptions = {},
): Promise<JobSource> {
  const stream = await openInput(path ?? "-");
  let total: number | undefined;
  if (path !== undefined && path !== "-" && Deno.statSync(path).isFile) {
    countLines(path).then((n) => total = n, () => {});
  }
  const jobs = readJobs(stream, opts);
  return {
    jobs,
    total: () => total,
    [Symbol.asyncDispose]() {
      // not awaited: after a signal a read of a quiet stdin may still be pending, and return()
      // would wait for it (the reader's cancel closes the file)
      jobs.return(undefined).catch(() => {});
      stream.cancel().catch(() => {});
      return Promise.resolve();
    },
  };
}

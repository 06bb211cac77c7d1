/**
 * Reading result files for the report: ours and the original's (one JSON object per line, the
 * job's fields plus `conditions`, `path`, `time`, maybe `flow_results` and `missed_flows`),
 * plain or gzip, streamed line by line. A line that is not a JSON object is a counted skip; a
 * torn last line (no line feed, not valid JSON: an interrupted run or copy) is reported once.
 *
 * @module
 */
import { EXIT, osReason, UserError } from "../errors.ts";
import { type LineStats, newLineStats, readLines } from "../io/lines.ts";

/** A run's metadata as `measure --metadata` writes it (only the fields the report reads are typed). */
export type RunMetadata = Record<string, unknown> & {
  vantage?: string;
  start?: string;
  end?: string;
};

/** One results file and what reading it found. */
export interface ResultFile {
  /** As given on the command line (`-` for stdin). */
  path: string;
  /** Short name: the metadata's `vantage`, else the file name without its extensions. */
  label: string;
  /** The run's metadata (from `--metadata` or `X.metadata.json` beside `X.ndjson`), or null. */
  metadata: RunMetadata | null;
  /** Where the metadata came from. */
  metadataPath: string | null;
  /** Lines that were not a result (not a JSON object), the torn last line included. */
  skipped: number;
  /** Whether the last line was torn (no line feed and not a whole JSON object). */
  torn: boolean;
  /** Why a compressed file ended early, or null. */
  truncated: string | null;
  /** Lines read. */
  lines: number;
}

/** The file name without directories and without `.gz`, `.ndjson`, `.jsonl`, `.json`. */
export function baseName(path: string): string {
  if (path === "-" || path === "/dev/stdin") return "stdin";
  return stem(path.slice(path.lastIndexOf("/") + 1));
}

function stem(name: string): string {
  return name.replace(/\.gz$/, "").replace(/\.(?:ndjson|jsonl|json)$/, "");
}

/** Where `X.ndjson[.gz]`'s metadata would sit: `X.metadata.json` in the same directory. */
export function metadataPathBeside(path: string): string | null {
  if (path === "-" || path === "/dev/stdin" || path.startsWith("/dev/fd/")) return null;
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}${stem(path.slice(slash + 1))}.metadata.json`;
}

/** Reads a metadata file; a missing optional one is null, an unreadable given one an error. */
export function readMetadata(path: string, required: boolean): RunMetadata | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (!required && e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`cannot read metadata ${path}: ${(e as Error).message}`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    meta = null;
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    throw new UserError(`metadata ${path} is not one JSON object`);
  }
  return meta as RunMetadata;
}

/** Describes a results file before it is read: its label and metadata. */
export function describeFile(path: string, metadataPath?: string): ResultFile {
  const mp = metadataPath ?? metadataPathBeside(path);
  const metadata = mp === null ? null : readMetadata(mp, metadataPath !== undefined);
  const vantage = metadata?.vantage;
  return {
    path,
    label: typeof vantage === "string" && vantage !== "" ? vantage : baseName(path),
    metadata,
    metadataPath: metadata === null ? null : mp,
    skipped: 0,
    torn: false,
    truncated: null,
    lines: 0,
  };
}

/** Warnings about bad lines printed per file before the rest are only counted. */
const MAX_WARNINGS = 10;

/** Options of {@link readResults}. */
export interface ReadOptions {
  /** Receives each warning line (default: stderr). */
  warn?: (message: string) => void;
}

/**
 * Streams the results of `file`, calling `visit` for each JSON object (and waiting when it
 * returns a promise), and fills in the file's counts. Blank lines are ignored. Unreadable input is a UserError.
 */
export async function readResults(
  file: ResultFile,
  visit: (rec: Record<string, unknown>) => void | Promise<void>,
  opts: ReadOptions = {},
): Promise<void> {
  const warn = opts.warn ?? ((m: string) => console.error(m));
  const stats: LineStats = newLineStats();
  let line = 0, warned = 0;
  // a bad line's warning waits for the next line: the last one may be the torn end of the file
  let pending = 0, pendingReason = "";
  const flush = () => {
    if (++warned <= MAX_WARNINGS) {
      warn(`pathspider: warning: ${file.path} line ${pending}: ${pendingReason}; skipped`);
    } else if (warned === MAX_WARNINGS + 1) {
      warn(`pathspider: warning: ${file.path}: further bad lines are only counted`);
    }
    pending = 0;
  };
  try {
    for await (const text of readLines(file.path, stats)) {
      line++;
      if (pending > 0) flush();
      if (text.length === 0) continue;
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch {
        rec = undefined;
      }
      if (rec !== null && typeof rec === "object" && !Array.isArray(rec)) {
        // a visitor that writes returns a promise now and then (a full buffer): wait for it
        const p = visit(rec as Record<string, unknown>);
        if (p !== undefined) await p;
        continue;
      }
      file.skipped++;
      pending = line;
      pendingReason = rec === undefined ? "not valid JSON" : "not a JSON object";
    }
  } catch (e) {
    // report's exit status for input it cannot read is 1 (FAILURE), also where opening the
    // file says 3 (SETUP, what measure uses for its input)
    const msg = e instanceof UserError ? e.message : `cannot read ${file.path}: ${osReason(e)}`;
    throw new UserError(msg, EXIT.FAILURE);
  }
  if (pending > 0) {
    if (pending === line && stats.unterminated) {
      file.torn = true;
      warn(`pathspider: warning: ${file.path}: the last line (${line}) is torn; skipped`);
    } else flush();
  }
  file.lines = line;
  file.truncated = stats.truncated;
  if (stats.truncated !== null) {
    warn(`pathspider: warning: ${file.path} ends early (${stats.truncated}); read what it held`);
  }
}

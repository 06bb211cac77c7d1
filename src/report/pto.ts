/**
 * `report --format pto`: results as an observation set file (OSF) of the Path Transparency
 * Observatory, as its "Observation Set File Format" document (pto3-go, doc/OBSETS.md) and its
 * observation code define it: newline-delimited JSON, each observation an array of strings
 * `[set_id, start, end, path, condition(, value)]` (times in RFC 3339, the path as
 * space-separated elements, IPv6 addresses in brackets, `*` for unknown hops), and a metadata
 * object with `_sources`, `_analyzer` and `_conditions` (string values otherwise).
 *
 * One observation per condition of each result. The set id is empty (the PTO fills it in on
 * upload). A condition's `:value` suffix becomes the value (`dscp.0.replymark:10` is condition
 * `dscp.0.replymark`, value `10`). The path is the result's `path` (source, maybe its AS, the
 * target's AS, target) with `*` between its elements: pathspider knows those points, not the
 * hops between them. The metadata comes last, once every condition is known: the format takes
 * the last metadata object of an analyzer's output as the set's, which lets the export stream.
 *
 * @module
 */
import { EXIT, UserError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { describeFile, readResults } from "./read.ts";

/** Counts of an export. */
export interface PtoStats {
  /** Results read. */
  results: number;
  /** Observations written. */
  observations: number;
  /** Results left out because they carry no time (neither `time` nor run metadata). */
  untimed: number;
}

/** `2026-12-07 23:13:35.574323` (the original's UTC text) as RFC 3339; null if not that shape. */
export function rfc3339(pyTime: unknown): string | null {
  if (typeof pyTime !== "string") return null;
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?$/.test(pyTime)) {
    return `${pyTime.slice(0, 10)}T${pyTime.slice(11)}Z`;
  }
  // ISO 8601 with a zone already (run metadata)
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/.test(pyTime)) return pyTime;
  return null;
}

/** A path element as the PTO writes it: IPv6 addresses in brackets. */
function element(e: string): string {
  return e.includes(":") && !e.startsWith("[") ? `[${e}]` : e;
}

/** The PTO path of a result: its `path` with `*` between the known points. */
export function ptoPath(rec: Record<string, unknown>): string | null {
  const path = rec.path;
  if (Array.isArray(path) && path.length > 0 && path.every((p) => typeof p === "string")) {
    return (path as string[]).map(element).join(" * ");
  }
  if (typeof rec.dip !== "string") return null;
  return typeof rec.sip === "string"
    ? `${element(rec.sip)} * ${element(rec.dip)}`
    : `* ${element(rec.dip)}`;
}

/** Writes text to `out` in large chunks. */
class Chunks {
  #parts: string[] = [];
  #size = 0;
  #enc = new TextEncoder();
  #writing: Promise<void> = Promise.resolve();
  constructor(private readonly out: { write(p: Uint8Array): Promise<number> }) {}

  push(s: string): Promise<void> | void {
    this.#parts.push(s);
    this.#size += s.length;
    if (this.#size >= 1 << 16) return this.flush();
  }

  /** Writes what is queued; writes run one after the other, in order. */
  flush(): Promise<void> {
    if (this.#parts.length === 0) return this.#writing;
    const data = this.#enc.encode(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
    this.#writing = this.#writing.then(async () => {
      try {
        let off = 0;
        while (off < data.length) off += await this.out.write(data.subarray(off));
      } catch (e) {
        throw new UserError(`cannot write observations: ${(e as Error).message}`, EXIT.FAILURE);
      }
    });
    return this.#writing;
  }
}

/**
 * Streams the results of `paths` to `out` as one observation set; the i-th `metadata` file
 * describes the i-th results file. Warnings (bad lines) go to `warn`.
 */
export async function exportPto(
  paths: string[],
  opts: {
    metadata?: string[];
    out?: { write(p: Uint8Array): Promise<number> };
    warn?: (m: string) => void;
  } = {},
): Promise<PtoStats> {
  const stats: PtoStats = { results: 0, observations: 0, untimed: 0 };
  const out = new Chunks(opts.out ?? Deno.stdout);
  const conditions = new Set<string>();
  const meta: Record<string, string> = {};
  let first: string | null = null, last: string | null = null;
  for (const [i, path] of paths.entries()) {
    const file = describeFile(path, opts.metadata?.[i]);
    const fileStart = rfc3339(file.metadata?.start), fileEnd = rfc3339(file.metadata?.end);
    for (const [k, v] of Object.entries(file.metadata ?? {})) {
      if (k === "counts" || v === null || v === undefined) continue;
      meta[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    await readResults(file, (rec): Promise<void> | void => {
      stats.results++;
      const time = rec.time as { from?: unknown; to?: unknown } | undefined;
      const start = rfc3339(time?.from) ?? fileStart, end = rfc3339(time?.to) ?? fileEnd ?? start;
      const path = ptoPath(rec);
      const conds = rec.conditions;
      if (!Array.isArray(conds) || path === null) return;
      if (start === null || end === null) {
        stats.untimed++;
        return;
      }
      if (first === null || start < first) first = start;
      if (last === null || end > last) last = end;
      let flushing: Promise<void> | void = undefined;
      const head = `["",${JSON.stringify(start)},${JSON.stringify(end)},${JSON.stringify(path)},`;
      for (const c of conds) {
        if (typeof c !== "string") continue;
        const colon = c.indexOf(":");
        const name = colon < 0 ? c : c.slice(0, colon);
        conditions.add(name);
        const line = colon < 0
          ? `${head}${JSON.stringify(name)}]\n`
          : `${head}${JSON.stringify(name)},${JSON.stringify(c.slice(colon + 1))}]\n`;
        stats.observations++;
        flushing = out.push(line) ?? flushing;
      }
      return flushing;
    }, { warn: opts.warn });
  }
  const setMeta: Record<string, unknown> = {
    ...meta,
    _sources: paths.map((p) => p === "-" ? "stdin" : p),
    _analyzer: `pathspider report --format pto (pathspider ${VERSION})`,
    _conditions: [...conditions].sort(),
  };
  if (first !== null) setMeta._time_start = first;
  if (last !== null) setMeta._time_end = last;
  await out.push(JSON.stringify(setMeta) + "\n");
  await out.flush();
  if (stats.untimed > 0) {
    (opts.warn ?? console.error)(
      `pathspider: warning: ${stats.untimed} results without a time (no 'time', no metadata start) left out`,
    );
  }
  return stats;
}

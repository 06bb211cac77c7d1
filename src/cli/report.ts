/**
 * The `report` command: what a researcher looks at after a run. Argument parsing and printing
 * only; the reading, counting and rendering live in src/report/.
 */
import { type Command, CommanderError, InvalidArgumentError } from "commander";
import { EXIT, UserError } from "../errors.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positive(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new InvalidArgumentError("expected a positive whole number");
  }
  return Number(text);
}

const HELP = `
Reads result files of 'pathspider measure' or of the original PATHspider (one JSON
object per line; plain or gzip, recognised by content; - for standard input; FIFOs
too) and prints, per plugin and condition family, how many results carry each
condition and their share of the results read, then data quality: lines skipped,
results without conditions, pathspider.not_observed, missed flows and (with
--output-flows results) timed-out connections. A torn last line is counted as
skipped and reported once.

A condition's family is the first dotted part after the plugin that is not a
number (dscp.46.connectivity.works: dscp, connectivity); conditions with a
:value (dscp.0.replymark:10) are counted per value and shown under their name.

Run metadata (measure --metadata) is read from --metadata FILE, the i-th for the
i-th results file, or from X.metadata.json beside X.ndjson[.gz].

Several files are a time series (in metadata 'start' order when every file has
it, else as given): each condition's share per run.

--by asn|prefix[/LEN|/LEN4,LEN6]|vantage|FIELD breaks the counts down:
  asn      the target's AS from dip_asn, info.ASN or the path, or from --asn-db
           (iptoasn.com TSV files, v4 and v6, plain or gzip)
  prefix   the target's /24 (IPv4) or /48 (IPv6); prefix/LEN for both
  vantage  the result's 'vantage', else its file's metadata 'vantage', else the
           file name
  FIELD    any field of the results (dotted for nested ones: info.rank)

--compare A B [C...] puts each target's (dip, dp) conditions side by side across
runs (the files; or one file's 'vantage' values), lists the targets whose
conditions changed and counts path dependence (broken from one run, works from
another). Its memory grows with the number of targets (about 200 bytes each:
1 M targets from 2 vantage points peak at 290 MiB); everything else reads in
constant memory however long the files (10 M results: 133 MiB).

--html FILE also writes one self-contained page (nothing fetched: Apache ECharts
is inlined) with the tables and charts: condition shares per plugin, quality at a
glance, the time series as lines, the breakdown, the comparison as a matrix.

--format pto writes the results as an observation set file of the Path
Transparency Observatory (one observation per condition: ["", start, end, path,
condition(, value)], then the set's metadata with _sources, _analyzer and
_conditions), streaming, for those who archive there.

Exit status: 0 done, 1 unreadable input, 2 usage error.
`;

/** Registers the `report` command. */
export function registerReport(program: Command): void {
  program.command("report")
    .description("Summarise, break down and compare result files")
    .argument("[files...]", "result files (ndjson, plain or gzip; - for standard input)")
    .option("--by <key>", "break down by asn, prefix[/LEN], vantage or a result field")
    .option("--asn-db <file>", "iptoasn.com TSV for --by asn (repeatable: v4 and v6)", collect, [])
    .option("--compare", "compare the targets' conditions across the files (runs)")
    .option("--metadata <file>", "run metadata of the i-th results file (repeatable)", collect, [])
    .option("--json", "print one JSON object instead of tables")
    .option("--format <format>", "text (default), json, or pto: observations for the PTO")
    .option("--html <file>", "also write one self-contained HTML page with tables and charts")
    .option(
      "--limit <n>",
      "list at most this many groups, targets and runs in tables",
      positive,
      50,
    )
    .addHelpText("after", HELP)
    .exitOverride((err) => {
      // help and version are exits with status 0; every other commander error is a usage error
      if (err.exitCode === 0) throw err;
      throw new CommanderError(EXIT.USAGE, err.code, err.message);
    })
    .action(async (paths: string[], o: Record<string, unknown>) => {
      const format = o.format ?? (o.json === true ? "json" : "text");
      if (format !== "text" && format !== "json" && format !== "pto") {
        throw new UserError(`--format ${o.format}: expected text, json or pto`, EXIT.USAGE);
      }
      if (format === "pto") {
        if (o.by !== undefined || o.compare === true || o.html !== undefined || o.json === true) {
          throw new UserError(
            "--format pto takes no --by, --compare, --html or --json",
            EXIT.USAGE,
          );
        }
        if (paths.length === 0) {
          throw new UserError("no results file given (use - for stdin)", EXIT.USAGE);
        }
        const { exportPto } = await import("../report/pto.ts");
        const stats = await exportPto(paths, { metadata: o.metadata as string[] });
        console.error(
          `pathspider report: ${stats.observations} observations from ${stats.results} results`,
        );
        return;
      }
      const { buildReport } = await import("../report/build.ts");
      const asnPaths = o.asnDb as string[];
      if (asnPaths.length > 0 && o.by !== "asn") {
        throw new UserError("--asn-db is used only with --by asn", EXIT.USAGE);
      }
      let asnDb = null;
      if (asnPaths.length > 0) {
        const { AsnDb } = await import("../io/asndb.ts");
        asnDb = await AsnDb.load(asnPaths);
        if (asnDb.size === 0) throw new UserError(`no AS ranges in ${asnPaths.join(", ")}`);
      }
      const report = await buildReport(paths, {
        by: o.by as string | undefined,
        asnDb,
        compare: o.compare === true,
        metadata: o.metadata as string[],
      });
      let text: string;
      if (format === "json") {
        const { renderJson } = await import("../report/json.ts");
        text = renderJson(report);
      } else {
        const { renderText } = await import("../report/text.ts");
        text = renderText(report, { limit: o.limit as number });
      }
      if (typeof o.html === "string") {
        const { renderHtml } = await import("../report/html.ts");
        try {
          await Deno.writeTextFile(o.html, renderHtml(report, { limit: o.limit as number }));
        } catch (e) {
          throw new UserError(`cannot write ${o.html}: ${(e as Error).message}`);
        }
      }
      await writeAll(text);
    });
}

/** Writes all of `text` to stdout (a closed pipe is one line, not a stack trace). */
async function writeAll(text: string): Promise<void> {
  const data = new TextEncoder().encode(text);
  try {
    let off = 0;
    while (off < data.length) off += await Deno.stdout.write(data.subarray(off));
  } catch (e) {
    throw new UserError(`cannot write the report: ${(e as Error).message}`);
  }
}

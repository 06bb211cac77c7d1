/**
 * The `filter` command: pre-processes a target list (the original's `pspdr filter`: ndjson or
 * `--csv-input`, `--dp`, duplicate targets skipped) and, unlike the original, drops what should
 * not be probed: invalid lines, special-purpose addresses (unless `--allow-private`) and the
 * addresses and prefixes of `--exclude` lists. The count of each kind dropped goes to stderr.
 */
import { type Command, InvalidArgumentError } from "commander";
import { ResultWriter } from "../io/output.ts";
import { readExclusionFiles } from "../targets/exclude.ts";
import { filterTargets, summary } from "../targets/filter.ts";
import { EXIT, osReason as reason, UserError } from "../errors.ts";

/** Warnings about malformed lines printed before the rest are only counted. */
const MAX_WARNINGS = 10;

function port(text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new InvalidArgumentError("--dp must be a port number from 1 to 65535");
  }
  return Number(text);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers the `filter` command. */
export function registerFilter(program: Command): void {
  program.command("filter")
    .description("Pre-process a target list")
    .option("--csv-input", "Indicate CSV format.")
    .option("--dp <port>", "A destination port to add to the targets.", port)
    .option("--input <file>", "The target list. Defaults to standard input.")
    .option("--output <file>", "Where to write the targets kept. Defaults to standard output.")
    .option(
      "--exclude <file>",
      "Addresses and prefixes (IPv4/IPv6 CIDR, # comments) never to keep; repeatable.",
      collect,
      [],
    )
    .option(
      "--allow-private",
      "Keep special-purpose addresses: private (RFC 1918, ULA, CGNAT), loopback, link-local, " +
        "multicast, documentation, benchmarking and reserved ranges.",
    )
    .option(
      "--allow-benchmarking",
      "Keep the benchmarking ranges 198.18.0.0/15 and 2001:2::/48 (RFC 2544/5180) only.",
    )
    .addHelpText(
      "after",
      "\nTargets are read as for 'measure' (ndjson with 'dip', or --csv-input rows\n" +
        "dip,dp,domain[,rank]); a target already seen is skipped, as are lines without a valid\n" +
        "dip. Every address that is not public unicast is dropped unless --allow-private: the\n" +
        "private, loopback, link-local, multicast, documentation (192.0.2.0/24, 198.51.100.0/24,\n" +
        "203.0.113.0/24, 2001:db8::/32), benchmarking and other IANA special-purpose ranges.\n" +
        "pathspider's own testbed uses 198.18.0.0/15 (benchmarking) and fd00::/8 (ULA): filter\n" +
        "its lists with --allow-private, or --allow-benchmarking for IPv4 only. --exclude lists\n" +
        "always win. The count of each kind dropped is printed on stderr.\n\nSpider safely!",
    )
    .action(async (o: Record<string, unknown>) => {
      const exclude = readExclusionFiles(o.exclude as string[]);
      let input: Deno.FsFile | undefined;
      let out: ResultWriter;
      try {
        input = typeof o.input === "string" && o.input !== "-"
          ? await Deno.open(o.input)
          : undefined;
        if (input !== undefined && (await input.stat()).isDirectory) {
          input.close();
          throw new Error("is a directory");
        }
      } catch (e) {
        throw new UserError(`cannot read ${o.input}: ${reason(e)}`, EXIT.SETUP);
      }
      try {
        out = ResultWriter.open(o.output as string | undefined);
      } catch (e) {
        input?.close();
        throw new UserError(`cannot write ${o.output}: ${reason(e)}`, EXIT.SETUP);
      }
      let warnings = 0;
      const warn = (line: string) => {
        if (++warnings <= MAX_WARNINGS) console.error(line);
        else if (warnings === MAX_WARNINGS + 1) {
          console.error("pathspider: further warnings about input lines are only counted");
        }
      };
      try {
        const stats = await filterTargets(
          input?.readable ?? Deno.stdin.readable,
          (j) => out.write(j),
          {
            csv: o.csvInput === true,
            dp: o.dp as number | undefined,
            allowPrivate: o.allowPrivate === true,
            allowBenchmarking: o.allowBenchmarking === true,
            exclude,
            warn,
          },
        );
        console.error(`pathspider filter: ${summary(stats)}`);
      } finally {
        out.close();
      }
    });
}

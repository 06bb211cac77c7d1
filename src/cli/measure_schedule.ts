/**
 * `measure`'s options for scheduled runs (provenance, pacing, splitting, resumption, exit
 * signals), and the rule that `measure`'s options may also follow the plugin
 * (`measure -i eth0 dscp --codepoint 46 --input jobs.ndjson`, as the README writes it).
 *
 * @module
 */
import { type Command, InvalidArgumentError, Option, type OptionValues } from "commander";
import {
  DEFAULT_MAX_UNOBSERVED,
  type ScheduleOptions,
  SHUFFLE_WINDOW,
} from "../spider/schedule.ts";
import { ipVersion } from "../wire/ip.ts";
import { parseStunServer } from "../wire/stun.ts";
import { EXIT, UserError } from "../errors.ts";

function intAtLeast(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const t = text.trim();
    if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return Number(t);
  };
}

function numberIn(name: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

function collect(parse: (v: string) => string) {
  return (value: string, previous: string[] | undefined): string[] => [
    ...(previous ?? []),
    parse(value),
  ];
}

function publicIp(text: string): string {
  if (ipVersion(text) === 0) {
    throw new InvalidArgumentError(`--public-ip must be an IPv4 or IPv6 address: ${text}`);
  }
  return text;
}

/** Adds the scheduled-run options to `measure`. */
export function addScheduleOptions(measure: Command): void {
  measure
    .option(
      "--rate <n>",
      "Start at most N jobs per second, in every one-second window (a job's connections count " +
        "as one). -w bounds the jobs in flight at once, --rate how many start per second: a run " +
        "starts min(N, workers / seconds per job) jobs a second.",
      intAtLeast("--rate", 1, 10_000_000),
    )
    .option(
      "--seed <s>",
      `Measure the jobs in a pseudo-random order that depends only on S and the input (lists ` +
        `of up to ${SHUFFLE_WINDOW} jobs fully shuffled; longer or streamed ones through a ` +
        `window of ${SHUFFLE_WINDOW} jobs).`,
    )
    .option(
      "--shards <k>",
      "Split the list into K shards by a hash of each target address (with --shard).",
      intAtLeast("--shards", 1, 1_000_000),
    )
    .option(
      "--shard <i>",
      "Measure only shard I (0 to K-1): K runs with the same list and I = 0..K-1 measure every " +
        "target once between them.",
      intAtLeast("--shard", 0, 999_999),
    )
    .option(
      "--status-interval <seconds>",
      "When stderr is not a terminal, print a status line every so many seconds (0: never).",
      numberIn("--status-interval", 0, 86_400),
      10,
    )
    .option(
      "--max-unobserved <pct>",
      `Exit 4 (measured, not trusted) when more than PCT percent of the flows were not ` +
        `observed (default ${DEFAULT_MAX_UNOBSERVED}).`,
      numberIn("--max-unobserved", 0, 100),
      DEFAULT_MAX_UNOBSERVED,
    )
    .option("--verbose", "Log each step of the run on stderr (set-up, settings, capture, end).")
    .option(
      "--resume",
      "With --output FILE: skip the targets FILE already holds and append the rest (a torn " +
        "last line from a crash is dropped and reported).",
    )
    .option(
      "--metadata <file>",
      "Write one JSON record of the run (tool, version, command line, host, settings, times, " +
        "counts) to FILE, also when interrupted.",
    )
    .option("--vantage <name>", "A label for this vantage point, written to --metadata.")
    .option(
      "--asn-db <file>",
      "An iptoasn.com TSV table (ip2asn-v4.tsv, -v6, -combined; plain or gzip) to find this " +
        "host's AS number offline (sip_asn); repeatable.",
      collect((v) => v),
    )
    .option(
      "--public-ip <addr>",
      "This host's public address (sip_public) when it is behind NAT; once per family.",
      collect(publicIp),
    )
    .option(
      "--stun <host[:port]>",
      "Discover the public address over STUN (RFC 8489, UDP, port 3478 by default) from this " +
        "server. No look-up leaves the host unless asked for.",
      (text: string) => {
        const s = parseStunServer(text);
        if (typeof s === "string") throw new InvalidArgumentError(s);
        return text;
      },
    )
    .addHelpText(
      "after",
      "\nExit status:\n" +
        "  0    measured, and the data can be trusted\n" +
        "  1    failure not listed below (e.g. the output cannot be written)\n" +
        "  2    usage: unknown option, bad value, unknown plugin\n" +
        "  3    set-up failed: interface, privileges, settings lock, input or output file\n" +
        "  4    measured, but the data cannot be trusted: more than --max-unobserved percent of\n" +
        "       the flows unobserved, or packets dropped by the kernel\n" +
        "  70   internal error\n" +
        "  128+n  stopped by signal n (130 SIGINT, 143 SIGTERM, 129 SIGHUP)",
    );
}

/**
 * Adds each of `measure`'s options to a plugin's subcommand, hidden from its help and without
 * defaults, so that they may also follow the plugin's name.
 */
export function copyMeasureOptions(measure: Command, sub: Command): void {
  for (const o of measure.options) {
    if (o.long === "--help" || o.long === "--version") continue;
    const copy = new Option(o.flags, o.description).hideHelp();
    if (o.parseArg) copy.argParser(o.parseArg);
    if (o.argChoices) copy.choices(o.argChoices);
    sub.addOption(copy);
  }
  sub.addHelpText(
    "after",
    "\nAny option of 'pathspider measure' (-i, -w, --input, --output, ...) may also follow the " +
      "plugin's name.",
  );
}

/**
 * `measure`'s options with those given after the plugin taking their place; removes them from
 * the plugin's own options.
 */
export function mergedMeasureOptions(
  measure: Command,
  sub: Command,
  subOpts: Record<string, unknown>,
): OptionValues {
  const m: OptionValues = { ...measure.opts() };
  for (const o of measure.options) {
    const key = o.attributeName();
    if (sub.getOptionValueSource(key) === "cli") {
      const given = subOpts[key];
      // a repeatable option given on both sides keeps every value
      m[key] = Array.isArray(given) && Array.isArray(m[key])
        ? [...(m[key] as unknown[]), ...given]
        : given;
    }
    delete subOpts[key];
  }
  return m;
}

/** The schedule options from `measure`'s merged options; a UserError for a bad combination. */
export function scheduleOf(
  m: Record<string, unknown>,
  argv: string[] = Deno.args,
): ScheduleOptions {
  const shards = (m.shards as number | undefined) ?? 1;
  const shard = (m.shard as number | undefined) ?? 0;
  if (m.shard !== undefined && m.shards === undefined) {
    throw new UserError("--shard needs --shards", EXIT.USAGE);
  }
  if (shard >= shards) {
    throw new UserError(`--shard must be below --shards (0 to ${shards - 1})`, EXIT.USAGE);
  }
  if (m.resume === true && (m.output === undefined || m.output === "-")) {
    throw new UserError("--resume needs --output FILE (the results to resume)", EXIT.USAGE);
  }
  const publicIps = (m.publicIp as string[] | undefined) ?? [];
  for (const v of [4, 6]) {
    if (publicIps.filter((a) => ipVersion(a) === v).length > 1) {
      throw new UserError(`--public-ip given twice for IPv${v}`, EXIT.USAGE);
    }
  }
  return {
    rate: m.rate as number | undefined,
    seed: m.seed as string | undefined,
    shards,
    shard,
    resume: m.resume === true,
    metadata: m.metadata as string | undefined,
    vantage: m.vantage as string | undefined,
    statusInterval: (m.statusInterval as number | undefined) ?? 10,
    maxUnobserved: (m.maxUnobserved as number | undefined) ?? DEFAULT_MAX_UNOBSERVED,
    asnDb: (m.asnDb as string[] | undefined) ?? [],
    publicIp: publicIps,
    stun: m.stun as string | undefined,
    verbose: m.verbose === true,
    argv: [...argv],
  };
}

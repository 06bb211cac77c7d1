/**
 * The `measure` command: `pathspider measure [options] PLUGIN [plugin options]`. Options and
 * defaults follow the original's manual; each plugin of the registry is a subcommand with its
 * own options (`--connect`, `--timeout`, and the plugin's extras).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { PLUGINS } from "../plugins/registry.ts";
import type { Plugin, PluginArgs } from "../plugins/plugin.ts";
import { EXIT, UserError } from "../errors.ts";
import { readExclusionFiles } from "../targets/exclude.ts";
import {
  addScheduleOptions,
  copyMeasureOptions,
  mergedMeasureOptions,
  scheduleOf,
} from "./measure_schedule.ts";

function intIn(name: string, min: number, max: number) {
  return (text: string): number => {
    if (!/^\s*\d+\s*$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return Number(text);
  };
}

/** Wraps a plugin's parser so that its error becomes commander's one-line message. */
function pluginParser(parse: (v: string) => unknown) {
  return (v: string) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

function addPlugin(measure: Command, plugin: Plugin): void {
  const sub = measure.command(plugin.name).description(plugin.description)
    .addOption(
      new Option(
        "--connect <mode>",
        "Type of connection to perform",
      ).choices([...plugin.connectSupported, ...Object.keys(plugin.connectAliases ?? {})])
        .default(plugin.connectSupported[0]),
    )
    .option(
      "--timeout <seconds>",
      "The timeout to use for attempted connections in seconds. A run ends at most this " +
        "plus the observer's expiry (2 s) after its last connection began, however busy " +
        "the interface",
      intIn("--timeout", 1, 3600),
      5,
    );
  for (const opt of plugin.options) {
    if (opt.parse) sub.option(opt.flags, opt.description, pluginParser(opt.parse), opt.default);
    else sub.option(opt.flags, opt.description, opt.default as string | boolean | undefined);
  }
  if (plugin.helpText) sub.addHelpText("after", plugin.helpText);
  copyMeasureOptions(measure, sub);
  sub.action(async (subOpts: Record<string, unknown>) => {
    subOpts.connect = plugin.connectAliases?.[String(subOpts.connect)] ?? subOpts.connect;
    // measure's own options given after the plugin count as if given before it
    const m = mergedMeasureOptions(measure, sub, subOpts);
    if (plugin.standalone) {
      // a plugin that makes jobs instead of measuring paths: no interface, no observer
      const { ResultWriter } = await import("../io/output.ts");
      const out = ResultWriter.open(m.output);
      const input = m.input !== undefined && m.input !== "-" ? await Deno.open(m.input) : undefined;
      try {
        const code = await plugin.standalone({
          input: input?.readable ?? Deno.stdin.readable,
          csv: m.csvInput === true,
          write: (r) => out.write(r),
          workers: m.workers,
          say: (line) => console.error(line),
        }, subOpts as PluginArgs);
        if (code !== 0) throw new UserError(`${plugin.name} failed`, code);
      } finally {
        out.close();
      }
      return;
    }
    // the live parts load only when measuring, so `--help` works without the native library
    const { runMeasure } = await import("../spider/run.ts");
    const { liveDeps } = await import("../spider/live.ts");
    const code = await runMeasure({
      iface: m.interface,
      workers: m.workers,
      input: m.input,
      output: m.output,
      csvInput: m.csvInput === true,
      outputFlows: m.outputFlows === true,
      quiet: m.quiet === true,
      wait: m.wait !== false,
      exclude: readExclusionFiles((m.exclude as string[] | undefined) ?? []),
      plugin,
      args: subOpts as PluginArgs,
      schedule: scheduleOf({ ...m, verbose: m.verbose === true || measure.parent?.opts().verbose }),
      locate: locateOf(m.locate, m.maxHops),
    }, liveDeps);
    // the run has said why (its summary and, for exit 4, the reason): only the status remains
    if (code !== 0) throw new UserError("", code);
  });
}

/** Registers the `measure` command and one subcommand per plugin. */
export function registerMeasure(program: Command): void {
  const measure = program.command("measure")
    .description("Perform a PATHspider measurement")
    .usage("[options] PLUGIN [plugin options]")
    .option(
      "-i, --interface <iface>",
      "The interface to use for the observer.",
      "eth0",
    )
    .option(
      "-w, --workers <n>",
      "Number of workers to use.",
      intIn("--workers", 1, 100000),
      100,
    )
    .option(
      "--input <file>",
      "A file containing a list of PATHspider jobs. Defaults to standard input.",
    )
    .option("--csv-input", "Indicate CSV format.")
    .option("--output <file>", "The file to output results data to. Defaults to standard output.")
    .option("--output-flows", "Include flow results in output.")
    .option("--quiet", "Print no progress on stderr (the summary line is always printed).")
    .option(
      "--locate [all]",
      "For each job showing interference (or every job: --locate all), send its experiment's " +
        "probe with TTL / hop limit 1, 2, ... and add `located` to its result: where a mark, " +
        "flag or option changed or the probe was dropped. A hop number is the TTL of the probe " +
        "whose ICMP time-exceeded (or silence) first shows the change: a router quotes what it " +
        "received, so a change made by the router at hop k shows at hop k + 1, between `after` " +
        "and `at`",
    )
    .option(
      "--max-hops <n>",
      "Highest TTL / hop limit --locate tries (default 32).",
      intIn("--max-hops", 1, 255),
    )
    .option(
      "--exclude <file>",
      "Addresses and prefixes (IPv4/IPv6 CIDR, # comments) never to probe, as filter's; " +
        "repeatable. Unspecified, loopback, link-local, multicast and broadcast destinations " +
        "are never probed in any case",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--no-wait",
      "While another run changes settings in this network namespace, refuse at once " +
        "(exit 3) instead of waiting for it to finish.",
    );
  addScheduleOptions(measure);
  measure
    .argument("[plugin...]")
    .helpCommand(false)
    .enablePositionalOptions()
    // an unknown plugin's options are not measure's: the plugin is the error to report
    .allowUnknownOption()
    .addHelpText("after", "\nSpider safely!");
  measure.commandsGroup?.("Plugins (the following plugins are available for use):");
  for (const p of PLUGINS) addPlugin(measure, p);
  const names = PLUGINS.map((p) => p.name).join(", ");
  measure.action((_words: string[], _opts: unknown, cmd: Command) => {
    // the first word that is not one of measure's options: an unknown plugin or option
    const first = cmd.args[0];
    if (first?.startsWith("-")) throw new UserError(`unknown option '${first}'`, EXIT.USAGE);
    if (first !== undefined) {
      throw new UserError(`unknown plugin '${first}'; the plugins are: ${names}`, EXIT.USAGE);
    }
    const locate = cmd.opts().locate;
    if (typeof locate === "string" && locate !== "all") {
      // `--locate PLUGIN`: the optional value took the plugin's name
      locateOf(locate, undefined);
    }
    throw new UserError(
      `measure needs a plugin (${names}); see 'pathspider measure --help'`,
      EXIT.USAGE,
    );
  });
}

/** `--locate [all]` and `--max-hops` as the run takes them; a UserError for another value. */
function locateOf(v: unknown, maxHops: unknown): { all: boolean; maxHops: number } | undefined {
  if (v === undefined || v === false) {
    if (maxHops !== undefined) throw new UserError("--max-hops needs --locate", EXIT.USAGE);
    return undefined;
  }
  if (v !== true && v !== "all") {
    throw new UserError(
      `--locate takes 'all' or nothing, not '${v}' (give it after the plugin's name)`,
      EXIT.USAGE,
    );
  }
  return { all: v === "all", maxHops: (maxHops as number | undefined) ?? 32 };
}

/**
 * A plugin's options from a list of words, outside `measure`'s command tree: a campaign stores
 * the words given to `campaign create` and every worker parses them again here, so all vantage
 * points read them the same way. The options are those `measure PLUGIN` takes (`--connect`,
 * `--timeout` and the plugin's own), with the same defaults.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { Plugin, PluginArgs } from "../plugins/plugin.ts";
import { EXIT, UserError } from "../errors.ts";

/** Parses `words` as `measure PLUGIN WORDS...` would; a UserError (usage) when they are wrong. */
export function parsePluginArgs(plugin: Plugin, words: string[]): PluginArgs {
  const cmd = new Command(plugin.name)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .helpOption(false)
    .addOption(
      new Option("--connect <mode>", "Type of connection to perform")
        .choices([...plugin.connectSupported, ...Object.keys(plugin.connectAliases ?? {})])
        .default(plugin.connectSupported[0]),
    )
    .option("--timeout <seconds>", "connection timeout", (v: string) => {
      if (!/^\s*\d+\s*$/.test(v) || Number(v) < 1 || Number(v) > 3600) {
        throw new InvalidArgumentError("--timeout must be an integer from 1 to 3600");
      }
      return Number(v);
    }, 5);
  for (const opt of plugin.options) {
    if (opt.parse) {
      const parse = opt.parse;
      cmd.option(opt.flags, opt.description, (v: string) => {
        try {
          return parse(v);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }, opt.default);
    } else cmd.option(opt.flags, opt.description, opt.default as string | boolean | undefined);
  }
  try {
    cmd.parse(words, { from: "user" });
  } catch (e) {
    const msg = (e as Error).message.replace(/^error: /, "");
    throw new UserError(`${plugin.name} options: ${msg}`, EXIT.USAGE);
  }
  if (cmd.args.length > 0) {
    throw new UserError(`${plugin.name} options: unexpected ${cmd.args.join(" ")}`, EXIT.USAGE);
  }
  const args = cmd.opts() as Record<string, unknown>;
  args.connect = plugin.connectAliases?.[String(args.connect)] ?? args.connect;
  return args as PluginArgs;
}

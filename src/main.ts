/**
 * Entry point of the `pathspider` (alias `pspdr`) command line.
 *
 * Each command registers itself from its own module in `src/cli/`; this file only wires them
 * together and turns every failure into one line on stderr.
 */
import type { Command } from "commander";
import { VERSION } from "./version.ts";
import { EXIT, firstError, UserError } from "./errors.ts";
import { quickObserveArgs } from "./cli/observe_args.ts";

type Register = (program: Command) => void;

/**
 * The commands, loaded on demand: `observe` should not pay for loading the measurement engine,
 * its plugins and TLS (about 30 ms of a run that may last only a few hundred).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  campaign: async () => (await import("./cli/campaign.ts")).registerCampaign,
  filter: async () => (await import("./cli/filter.ts")).registerFilter,
  measure: async () => (await import("./cli/measure.ts")).registerMeasure,
  observe: async () => (await import("./cli/observe.ts")).registerObserve,
  report: async () => (await import("./cli/report.ts")).registerReport,
};

/**
 * Builds the command tree; exported so tests can parse arguments without running anything.
 * With `argv` naming a command, only that command is loaded; otherwise (`--help`) all are.
 */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command("pathspider")
    .description("PATHspider will spider the paths.")
    .version(`pathspider ${VERSION}`, "-V, --version", "print the version and exit")
    .option("--verbose", "enable verbose logging")
    .addHelpText("after", "\n`pspdr` is an alias of `pathspider`.\n\nSpider safely!")
    .showHelpAfterError(false)
    // every error is one line starting with the tool's name, as UserError's
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, "pathspider: ")),
    })
    .exitOverride();
  // There are no global options that take a value, so the first word is the command.
  const named = argv.find((a) => !a.startsWith("-"));
  const names = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!())(program);
  return program;
}

/** Parses `argv` and runs the command it names; resolves with the exit code. */
async function run(argv: string[]): Promise<number> {
  // a plain `observe` line skips commander's start-up cost (see observe_args.ts)
  const quick = quickObserveArgs(argv);
  if (quick !== null) {
    const { runObserve } = await import("./cli/observe.ts");
    return await runObserve(quick.chains, quick.opts);
  }
  const program = await buildProgram(argv);
  await program.parseAsync(argv, { from: "user" });
  return 0;
}

async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (thrown) {
    const e = firstError(thrown);
    if (isCommanderError(e)) {
      // help and version "errors" are normal exits; commander already printed the message; any
      // other is a command line it could not parse
      return e.exitCode === 0 ? 0 : EXIT.USAGE;
    }
    if (e instanceof UserError) {
      // an empty message: the command already said everything, only its exit status is left
      if (e.message !== "") console.error(`pathspider: ${e.message}`);
      return e.code;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`pathspider: internal error: ${msg}`);
    if (Deno.env.get("PATHSPIDER_DEBUG")) console.error(thrown);
    return EXIT.INTERNAL;
  }
}

/** True for commander's own errors (checked by name: commander may never have been loaded). */
function isCommanderError(e: unknown): e is { exitCode: number } {
  const c = e as { code?: unknown; exitCode?: unknown };
  return e instanceof Error && typeof c.exitCode === "number" && typeof c.code === "string" &&
    c.code.startsWith("commander.");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

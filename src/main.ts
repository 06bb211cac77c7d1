/**
 * Entry point of the `pathspider` (alias `pspdr`) command line.
 *
 * Each command registers itself from its own module in `src/cli/`; this file only wires them
 * together and turns every failure into one line on stderr.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "./version.ts";
import { UserError } from "./cli/fail.ts";
import { registerObserve } from "./cli/observe.ts";
import { registerMeasure } from "./cli/measure.ts";
import { registerFilter } from "./cli/filter.ts";

/** Builds the command tree; exported so tests can parse arguments without running anything. */
export function buildProgram(): Command {
  const program = new Command("pathspider")
    .description("PATHspider will spider the paths.")
    .version(`pathspider ${VERSION}`, "-V, --version", "print the version and exit")
    .option("--verbose", "enable verbose logging")
    .addHelpText("after", "\n`pspdr` is an alias of `pathspider`.\n\nSpider safely!")
    .showHelpAfterError(false)
    .exitOverride();
  registerFilter(program);
  registerMeasure(program);
  registerObserve(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are normal exits; commander already printed the message
      return e.exitCode;
    }
    if (e instanceof UserError) {
      console.error(`pathspider: ${e.message}`);
      return e.code;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`pathspider: internal error: ${msg}`);
    if (Deno.env.get("PATHSPIDER_DEBUG")) console.error(e);
    return 70;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

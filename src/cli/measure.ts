import type { Command } from "commander";
import { UserError } from "./fail.ts";

/** Registers the `measure` command (placeholder until its issue lands). */
export function registerMeasure(program: Command): void {
  program.command("measure").description("not implemented yet").action(() => {
    throw new UserError("measure is not implemented yet");
  });
}

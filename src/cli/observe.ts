import type { Command } from "commander";
import { UserError } from "./fail.ts";

/** Registers the `observe` command (placeholder until its issue lands). */
export function registerObserve(program: Command): void {
  program.command("observe").description("not implemented yet").action(() => {
    throw new UserError("observe is not implemented yet");
  });
}

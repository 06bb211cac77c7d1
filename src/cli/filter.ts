import type { Command } from "commander";
import { UserError } from "./fail.ts";

/** Registers the `filter` command (placeholder until its issue lands). */
export function registerFilter(program: Command): void {
  program.command("filter").description("not implemented yet").action(() => {
    throw new UserError("filter is not implemented yet");
  });
}

/**
 * The plain `observe` command lines, read without commander.
 *
 * Loading commander pulls in Deno's Node compatibility layer (`node:fs`, `node:process`,
 * `node:child_process`, `node:events`): about 45 ms, a sixth of observing a 200,000-packet
 * capture. So `main.ts` first offers the arguments to `quickObserveArgs`, which accepts only
 * well-formed lines of the options below and gives up (null) on anything else: help, unknown or
 * global options, a missing value, a value that looks like an option. Commander then parses the
 * line and prints its usual messages. `tests/unit/observe_args_test.ts` checks that both readings
 * agree on every line this one accepts.
 *
 * @module
 */

import type { ObserveOptions } from "./observe.ts";

/** The options that take a value, by every spelling, and the field each sets. */
const VALUED: Record<string, "interface" | "output" | "write"> = {
  "-i": "interface",
  "--interface": "interface",
  "--output": "output",
  "--write": "write",
};

/** The flags, by every spelling, and the field each sets. */
const FLAGS: Record<string, "quiet" | "listChains"> = {
  "-q": "quiet",
  "--quiet": "quiet",
  "--list-chains": "listChains",
};

/** The interface when `-i` is not given (as commander's option default). */
export const DEFAULT_INTERFACE = "eth0";

/** A parsed `observe` line: the chains named and the options. */
export interface ObserveArgs {
  chains: string[];
  opts: ObserveOptions;
}

/**
 * Reads `argv` (without the program name) when it is a plain `observe` line; null otherwise,
 * and then commander must parse it.
 */
export function quickObserveArgs(argv: readonly string[]): ObserveArgs | null {
  if (argv[0] !== "observe") return null;
  const opts: ObserveOptions = { interface: DEFAULT_INTERFACE };
  const chains: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) {
      chains.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 && a.startsWith("--") ? a.slice(0, eq) : a;
    const field = VALUED[name];
    if (field !== undefined) {
      let value: string | undefined;
      if (eq > 0 && name !== a) value = a.slice(eq + 1);
      else value = argv[++i];
      // a missing value, or one commander might read differently: let it decide
      if (value === undefined || value === "" || value.startsWith("-")) return null;
      opts[field] = value;
      continue;
    }
    const flag = FLAGS[a];
    if (flag === undefined) return null; // help, `--`, unknown or global options
    opts[flag] = true;
  }
  return { chains, opts };
}

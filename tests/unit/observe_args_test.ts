/**
 * The commander-free reading of `observe` lines (src/cli/observe_args.ts) agrees with
 * commander's on every line it accepts, and leaves every other line to commander.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { buildProgram } from "../../src/main.ts";
import { quickObserveArgs } from "../../src/cli/observe_args.ts";

/** What commander makes of `argv`: the observe action's chains and options. */
async function commanderReading(argv: string[]) {
  const program = await buildProgram(argv);
  const observe = program.commands.find((c) => c.name() === "observe")!;
  let got: { chains: string[]; opts: Record<string, unknown> } | null = null;
  observe.action((chains: string[], opts: Record<string, unknown>) => {
    got = { chains, opts: { ...opts } };
  });
  await program.parseAsync(argv, { from: "user" });
  return got;
}

const ACCEPTED: string[][] = [
  ["observe"],
  ["observe", "basic"],
  ["observe", "-i", "f.pcap", "basic", "tcp", "ecn", "dscp"],
  ["observe", "basic", "-i", "eth1", "tcp"],
  ["observe", "--interface", "pcap:x.pcap", "basic"],
  ["observe", "--interface=int:eth0", "basic"],
  ["observe", "-q", "-i", "a.pcap", "--output", "out.ndjson", "basic"],
  ["observe", "--quiet", "--output=o.ndjson", "--write", "w.pcap", "dns"],
  ["observe", "--write=w.pcap", "-i", "x", "-i", "y", "basic"],
  ["observe", "--list-chains"],
  ["observe", "-i", "weird=name.pcap", "basic"],
];

const REFUSED: string[][] = [
  [],
  ["measure", "ecn"],
  ["--verbose", "observe", "basic"],
  ["observe", "--help"],
  ["observe", "-h"],
  ["observe", "-i"],
  ["observe", "-i", "-q"],
  ["observe", "--output"],
  ["observe", "--output="],
  ["observe", "--nosuch", "basic"],
  ["observe", "-qi", "x.pcap"],
  ["observe", "--", "basic"],
  ["observe", "-", "basic"],
];

Deno.test("the quick reading of observe lines equals commander's", async () => {
  for (const argv of ACCEPTED) {
    const quick = quickObserveArgs(argv);
    assertEquals(quick !== null, true, `quick reading refused ${argv.join(" ")}`);
    assertEquals(
      { chains: quick!.chains, opts: { ...quick!.opts } },
      await commanderReading(argv),
      argv.join(" "),
    );
  }
});

Deno.test("lines with help, global, unknown or incomplete options are left to commander", () => {
  for (const argv of REFUSED) assertEquals(quickObserveArgs(argv), null, argv.join(" "));
});

/**
 * Command-line papercuts of issue 12, run as the user runs them (bin/pathspider): measure's
 * options after the plugin, unknown plugins, one clear line per bad path, exit statuses.
 */
import assert from "node:assert/strict";
import { EXIT } from "../../src/errors.ts";

const bin = new URL("../../bin/pathspider", import.meta.url).pathname;

/**
 * A journal directory of these tests' own: a run that measures recovers what other runs (other
 * tests on this host) left in the shared one, and would say so on stderr.
 */
const JOURNALS = Deno.makeTempDirSync({ prefix: "psclijournal-" });
globalThis.addEventListener("unload", () => Deno.removeSync(JOURNALS, { recursive: true }));

async function cli(args: string[]) {
  const out = await new Deno.Command(bin, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATHSPIDER_JOURNAL_DIR: JOURNALS },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** One line on stderr starting with the tool's name, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^pathspider: /);
  return lines[0]!;
}

Deno.test("measure's own options are accepted after the plugin (the README's line)", async () => {
  // the interface is checked first, so no capture starts: the options were all understood
  const r = await cli([
    "measure",
    "-i",
    "psnoiface0",
    "dscp",
    "--codepoint",
    "46",
    "--input",
    "/nonexistent/jobs.ndjson",
    "-w",
    "3",
    "--rate",
    "10",
  ]);
  assert.equal(oneLine(r.stderr), "pathspider: interface psnoiface0 does not exist");
  assert.equal(r.code, EXIT.SETUP);
  // given after the plugin, -i takes the place of the one before it
  const after = await cli(["measure", "-i", "lo", "dscp", "-i", "psnoiface1"]);
  assert.equal(oneLine(after.stderr), "pathspider: interface psnoiface1 does not exist");
  // and a plugin's help says so
  const help = await cli(["measure", "dscp", "--help"]);
  assert.match(help.stdout, /may also follow the plugin/);
  assert.doesNotMatch(help.stdout, /--rate/);
});

Deno.test("an unknown plugin is named and the plugins listed; exit 2", async () => {
  for (const args of [["measure", "foo"], ["measure", "-i", "lo", "foo", "--codepoint", "4"]]) {
    const r = await cli(args);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(
      oneLine(r.stderr),
      /^pathspider: unknown plugin 'foo'; the plugins are: .*dscp, ecn/,
    );
  }
});

Deno.test("usage errors exit 2 with one line: options, values, combinations", async () => {
  for (
    const [args, text] of [
      [["measure", "--bogus"], "unknown option '--bogus'"],
      [["measure", "dscp", "--bogus"], "unknown option '--bogus'"],
      [["measure", "-w", "x", "dscp"], "--workers must be an integer"],
      [["measure", "dscp", "--rate", "0"], "--rate must be an integer from 1"],
      [["measure", "dscp", "--shard", "1"], "--shard needs --shards"],
      [["measure", "dscp", "--shards", "3", "--shard", "3"], "--shard must be below --shards"],
      [["measure", "dscp", "--resume"], "--resume needs --output FILE"],
      [["measure", "dscp", "--public-ip", "x"], "--public-ip must be an IPv4 or IPv6 address"],
      [["measure", "dscp", "--max-unobserved", "101"], "--max-unobserved must be a number"],
      [["measure", "dscp", "--stun", "[fd00::1"], "--stun must be HOST[:PORT]"],
      [["measure", "dscp", "--stun", "host:port"], "--stun must be HOST[:PORT]"],
      [["observe", "-i", "lo", "nochain"], "unknown chain nochain"],
      [["filter", "--dp", "0"], "--dp must be a port number"],
      [["nocommand"], "unknown command 'nocommand'"],
    ] as const
  ) {
    const r = await cli([...args]);
    assert.equal(r.code, EXIT.USAGE, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(oneLine(r.stderr).includes(text), r.stderr);
  }
});

Deno.test("observe -i DIRECTORY and filter --input /nonexistent: one clear line each, exit 3", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const obs = await cli(["observe", "-i", dir, "basic"]);
    assert.equal(
      oneLine(obs.stderr),
      `pathspider: -i ${dir} is a directory; give a capture file (pcap, pcapng) or an interface`,
    );
    assert.equal(obs.code, EXIT.SETUP);
    const missing = await cli(["filter", "--input", "/nonexistent"]);
    assert.equal(
      oneLine(missing.stderr),
      "pathspider: cannot read /nonexistent: no such file or directory",
    );
    assert.equal(missing.code, EXIT.SETUP);
    // measure's input is opened once the capture runs (lo is up; root may capture)
    const input = await cli(["measure", "-i", "lo", "dscp", "--input", "/nonexistent"]);
    assert.equal(
      oneLine(input.stderr),
      "pathspider: cannot read /nonexistent: no such file or directory",
    );
    assert.equal(input.code, EXIT.SETUP);
    const output = await cli(["measure", "-i", "lo", "dscp", "--output", `${dir}/no/such`]);
    assert.equal(
      oneLine(output.stderr),
      `pathspider: cannot write ${dir}/no/such: no such file or directory`,
    );
    assert.equal(output.code, EXIT.SETUP);
    const inputDir = await cli(["measure", "-i", "lo", "dscp", "--input", dir]);
    assert.equal(oneLine(inputDir.stderr), `pathspider: cannot read ${dir}: is a directory`);
    const isDir = await cli(["filter", "--input", dir]);
    assert.equal(oneLine(isDir.stderr), `pathspider: cannot read ${dir}: is a directory`);
    assert.equal(isDir.code, EXIT.SETUP);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("measure --help documents the exit statuses and how --rate relates to -w", async () => {
  const r = await cli(["measure", "--help"]);
  assert.equal(r.code, 0);
  const text = r.stdout.replace(/\s+/g, " ");
  assert.match(text, /Exit status: 0 measured, and the data can be trusted/);
  assert.match(text, / 4 measured, but the data cannot be trusted/);
  assert.match(text, /-w bounds the jobs in flight at once, --rate how many start per second/);
  assert.match(text, /--seed <s>.*window of 65536 jobs/);
});

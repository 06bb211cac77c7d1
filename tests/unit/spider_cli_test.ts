/** `pathspider measure` option handling, run as the user runs it (bin/pathspider). */
import assert from "node:assert/strict";

const bin = new URL("../../bin/pathspider", import.meta.url).pathname;

async function cli(args: string[], stdin = "") {
  const p = new Deno.Command(bin, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await p.output();
  const dec = new TextDecoder();
  // help text is wrapped to the terminal width: compare with runs of blanks as one space
  const stdout = dec.decode(out.stdout).replace(/\s+/g, " ");
  return { code: out.code, stdout, stderr: dec.decode(out.stderr) };
}

Deno.test("measure --help lists every plugin with its description and the manual's defaults", async () => {
  const r = await cli(["measure", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /ecn \[options\]\s+Explicit Congestion Notification/);
  assert.match(r.stdout, /dscp \[options\]\s+Differentiated Services Codepoints/);
  assert.match(r.stdout, /--workers <n> [^(]*\(default: 100\)/);
  assert.match(r.stdout, /--output-flows/);
  assert.match(r.stdout, /--csv-input/);
});

Deno.test("a plugin's help shows its modes, default first, and its own options", async () => {
  const ecn = await cli(["measure", "ecn", "--help"]);
  assert.match(ecn.stdout, /"http", "https", "tcp", "dnstcp", default: "http"/);
  assert.match(ecn.stdout, /tcp_ecn_fallback/);
  const dscp = await cli(["measure", "dscp", "--help"]);
  assert.match(dscp.stdout, /--codepoint <0-63>[\s\S]*default: 46/);
  assert.match(dscp.stdout, /"http", "tcp", "dnsudp", "dnstcp", default: "http"/);
});

Deno.test("a bad option value is one line on stderr and a non-zero exit", async () => {
  for (
    const args of [
      ["measure", "dscp", "--codepoint", "64"],
      ["measure", "ecn", "--connect", "dnsudp"],
      ["measure", "-w", "0", "ecn"],
    ]
  ) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("measure without a plugin says which plugins exist", async () => {
  const r = await cli(["measure"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dscp, ecn/);
});

Deno.test("measure on a missing interface is one clear line", async () => {
  const r = await cli(["measure", "-i", "psnoiface0", "ecn"], '{"dip":"198.18.0.1"}\n');
  assert.equal(r.code, 3);
  assert.equal(r.stderr.trim(), "pathspider: interface psnoiface0 does not exist");
});

Deno.test("measure without CAP_NET_RAW/CAP_NET_ADMIN is one clear line", async () => {
  const p = new Deno.Command("setpriv", {
    args: [
      "--bounding-set",
      "-net_raw,-net_admin",
      "--inh-caps",
      "-net_raw,-net_admin",
      bin,
      "measure",
      "-i",
      "lo",
      "ecn",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const out = await p.output();
  assert.equal(out.code, 3);
  assert.equal(
    new TextDecoder().decode(out.stderr).trim(),
    "pathspider: capturing on lo needs CAP_NET_RAW and CAP_NET_ADMIN (run as root)",
  );
});

import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { ExclusionList } from "../../src/targets/exclude.ts";
import { filterTargets, summary } from "../../src/targets/filter.ts";
import { parseAddress, parsePrefix } from "../../src/targets/address.ts";
import { specialKind } from "../../src/targets/special.ts";

function stream(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

async function run(lines: string[], o: Parameters<typeof filterTargets>[2] = {}) {
  const out: Record<string, unknown>[] = [];
  const warnings: string[] = [];
  const stats = await filterTargets(
    stream(lines.join("\n") + "\n"),
    (j) => out.push(j),
    { warn: (w) => warnings.push(w), ...o },
  );
  return { out, stats, warnings };
}

const kind = (a: string) => specialKind(parseAddress(a)!);

Deno.test("each special-purpose range gets its kind and public addresses none", () => {
  const cases: [string, string | null][] = [
    ["10.1.2.3", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", null],
    ["192.168.0.1", "private"],
    ["100.64.0.1", "private"],
    ["100.128.0.1", null],
    ["fd12:3456::1", "private"],
    ["fc00::1", "private"],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["224.0.0.251", "multicast"],
    ["ff02::1", "multicast"],
    ["192.0.2.55", "documentation"],
    ["198.51.100.1", "documentation"],
    ["203.0.113.9", "documentation"],
    ["2001:db8:ffff::1", "documentation"],
    ["198.18.0.2", "benchmarking"],
    ["198.19.255.254", "benchmarking"],
    ["198.20.0.1", null],
    ["2001:2::5", "benchmarking"],
    ["0.1.2.3", "reserved"],
    ["255.255.255.255", "reserved"],
    ["240.0.0.1", "reserved"],
    ["192.0.0.9", "reserved"],
    ["::", "reserved"],
    ["::ffff:8.8.8.8", "reserved"],
    ["100::1", "reserved"],
    ["2001::1", "reserved"],
    ["8.8.8.8", null],
    ["2a00:1450::1", null],
    ["2001:4860::8888", null],
  ];
  for (const [a, k] of cases) assertEquals([a, kind(a)], [a, k]);
});

Deno.test("filter drops each kind, keeps public targets and prints the counts", async () => {
  const { out, stats } = await run([
    '{"dip":"8.8.8.8","domain":"a"}',
    '{"dip":"10.0.0.1"}',
    '{"dip":"127.0.0.1"}',
    '{"dip":"fe80::1"}',
    '{"dip":"ff02::1"}',
    '{"dip":"192.0.2.1"}',
    '{"dip":"198.18.0.1"}',
    '{"dip":"240.0.0.1"}',
    '{"dip":"2a00::1"}',
    '{"dip":"not-an-ip"}',
    "garbage",
    '{"dip":"8.8.8.8","domain":"again"}',
    '{"dip":"2A00:0::1"}',
  ]);
  assertEquals(out, [{ dip: "8.8.8.8", domain: "a" }, { dip: "2a00::1" }]);
  assertEquals(
    summary(stats),
    "2 targets kept, 11 dropped (2 invalid, 2 duplicate, 0 excluded, 1 private, 1 loopback, " +
      "1 link-local, 1 multicast, 1 documentation, 1 benchmarking, 1 reserved)",
  );
});

Deno.test("filter --allow-private keeps special ranges, --allow-benchmarking only 198.18/15", async () => {
  const lines = ['{"dip":"198.18.0.2"}', '{"dip":"fd00:5::1"}', '{"dip":"2001:2::1"}'];
  assertEquals((await run(lines, { allowPrivate: true })).out.length, 3);
  const b = await run(lines, { allowBenchmarking: true });
  assertEquals(b.out, [{ dip: "198.18.0.2" }, { dip: "2001:2::1" }]);
  assertEquals(b.stats.dropped.private, 1);
});

Deno.test("filter --exclude drops addresses and prefixes of both families, even when allowed", async () => {
  const ex = new ExclusionList().addText(
    "# owners who asked not to be probed\n" +
      "8.8.4.0/24   # a whole /24\n" +
      "1.1.1.1\n" +
      "\n" +
      "2a00:1450::/32\n" +
      "198.18.0.0/16\n",
  );
  assertEquals(ex.size, 4);
  const { out, stats } = await run([
    '{"dip":"8.8.4.4"}',
    '{"dip":"8.8.5.4"}',
    '{"dip":"1.1.1.1"}',
    '{"dip":"1.1.1.2"}',
    '{"dip":"2a00:1450:4001::1"}',
    '{"dip":"2a00:1451::1"}',
    '{"dip":"198.18.7.7"}',
    '{"dip":"198.19.7.7"}',
  ], { exclude: ex, allowPrivate: true });
  assertEquals(out.map((j) => j.dip), ["8.8.5.4", "1.1.1.2", "2a00:1451::1", "198.19.7.7"]);
  assertEquals(stats.dropped.excluded, 4);
});

Deno.test("exclusion lists reject malformed lines with their line number", () => {
  throws(() => new ExclusionList().addText("1.2.3.4\n1.2.3/24\n", "ex.txt"), /^Error: ex.txt:2: /);
  throws(() => new ExclusionList().addText("10.0.0.0/33"), /:1: not an IPv4 or IPv6/);
  throws(() => new ExclusionList().addText("::/129"), /:1: /);
  throws(() => new ExclusionList().addText("host.example"), /:1: /);
});

Deno.test("prefixes clear host bits and /0 covers a whole family only", () => {
  assertEquals(parsePrefix("192.0.2.77/24"), {
    family: 4,
    network: parseAddress("192.0.2.0")!.value,
    length: 24,
  });
  const all4 = new ExclusionList().addText("0.0.0.0/0");
  assertEquals(all4.has(parseAddress("203.0.113.5")!), true);
  assertEquals(all4.has(parseAddress("2001:db8::1")!), false);
  const v6 = new ExclusionList().addText("2001:db8:abcd:12::/63");
  assertEquals(v6.has(parseAddress("2001:db8:abcd:13:ffff::1")!), true);
  assertEquals(v6.has(parseAddress("2001:db8:abcd:14::1")!), false);
});

Deno.test("filter --dp sets the port; --csv-input reads the original's rows", async () => {
  const { out, stats, warnings } = await run([
    "8.8.8.8,80,a.example,1",
    "9.9.9.9,443,b.example",
    "1,rank-domain.example",
  ], { csv: true, dp: 8080 });
  assertEquals(out, [
    { dip: "8.8.8.8", dp: 8080, domain: "a.example", rank: "1" },
    { dip: "9.9.9.9", dp: 8080, domain: "b.example" },
  ]);
  assertEquals(stats.dropped.invalid, 1);
  assertEquals(warnings.length, 1);
});

Deno.test("filter on ndjson adds dp only when asked and dedupes however the address is spelled", async () => {
  const { out, stats } = await run([
    '{"dip":"2a00:1450:0:0::1","dp":443}',
    '{"dip":"2a00:1450::1","dp":80}',
  ]);
  assertEquals(out, [{ dip: "2a00:1450:0:0::1", dp: 443 }]);
  assertEquals(stats.dropped.duplicate, 1);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { newFeederStats, openJobs, readJobs } from "../../src/spider/feeder.ts";
import { countLines } from "../../src/io/lines.ts";
import { ExclusionList } from "../../src/targets/exclude.ts";
import { jobResult } from "../../src/spider/result.ts";
import { splitCsvRow } from "../../src/io/csv.ts";

const ORIGINAL_DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";

function streamOf(text: string, chunk = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i >= bytes.length) return c.close();
      c.enqueue(bytes.slice(i, i + chunk));
      i += chunk;
    },
  });
}

async function collect(text: string, csv = false) {
  const warnings: string[] = [];
  const stats = newFeederStats();
  const jobs = [];
  for await (const j of readJobs(streamOf(text), { csv, warn: (m) => warnings.push(m), stats })) {
    jobs.push(j);
  }
  return { jobs, warnings, stats };
}

Deno.test("the feeder keeps every field of a job and its line number", async () => {
  const { jobs, warnings } = await collect(
    '{"dip":"198.18.0.1","dp":8080,"domain":"a.example","info":{"ASN":1}}\n{"dip":"fd00::1"}\n',
  );
  assertEquals(warnings, []);
  assertEquals(jobs, [
    { job: { dip: "198.18.0.1", dp: 8080, domain: "a.example", info: { ASN: 1 } }, line: 1 },
    { job: { dip: "fd00::1" }, line: 2 },
  ]);
});

Deno.test("the feeder warns with the line number and skips malformed lines, then goes on", async () => {
  const { jobs, warnings, stats } = await collect(
    [
      '{"dip":"198.18.0.1"}',
      "{not json",
      '{"domain":"no-dip.example"}',
      '{"dip":"300.1.1.1"}',
      '{"dip":"198.18.0.2","dp":"http"}',
      "[1,2]",
      "",
      '{"dip":"198.18.0.3"}',
    ].join("\n"),
  );
  assertEquals(jobs.map((j) => j.job.dip), ["198.18.0.1", "198.18.0.3"]);
  assertEquals(stats, { jobs: 2, malformed: 5, duplicates: 0, unprobeable: 0, excluded: 0 });
  assertEquals(warnings.length, 5);
  assertEquals(warnings[0]!.includes("line 2"), true);
  assertEquals(warnings[1]!.includes("line 3") && warnings[1]!.includes("dip"), true);
  assertEquals(warnings[4]!.includes("line 6"), true);
});

Deno.test("the feeder skips a dip it has seen, whatever the port or spelling", async () => {
  const { jobs, stats } = await collect(
    '{"dip":"198.18.0.1","dp":80}\n{"dip":"198.18.0.1","dp":443}\n{"dip":"fd00::1"}\n{"dip":"FD00:0::1"}\n',
  );
  assertEquals(jobs.length, 2);
  assertEquals(stats.duplicates, 2);
});

Deno.test("the feeder reads the original's duplicate ndjson sample like the original", async () => {
  const text = await Deno.readTextFile(`${ORIGINAL_DATA}/webtest_duplicates.ndjson`);
  const { jobs, stats } = await collect(text);
  const dips = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).dip);
  assertEquals(jobs.length, new Set(dips).size);
  assertEquals(stats.duplicates, dips.length - new Set(dips).size);
});

Deno.test("the feeder reads the original's 3- and 4-column CSV shapes", async () => {
  const four = await collect(await Deno.readTextFile(`${ORIGINAL_DATA}/webtest.csv`), true);
  assertEquals(four.jobs[0]!.job, {
    dip: "160.85.31.173",
    dp: 80,
    domain: "mami-project.eu",
    rank: "1",
  });
  assertEquals(four.warnings, []);
  const three = await collect(await Deno.readTextFile(`${ORIGINAL_DATA}/webtest_0.9.x.csv`), true);
  assertEquals(three.jobs[2]!.job, {
    dip: "2001:630:241:210:569f:35ff:fe0a:116a",
    dp: 80,
    domain: "erg.abdn.ac.uk",
  });
  const dup = await collect(
    await Deno.readTextFile(`${ORIGINAL_DATA}/webtest_duplicates.csv`),
    true,
  );
  assertEquals(dup.stats.duplicates > 0, true);
});

Deno.test("the feeder warns on a 2-column CSV row (no dip) and on other widths", async () => {
  const { jobs, warnings, stats } = await collect(
    "1,example.com\n198.18.0.9,80,x,1\na,b,c,d,e\n",
    true,
  );
  assertEquals(jobs.length, 1);
  assertEquals(stats.malformed, 2);
  assertEquals(warnings[0]!.includes("line 1"), true);
  assertEquals(warnings[1]!.includes("line 3"), true);
});

Deno.test("splitCsvRow honours quotes and doubled quotes", () => {
  assertEquals(splitCsvRow('198.18.0.1,80,"a,b ""c""",4'), ["198.18.0.1", "80", 'a,b "c"', "4"]);
});

Deno.test("the feeder reads only as far as jobs are taken", async () => {
  let pulled = 0;
  let n = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      n++;
      c.enqueue(new TextEncoder().encode(`{"dip":"198.18.${n >> 8}.${n & 255}"}\n`));
      if (n > 1_000_000) c.close();
    },
  }, { highWaterMark: 0 });
  const it = readJobs(stream, { warn: () => {} });
  for (let i = 0; i < 10; i++) await it.next();
  await it.return(undefined);
  assertEquals(pulled <= 12, true);
});

Deno.test("countLines counts non-blank lines, with or without a final newline", async () => {
  const f = await Deno.makeTempFile();
  await Deno.writeTextFile(f, "a\n\nb\n  \nc");
  assertEquals(await countLines(f), 3);
  await Deno.writeTextFile(f, "a\nb\n");
  assertEquals(await countLines(f), 2);
  await Deno.remove(f);
});

Deno.test("countLines counts a gzip file's lines after decompression", async () => {
  const f = await Deno.makeTempFile();
  const gz = new Blob(["a\nb\n\nc\n"]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(f, gz);
  assertEquals(await countLines(f), 3);
  await Deno.remove(f);
});

const JOBS = ['{"dip":"198.18.0.1"}', '{"dip":"198.18.0.2"}', '{"dip":"198.18.0.3"}'];

Deno.test("openJobs reads every job of a FIFO, and its total is unknown", async () => {
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/jobs`;
  new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
  // the writer opens when the reader does (a FIFO's open waits for the other end)
  const writer = Deno.writeTextFile(fifo, JOBS.join("\n") + "\n");
  await using src = await openJobs(fifo, { warn: () => {} });
  const got: string[] = [];
  for (let r = await src.jobs.next(); !r.done; r = await src.jobs.next()) got.push(r.value.job.dip);
  await writer;
  assertEquals(got, ["198.18.0.1", "198.18.0.2", "198.18.0.3"]);
  assertEquals(src.total(), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openJobs reads a gzip file and counts its jobs for the progress total", async () => {
  const f = await Deno.makeTempFile();
  const gz = new Blob([JOBS.join("\n") + "\n"]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  await Deno.writeFile(f, gz);
  await using src = await openJobs(f, { warn: () => {} });
  let n = 0;
  for (let r = await src.jobs.next(); !r.done; r = await src.jobs.next()) n++;
  assertEquals(n, 3);
  // counted in the background, from a second reader of the file
  for (let i = 0; i < 100 && src.total() === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(src.total(), 3);
  await Deno.remove(f);
});

Deno.test("the feeder never hands out unspecified, loopback, link-local, multicast or broadcast targets", async () => {
  const never = [
    "0.0.0.0",
    "127.0.0.1",
    "169.254.169.254",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "febf::1",
    "ff02::1",
    "::ffff:169.254.169.254",
    "::ffff:127.0.0.1",
    "::ffff:0.0.0.0",
    "::169.254.169.254",
    "::127.0.0.1",
    "::ffff:224.0.0.1",
    "::ffff:255.255.255.255",
  ];
  const kept = [
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "203.0.113.9",
    "fd00::1",
    "2001:db8::1",
    "fec0::1",
    "169.253.1.1",
    "::ffff:198.18.0.9",
  ];
  const { jobs, warnings, stats } = await collect(
    [...never, ...kept].map((dip) => JSON.stringify({ dip })).join("\n"),
  );
  assertEquals(jobs.map((j) => j.job.dip), kept);
  assertEquals([stats.unprobeable, stats.jobs, stats.malformed], [never.length, kept.length, 0]);
  assertEquals(warnings.length, never.length);
  assertEquals(
    warnings[2],
    "pathspider: warning: input line 3: 169.254.169.254 is link-local: never probed; skipped",
  );
});

Deno.test("the feeder skips and counts targets of an exclusion list", async () => {
  const exclude = new ExclusionList().addText("198.18.0.0/24\nfd00::/16\n");
  const stats = newFeederStats();
  const got = [];
  const text = ["198.18.0.1", "198.18.1.1", "fd00::1", "fd01::1"].map((d) =>
    JSON.stringify({ dip: d })
  ).join("\n");
  for await (const j of readJobs(streamOf(text), { stats, exclude, warn: () => {} })) {
    got.push(j.job.dip);
  }
  assertEquals(got, ["198.18.1.1", "fd01::1"]);
  assertEquals([stats.excluded, stats.jobs], [2, 2]);
});

Deno.test("a job's integers beyond 2^53 reach its result exactly, as the original keeps them", async () => {
  const line =
    '{"dip":"198.18.0.1","id":9007199254740993,"neg":-18446744073709551615,"info":{"ASN":9007199254740995,"n":[12345678901234567891,1.5,2e300]},"f":0.1,"small":42}';
  const { jobs } = await collect(line);
  const out = JSON.stringify(jobResult(jobs[0]!.job, "198.18.0.2", [], null, false));
  assertEquals(out.includes('"id":9007199254740993,'), true, out);
  assertEquals(out.includes('"neg":-18446744073709551615,'), true, out);
  assertEquals(out.includes('"n":[12345678901234567891,1.5,2e+300]'), true, out);
  assertEquals(out.includes('"f":0.1,"small":42'), true, out);
  // the path names the target's AS exactly too
  assertEquals(out.includes('"path":["198.18.0.2","AS9007199254740995","198.18.0.1"]'), true, out);
});

/**
 * Benchmark of `pathspider report`: peak memory and time over generated result files of 1 and
 * 10 million lines (LINES="1000000 10000000" to choose), streamed through a pipe into
 * `report -` under `/usr/bin/time -v`, so nothing is held on disk. Flat memory means the peak
 * RSS of 10 M lines is that of 1 M. A result line is shaped like ours without flow_results
 * (~330 bytes: the job, sip, path, time, 5 ECN conditions out of 10 different sets).
 *
 *     deno run -A bench/report.ts            # prints one row per size
 *     COMPARE=1 LINES=1000000 deno run -A bench/report.ts
 *
 * COMPARE=1 writes each target twice, from vantage points "a" and "b" (every tenth with other
 * conditions from "b"), and runs `report --compare -`: its memory grows with the targets.
 *
 * @module
 */
const ROOT = new URL("../", import.meta.url).pathname;
const sizes = (Deno.env.get("LINES") ?? "1000000 10000000").split(/\s+/).filter(Boolean).map(
  Number,
);
const compare = Deno.env.get("COMPARE") === "1";
const args = compare ? ["--compare"] : [];

const SETS = [
  [
    "ecn.connectivity.works",
    "ecn.negotiation.succeeded",
    "ecn.ipmark.ect0.seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.ipmark.ce.not_seen",
  ],
  [
    "ecn.connectivity.works",
    "ecn.negotiation.failed",
    "ecn.ipmark.ect0.not_seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.ipmark.ce.not_seen",
  ],
  ["ecn.connectivity.broken"],
  ["ecn.connectivity.offline", "pathspider.not_observed", "pathspider.missed_flows:2"],
  [
    "ecn.connectivity.works",
    "ecn.negotiation.reflected",
    "ecn.ipmark.ect0.seen",
    "ecn.ipmark.ect1.not_seen",
    "ecn.ipmark.ce.seen",
  ],
];

/** Writes `n` result lines to `w` in 1 MiB chunks. */
async function generate(n: number, w: WritableStreamDefaultWriter<Uint8Array>) {
  const enc = new TextEncoder();
  let buf = "";
  for (let i = 0; i < n; i++) {
    const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const set = SETS[(i * 7919) % 10 < 6 ? 0 : (i * 7919) % SETS.length];
    if (compare) {
      const other = i % 10 === 0 ? SETS[2] : set;
      buf += `{"vantage":"a","dip":"${a}","dp":80,"conditions":${JSON.stringify(set)}}\n` +
        `{"vantage":"b","dip":"${a}","dp":80,"conditions":${JSON.stringify(other)}}\n`;
      if (buf.length > 1 << 20) {
        await w.write(enc.encode(buf));
        buf = "";
      }
      continue;
    }
    buf +=
      `{"dip":"${a}","dp":80,"domain":"t${i}.example.test","sip":"192.0.2.1","path":["192.0.2.1","AS${
        64500 + (i % 50)
      }","${a}"],"time":{"from":"2026-12-07 23:13:35.574323","to":"2026-12-07 23:13:35.581550"},"conditions":${
        JSON.stringify(set)
      }}\n`;
    if (buf.length > 1 << 20) {
      await w.write(enc.encode(buf));
      buf = "";
    }
  }
  await w.write(enc.encode(buf));
  await w.close();
}

console.log("lines       seconds  peak RSS (MiB)  results read");
for (const n of sizes) {
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-v", `${ROOT}bin/pathspider`, "report", "--json", ...args, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const t0 = performance.now();
  const [, out] = await Promise.all([generate(n, child.stdin.getWriter()), child.output()]);
  const secs = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  if (out.code !== 0 || !rss) {
    console.error(err);
    Deno.exit(1);
  }
  const jobs = JSON.parse(new TextDecoder().decode(out.stdout)).jobs;
  console.log(
    `${String(n).padEnd(11)} ${secs.toFixed(1).padStart(7)}  ${
      (Number(rss[1]) / 1024).toFixed(1).padStart(14)
    }  ${jobs}`,
  );
}

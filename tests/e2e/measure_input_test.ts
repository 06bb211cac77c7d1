/**
 * `measure --input` that is a stream: a FIFO, bash's `<(zcat targets.ndjson.gz)`, and a gzip
 * file each measure every job (the progress counter once read a stream to its end first, and the
 * run then measured 0 jobs and exited 0).
 */
import assert from "node:assert/strict";
import { run, Testbed } from "./lib/testbed.ts";
import { jobsFor, PATHSPIDER, warmUp } from "./measure_run.ts";

Deno.test("measure reads every job from a FIFO, a process substitution and a gzip file", async (t) => {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: Array.from({ length: 4 }, (_, i) => ({ name: `t${i}` })),
  });
  try {
    await warmUp(tb);
    const jobs = jobsFor(tb);
    const want = jobs.trim().split("\n").length;
    const plain = `${tb.dir}/jobs.ndjson`;
    Deno.writeTextFileSync(plain, jobs);
    await run(["gzip", "-k", plain], { check: true });
    const env = { PATHSPIDER_JOURNAL_DIR: `${tb.dir}/journal` };
    const measure = (input: string, before = "") =>
      run([
        "bash",
        "-c",
        `${before}exec ip netns exec ${tb.clientNs} ${PATHSPIDER} measure -i ${tb.clientIface} ` +
        `--input ${input} ecn --timeout 2`,
      ], { env, timeoutMs: 60_000 });
    const check = (r: { code: number; stdout: string; stderr: string }) => {
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      assert.equal(got.length, want, r.stderr);
      assert.match(r.stderr, new RegExp(`^pathspider: ${want} jobs, ${want} results`, "m"));
    };

    await t.step("a FIFO", async () => {
      const fifo = `${tb.dir}/jobs.fifo`;
      await run(["mkfifo", fifo], { check: true });
      check(await measure(fifo, `cat ${plain} > ${fifo} & `));
    });
    await t.step("<(zcat jobs.ndjson.gz)", async () => {
      check(await measure(`<(zcat ${plain}.gz)`));
    });
    await t.step("a gzip file", async () => {
      check(await measure(`${plain}.gz`));
    });
  } finally {
    await tb.destroy();
  }
});

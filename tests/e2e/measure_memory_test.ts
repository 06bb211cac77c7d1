/**
 * `measure` memory stays flat on a long input: 200,000 distinct IPv6 targets that refuse at once.
 * Every job gives one result, and the tool's peak resident memory stays far below what holding
 * the jobs would take (bench/measure_memory.ts measures 1,000,000 jobs; this is the regression
 * guard: before the memory work, 100,000 such jobs peaked at 380-450 MiB).
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { addRefusingTargets, countLines, watchMemory, writeRefusingJobs } from "./lib/refusing.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const JOBS = 200_000;
/** Peak RSS allowed, MiB: about 80 of Deno and the capture ring, plus headroom. */
const LIMIT_MIB = 250;

Deno.test(`measure dscp keeps its memory under ${LIMIT_MIB} MiB over ${JOBS} refused jobs`, async () => {
  const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v4: false }] });
  try {
    await addRefusingTargets(tb);
    const jobs = `${tb.dir}/jobs.ndjson`, out = `${tb.dir}/out.ndjson`;
    await writeRefusingJobs(jobs, JOBS);
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        tb.clientNs,
        `${ROOT}bin/pathspider`,
        "measure",
        "-i",
        tb.clientIface,
        "--input",
        jobs,
        "--output",
        out,
        "dscp",
        "--connect",
        "tcp",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const watch = watchMemory(child.pid, 200);
    const res = await child.output();
    const { peakKiB, samples } = watch.stop();
    const stderr = new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 0, stderr);
    assert.equal(await countLines(out), JOBS, stderr);
    assert.match(stderr, new RegExp(`${JOBS} jobs, ${JOBS} results`));
    assert.ok(samples.length > 0, "no memory sample of the run");
    const peakMiB = peakKiB / 1024;
    assert.ok(peakMiB < LIMIT_MIB, `peak RSS ${peakMiB.toFixed(0)} MiB; ${stderr}`);
  } finally {
    await tb.destroy();
  }
});

/**
 * Memory of `measure` on a long input: N distinct IPv6 targets (default 1,000,000) that refuse at
 * once (a local route in the server namespace, no listener: the kernel answers every SYN with a
 * RST). Each argument is one run of ours, as the measure arguments after the plugin's input:
 *
 *   deno run -A bench/measure_memory.ts [N] ["dscp --connect tcp"] ["ecn --connect tcp"]
 *
 * BENCH_TOOL replaces bin/pathspider; BENCH_BESIDE is a command run in the client namespace
 * alongside (a profiler client, for instance); MEASURE_V8_FLAGS reaches only the tool.
 *
 * Prints, per run: wall time, jobs/s, peak RSS (the kernel's VmHWM, read every 0.5 s and at exit
 * through /proc), the RSS at each tenth of the run, the results written and the summary line.
 * Needs root.
 * @module
 */
import { Testbed } from "../tests/e2e/lib/testbed.ts";
import {
  addRefusingTargets,
  countLines,
  REFUSING_MAX,
  watchMemory,
  writeRefusingJobs,
} from "../tests/e2e/lib/refusing.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const args = [...Deno.args];
const N = /^\d+$/.test(args[0] ?? "") ? Number(args.shift()) : 1_000_000;
if (N > REFUSING_MAX) throw new Error(`at most ${REFUSING_MAX} targets (one /108)`);
const runs = args.length > 0 ? args : ["dscp --connect tcp", "ecn --connect tcp"];

const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v4: false }] });
try {
  await addRefusingTargets(tb);
  const jobsFile = `${tb.dir}/jobs.ndjson`;
  await writeRefusingJobs(jobsFile, N);
  for (const spec of runs) {
    const out = `${tb.dir}/out.ndjson`;
    const cmd = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        tb.clientNs,
        Deno.env.get("BENCH_TOOL") ?? `${ROOT}bin/pathspider`,
        "measure",
        "-i",
        tb.clientIface,
        "--input",
        jobsFile,
        "--output",
        out,
        ...spec.split(" "),
      ],
      // MEASURE_V8_FLAGS (e.g. --trace-gc) reaches only the tool; its stdout is kept with stderr
      env: Deno.env.get("MEASURE_V8_FLAGS")
        ? { DENO_V8_FLAGS: Deno.env.get("MEASURE_V8_FLAGS")! }
        : {},
      stdout: "piped",
      stderr: "piped",
    });
    const t0 = performance.now();
    const child = cmd.spawn();
    // BENCH_BESIDE: a command run in the client namespace during the run (e.g. a profiler client)
    const beside = Deno.env.get("BENCH_BESIDE");
    const besideRun = beside
      ? new Deno.Command("ip", {
        args: ["netns", "exec", tb.clientNs, ...beside.split(" ")],
        stdout: "inherit",
        stderr: "inherit",
      }).output()
      : null;
    // `ip netns exec` execs the launcher, which execs deno: the pid is the tool's own
    const watch = watchMemory(child.pid);
    const res = await child.output();
    await besideRun;
    const { peakKiB: peak, samples } = watch.stop();
    const secs = (performance.now() - t0) / 1000;
    const results = await countLines(out);
    await Deno.remove(out);
    const tenths = Array.from({ length: 10 }, (_, k) => {
      const s = samples[Math.min(samples.length - 1, Math.floor((k + 1) * samples.length / 10))];
      return s ? `${Math.round(s.kib / 1024)}` : "-";
    });
    const errText = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    // the whole stderr, for a look with DENO_V8_FLAGS=--trace-gc and the like
    await Deno.writeTextFile(`${ROOT}bench/out/measure_memory.stderr`, errText);
    const stderr = errText.trim().split("\n");
    console.log(
      `${spec}: exit ${res.code}, ${results} results for ${N} jobs in ${secs.toFixed(1)} s ` +
        `= ${(N / secs).toFixed(0)} jobs/s; peak RSS ${(peak / 1024).toFixed(0)} MiB ` +
        `(sampled every 0.5 s); RSS MiB at each tenth: ${tenths.join(" ")}`,
    );
    const summary = stderr.filter((l) => l.startsWith("pathspider:")).pop();
    if (summary) console.log(`  ${summary}`);
    if (res.code !== 0) console.log(stderr.slice(-5).join("\n"));
  }
} finally {
  await tb.destroy();
}

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
import { NET, run, Testbed } from "../tests/e2e/lib/testbed.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const args = [...Deno.args];
const N = /^\d+$/.test(args[0] ?? "") ? Number(args.shift()) : 1_000_000;
if (N > 1 << 20) throw new Error("at most 1,048,576 targets (one /108)");
const runs = args.length > 0 ? args : ["dscp --connect tcp", "ecn --connect tcp"];
const PREFIX = "fd00:6::"; // fd00:6::/108: the refusing targets

/** Peak and current RSS of a process, KiB, from /proc (0 once it has gone). */
function rssOf(pid: number): { peak: number; now: number } {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { peak: kib("VmHWM"), now: kib("VmRSS") };
  } catch {
    return { peak: 0, now: 0 };
  }
}

const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v4: false }] });
try {
  await run(["ip", "-6", "route", "add", "local", `${PREFIX}/108`, "dev", "lo"], {
    ns: tb.serverNs,
    check: true,
  });
  await run(["ip", "-6", "route", "add", `${PREFIX}/108`, "via", NET.server6], {
    ns: tb.routerNs,
    check: true,
  });
  const jobsFile = `${tb.dir}/jobs.ndjson`;
  {
    const f = await Deno.open(jobsFile, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let chunk = "";
    for (let i = 0; i < N; i++) {
      chunk += `{"dip": "${PREFIX}${(i >> 16).toString(16)}:${
        (i & 0xffff).toString(16)
      }", "dp": 9}\n`;
      if (chunk.length > 1 << 20) {
        await f.write(enc.encode(chunk));
        chunk = "";
      }
    }
    await f.write(enc.encode(chunk));
    f.close();
  }
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
    const pid = child.pid;
    let peak = 0;
    const samples: { t: number; rss: number }[] = [];
    const poll = setInterval(() => {
      const r = rssOf(pid);
      if (r.peak > peak) peak = r.peak;
      if (r.now > 0) samples.push({ t: (performance.now() - t0) / 1000, rss: r.now });
    }, 500);
    const res = await child.output();
    await besideRun;
    clearInterval(poll);
    const secs = (performance.now() - t0) / 1000;
    let results = 0;
    {
      const f = await Deno.open(out);
      const buf = new Uint8Array(1 << 20);
      for (let n; (n = await f.read(buf)) !== null;) {
        for (let i = 0; i < n; i++) if (buf[i] === 10) results++;
      }
      f.close();
      await Deno.remove(out);
    }
    const tenths = Array.from({ length: 10 }, (_, k) => {
      const s = samples[Math.min(samples.length - 1, Math.floor((k + 1) * samples.length / 10))];
      return s ? `${Math.round(s.rss / 1024)}` : "-";
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

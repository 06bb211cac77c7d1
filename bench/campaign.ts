/**
 * What JetStream costs a campaign, on a fast testbed: N distinct IPv4 targets (default 10000)
 * answered by nginx (an AnyIP /18), no delay, no middlebox, and a nats-server with JetStream on
 * the client namespace's loopback. Per round, in turn:
 *
 *   measure   `measure dscp -w W` over the N jobs from a file (no JetStream at all)
 *   work x1   one `campaign work --until-done -w W` on a fresh campaign of the N jobs
 *   work x3   three such workers of one vantage point on another fresh campaign
 *
 * Prints per run the wall time (process start to the last exit) and the time to the last result
 * stored (campaigns), jobs/s, the workers' CPU
 * (user+sys), the server's CPU and the NATS messages per job (server's in+out counters).
 *
 *   deno run -A bench/campaign.ts [N=10000] [W=100] [ROUNDS=3]
 *
 * Needs root.
 * @module
 */
import { Background, NET, run, Testbed } from "../tests/e2e/lib/testbed.ts";
import { warmUp } from "../tests/e2e/measure_run.ts";
import { NatsServer } from "../tests/e2e/lib/nats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PATHSPIDER = `${ROOT}bin/pathspider`;
const [N, W, ROUNDS] = [
  Number(Deno.args[0] ?? 10000),
  Number(Deno.args[1] ?? 100),
  Number(
    Deno.args[2] ?? 3,
  ),
];
if (N > 16384) throw new Error("at most 16384 targets (one /18)");

/** CPU seconds (user+sys) of a process from /proc (clock ticks of 100 Hz). */
function cpuOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** `/usr/bin/time`'s "%e %U %S" line at the end of stderr: [wall, cpu]. */
function timed(stderr: string): number {
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(stderr);
  if (m === null) throw new Error(`no time line in: ${stderr.slice(-300)}`);
  return Number(m[2]) + Number(m[3]);
}

const monitor = 20000 + Math.floor(Math.random() * 40000);
const tb = await Testbed.create({ servers: ["http"], targets: [{ name: "clean", v6: false }] });
let nats: NatsServer | undefined;
try {
  await run(["ip", "route", "add", "local", "198.19.64.0/18", "dev", "lo"], {
    ns: tb.serverNs,
    check: true,
  });
  await run(["ip", "route", "add", "198.19.64.0/18", "via", NET.server4], {
    ns: tb.routerNs,
    check: true,
  });
  await warmUp(tb);
  nats = await NatsServer.start({ ns: tb.clientNs, extraArgs: ["-m", String(monitor)] });
  const serverPid = Number(
    (await run(["pgrep", "-f", `nats-server -js -a 127.0.0.1 -p ${nats.port}`])).stdout.trim(),
  );
  let jobs = "";
  for (let i = 0; i < N; i++) {
    jobs += JSON.stringify({ dip: `198.19.${64 + (i >> 8)}.${i & 255}`, dp: 80 }) + "\n";
  }
  const jobsFile = `${tb.dir}/jobs.ndjson`;
  await Deno.writeTextFile(jobsFile, jobs);
  const server = ["--server", nats.url];
  const inNs = (argv: string[]) => ["ip", "netns", "exec", tb.clientNs, ...argv];
  const TIME = ["/usr/bin/time", "-f", "%e %U %S"];
  const msgs = async () => {
    const r = await run(inNs(["curl", "-s", `http://127.0.0.1:${monitor}/varz`]));
    const v = JSON.parse(r.stdout) as { in_msgs: number; out_msgs: number };
    return v.in_msgs + v.out_msgs;
  };

  /** When the last message of `stream` was stored (epoch ms), from the server's monitor. */
  const lastStored = async (stream: string) => {
    const r = await run(
      inNs(["curl", "-s", `http://127.0.0.1:${monitor}/jsz?accounts=true&streams=true`]),
    );
    type Jsz = {
      account_details: { stream_detail: { name: string; state: { last_ts: string } }[] }[];
    };
    const j = JSON.parse(r.stdout) as Jsz;
    const st = j.account_details.flatMap((a) => a.stream_detail).find((d) => d.name === stream);
    return Date.parse(st!.state.last_ts);
  };

  const measureRun = async () => {
    const t0 = performance.now();
    const r = await run(
      inNs([
        ...TIME,
        PATHSPIDER,
        "measure",
        "-i",
        tb.clientIface,
        "-w",
        String(W),
        "--input",
        jobsFile,
        "--output",
        `${tb.dir}/out.ndjson`,
        "dscp",
      ]),
      { timeoutMs: 600_000 },
    );
    const wall = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`measure failed: ${r.stderr}`);
    return { wall, toLast: wall, cpu: timed(r.stderr), serverCpu: 0, msgs: 0 };
  };

  let campaigns = 0;
  const workRun = async (workers: number) => {
    const name = `b${++campaigns}`;
    const c = await run(inNs([PATHSPIDER, "campaign", "create", ...server, name, "dscp"]));
    if (c.code !== 0) throw new Error(c.stderr);
    const a = await run(
      inNs([PATHSPIDER, "campaign", "add", ...server, name, "--input", jobsFile]),
    );
    if (a.code !== 0) throw new Error(a.stderr);
    const cpu0 = cpuOf(serverPid), m0 = await msgs();
    const t0 = performance.now(), epoch0 = Date.now();
    const ws = Array.from({ length: workers }, () =>
      new Background(inNs([
        ...TIME,
        PATHSPIDER,
        "campaign",
        "work",
        ...server,
        name,
        "--vantage",
        "v",
        "-i",
        tb.clientIface,
        "-w",
        String(W),
        "--until-done",
        "--quiet",
      ])));
    let cpu = 0;
    for (const w of ws) {
      const st = await w.wait();
      if (st.code !== 0) throw new Error(`worker failed: ${w.stderr}`);
      cpu += timed(w.stderr);
    }
    const wall = (performance.now() - t0) / 1000;
    const collected = await run(
      inNs([PATHSPIDER, "campaign", "collect", ...server, name, "--output", "/dev/null"]),
    );
    if (!new RegExp(`: ${N} results`).test(collected.stderr)) {
      throw new Error(`expected ${N} results: ${collected.stderr}`);
    }
    return {
      wall,
      toLast: (await lastStored(`PSC_${name}_RESULTS`) - epoch0) / 1000,
      cpu,
      serverCpu: cpuOf(serverPid) - cpu0,
      msgs: (await msgs()) - m0,
    };
  };

  type Row = { wall: number; toLast: number; cpu: number; serverCpu: number; msgs: number };
  const rows: Record<string, Row[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (
      const [label, fn] of [
        ["measure", measureRun],
        ["work x1", () => workRun(1)],
        ["work x3", () => workRun(3)],
      ] as const
    ) {
      const r = await fn();
      (rows[label] ??= []).push(r);
      console.log(JSON.stringify({
        round,
        run: label,
        jobs: N,
        workers: W,
        wall_s: +r.wall.toFixed(2),
        jobs_per_s: Math.round(N / r.wall),
        // campaign runs: to the last result stored (the exit waits out the flows' expiry when
        // other workers still hold jobs)
        to_last_result_s: +r.toLast.toFixed(2),
        jobs_per_s_to_last_result: Math.round(N / r.toLast),
        cpu_ms_per_job: +(r.cpu * 1000 / N).toFixed(3),
        server_cpu_ms_per_job: +(r.serverCpu * 1000 / N).toFixed(3),
        nats_msgs_per_job: +(r.msgs / N).toFixed(2),
      }));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [label, rs] of Object.entries(rows)) {
    console.log(
      `${label}: median ${Math.round(N / median(rs.map((r) => r.wall)))} jobs/s to exit, ` +
        `${Math.round(N / median(rs.map((r) => r.toLast)))} to the last result, ` +
        `${(median(rs.map((r) => r.cpu)) * 1000 / N).toFixed(3)} ms CPU per job (workers), ` +
        `${(median(rs.map((r) => r.serverCpu)) * 1000 / N).toFixed(3)} ms (nats-server), ` +
        `${(median(rs.map((r) => r.msgs)) / N).toFixed(2)} NATS messages per job`,
    );
  }
} finally {
  await nats?.stop();
  await tb.destroy();
}

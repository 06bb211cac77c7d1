/**
 * `pathspider campaign` end to end: a real nats-server with JetStream inside the testbed's client
 * namespace (on its loopback, where the workers reach it), two vantage points measuring `dscp`
 * against targets whose paths differ. Vantage point "a" has one worker started before any job
 * exists; "b" has two, the first killed with SIGKILL while it holds jobs; the server is restarted
 * half way. Every job gives exactly one result per vantage point, each right for its target.
 */
import assert from "node:assert/strict";
import { Background, run, Testbed } from "./lib/testbed.ts";
import { NatsServer } from "./lib/nats.ts";
import { jobsFor, PATHSPIDER, type Result, warmUp } from "./measure_run.ts";

/** dscp 46 over http, as tests/e2e/measure_dscp_test.ts knows each path. */
const EXPECT: Record<string, string[]> = {
  clean: ["dscp.46.connectivity.works", "dscp.0.replymark:0", "dscp.46.replymark:0"],
  clean2: ["dscp.46.connectivity.works", "dscp.0.replymark:0", "dscp.46.replymark:0"],
  noef: ["dscp.46.connectivity.broken", "dscp.0.replymark:0"],
  remark: ["dscp.46.connectivity.works", "dscp.0.replymark:10", "dscp.46.replymark:10"],
  offline: ["dscp.46.connectivity.offline"],
  offline2: ["dscp.46.connectivity.offline"],
};

interface VantageStatus {
  vantage: string;
  done: number;
  inFlight: number;
  left: number;
}

Deno.test("campaign: two vantage points, a worker killed, a server restart: one right result per vantage and job", async () => {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [
      { name: "clean" },
      { name: "clean2" },
      { name: "noef", behaviour: ["drop-dscp46"] },
      { name: "remark", behaviour: ["remark-replies"] },
      { name: "offline", behaviour: ["offline"] },
      { name: "offline2", behaviour: ["offline"] },
    ],
  });
  const workers: Background[] = [];
  let nats: NatsServer | undefined;
  try {
    await warmUp(tb);
    nats = await NatsServer.start({ ns: tb.clientNs });
    const server = ["--server", nats.url];
    const cli = (args: string[], stdin?: string) =>
      run(["ip", "netns", "exec", tb.clientNs, PATHSPIDER, "campaign", ...args], {
        stdin,
        timeoutMs: 60_000,
      });
    const status = async (): Promise<Map<string, VantageStatus>> => {
      const r = await cli(["status", ...server, "--json", "t"]);
      if (r.code !== 0) return new Map();
      const st = JSON.parse(r.stdout) as { vantages: VantageStatus[] };
      return new Map(st.vantages.map((v) => [v.vantage, v]));
    };
    const worker = (vantage: string, extra: string[] = []) => {
      const w = new Background([
        PATHSPIDER,
        "campaign",
        "work",
        ...server,
        "t",
        "--vantage",
        vantage,
        "-i",
        tb.clientIface,
        "-w",
        "2",
        "--until-done",
        "--quiet",
        ...extra,
      ], { ns: tb.clientNs });
      workers.push(w);
      return w;
    };
    const until = async (what: string, pred: () => Promise<boolean>, ms = 90_000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    const created = await cli(["create", ...server, "t", "dscp", "--timeout", "2"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /campaign t created: dscp --timeout 2 .*ack wait 23 s/);

    // a worker with nothing to do waits (it does not take "no jobs yet" for "done")
    const meta = `${tb.dir}/meta-a.json`;
    const a = worker("a", ["--metadata", meta]);
    let aEnded = false;
    a.wait().then(() => aEnded = true);
    await until("vantage a's consumer", async () => (await status()).has("a"));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(aEnded, false, `worker a ended without jobs: ${a.stderr}`);
    const jobs = jobsFor(tb);
    const total = jobs.trim().split("\n").length;
    const added = await cli(["add", ...server, "t"], jobs);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, new RegExp(`${total} jobs added, 0 already there`));

    // b's first worker alone until it holds jobs, then the second starts and the first dies
    const b1 = worker("b");
    await until("b1 holding jobs", async () => {
      const b = (await status()).get("b");
      return b !== undefined && b.done >= 2 && b.inFlight >= 1;
    });
    const b2 = worker("b");
    b1.child.kill("SIGKILL");
    const killed = await b1.wait();
    assert.equal(killed.signal, "SIGKILL");

    // half way: the server goes away for a second, workers reconnect
    await until("half of the work", async () => {
      const st = await status();
      return (st.get("a")?.done ?? 0) + (st.get("b")?.done ?? 0) >= total;
    });
    await nats.restart(1000);

    for (const w of [a, b2]) {
      const st = await Promise.race([
        w.wait(),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error("worker hangs")), 120_000)),
      ]);
      assert.equal(st.code, 0, w.stderr);
      assert.match(w.stderr, /has no jobs left/);
    }

    // the worker's run record names its vantage point
    const record = JSON.parse(await Deno.readTextFile(meta));
    assert.equal(record.vantage, "a");
    assert.equal(record.exit_status, 0);
    assert.equal(record.input, "campaign t: stream PSC_t_JOBS, consumer a");

    const out = `${tb.dir}/results.ndjson`;
    const collected = await cli(["collect", ...server, "t", "--output", out]);
    assert.equal(collected.code, 0, collected.stderr);
    const results = (await run(["cat", out])).stdout.trim().split("\n").map((l) =>
      JSON.parse(l) as Result
    );
    assert.equal(results.length, 2 * total, collected.stderr);
    const keys = new Set(results.map((r) => `${r.vantage}/${r.job_id}`));
    assert.equal(keys.size, 2 * total, "one result per (vantage, job)");
    for (const r of results) {
      assert.ok(r.vantage === "a" || r.vantage === "b");
      const name = String(r.name);
      assert.deepEqual(r.conditions, EXPECT[name], `${r.vantage} ${name} ${r.dip}`);
    }

    // the collected file compares the two vantage points as two runs
    const report = await run([PATHSPIDER, "report", "--compare", "--json", out]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /"a"/);
    assert.match(report.stdout, /"b"/);
    const table = await cli(["status", ...server, "t"]);
    assert.match(table.stdout, /^vantage +done +in flight +left +rate\/s +last seen$/m);
    assert.match(table.stdout, new RegExp(`^a +${total} +0 +0 `, "m"));

    // add after collect: only the new jobs are added, and only they are left
    const more = jobs + JSON.stringify({ dip: "198.19.0.250", name: "offline" }) + "\n";
    const again = await cli(["add", ...server, "t"], more);
    assert.match(again.stderr, new RegExp(`1 jobs added, ${total} already there`));
    const st = await status();
    assert.deepEqual([st.get("a")?.left, st.get("b")?.left], [1, 1]);
  } finally {
    for (const w of workers) await w.stop("SIGKILL").catch(() => {});
    await nats?.stop();
    await tb.destroy();
  }
});

Deno.test("campaign work on SIGINT stores what it measured, gives back the rest and exits 130", async () => {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: Array.from({ length: 4 }, (_, i) => ({ name: `off${i}`, behaviour: ["offline"] })),
  });
  let nats: NatsServer | undefined;
  let w: Background | undefined;
  try {
    await warmUp(tb);
    nats = await NatsServer.start({ ns: tb.clientNs });
    const server = ["--server", nats.url];
    const cli = (args: string[], stdin?: string) =>
      run(["ip", "netns", "exec", tb.clientNs, PATHSPIDER, "campaign", ...args], { stdin });
    assert.equal((await cli(["create", ...server, "s", "dscp", "--timeout", "2"])).code, 0);
    const jobs = jobsFor(tb);
    const total = jobs.trim().split("\n").length;
    assert.equal((await cli(["add", ...server, "s"], jobs)).code, 0);
    // one job at a time: each silent target holds the worker for its timeout
    w = new Background([
      PATHSPIDER,
      "campaign",
      "work",
      ...server,
      "s",
      "--vantage",
      "v",
      "-i",
      tb.clientIface,
      "-w",
      "1",
      "--quiet",
    ], { ns: tb.clientNs });
    const status = async () => {
      const r = await cli(["status", ...server, "--json", "s"]);
      return (JSON.parse(r.stdout) as { vantages: VantageStatus[] }).vantages[0];
    };
    const end = Date.now() + 60_000;
    while (((await status())?.inFlight ?? 0) < 1) {
      if (Date.now() > end) throw new Error(`no job in flight: ${w.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the engine has taken its job (a silent target: it takes the 2 s timeout)
    await new Promise((r) => setTimeout(r, 500));
    const st = await w.stop("SIGINT", 30_000);
    assert.equal(st.code, 130, w.stderr);
    // nothing stays in flight: the job measured was stored, the ones taken ahead given back
    const after = await status();
    assert.ok(after, "the vantage still reports its status");
    assert.equal(after.inFlight, 0);
    assert.ok(after.done >= 1, "the job being measured was finished and stored");
    assert.equal(after.done + after.left, total);
    const out = `${tb.dir}/r.ndjson`;
    const collected = await cli(["collect", ...server, "s", "--output", out]);
    assert.match(collected.stderr, new RegExp(`: ${after.done} results`));
  } finally {
    await w?.stop("SIGKILL").catch(() => {});
    await nats?.stop();
    await tb.destroy();
  }
});

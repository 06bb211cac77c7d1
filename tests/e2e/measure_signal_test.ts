/**
 * Every way out of `pathspider measure ecn` restores the client namespace's sysctls to the values
 * they had before (set to non-defaults here so that a reset to defaults would not pass): normal
 * end, SIGINT, SIGTERM and SIGHUP (beside a ping every 5 ms), a second SIGINT, a broken output
 * pipe, two overlapping runs, SIGKILL followed by the next run (which restores the killed run's
 * settings and says so), and the interface going down mid-run.
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { clientSysctl, jobsFor, PATHSPIDER, warmUp } from "./measure_run.ts";

/** Values the client namespace starts with (not the defaults 2 and 1). */
const BEFORE = { "net.ipv4.tcp_ecn": "0", "net.ipv4.tcp_ecn_fallback": "1" };

async function withTestbed(fn: (tb: Testbed, journalDir: string) => Promise<void>) {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: [
      ...Array.from({ length: 12 }, (_, i) => ({ name: `clean${i}`, v6: false })),
      ...Array.from(
        { length: 12 },
        (_, i) => ({ name: `off${i}`, v6: false, behaviour: ["offline" as const] }),
      ),
    ],
  });
  try {
    for (const [k, v] of Object.entries(BEFORE)) await tb.exec(["sysctl", "-qw", `${k}=${v}`]);
    await warmUp(tb);
    const journalDir = `${tb.dir}/journal`;
    await fn(tb, journalDir);
  } finally {
    await tb.destroy();
  }
}

/** Journal files left in `dir` (the lock file stays by design). */
function journalsIn(dir: string) {
  return [...Deno.readDirSync(dir)].map((d) => d.name).filter((n) => n.startsWith("journal-"));
}

async function sysctls(tb: Testbed) {
  return {
    "net.ipv4.tcp_ecn": await clientSysctl(tb, "net.ipv4.tcp_ecn"),
    "net.ipv4.tcp_ecn_fallback": await clientSysctl(tb, "net.ipv4.tcp_ecn_fallback"),
  };
}

/** Starts measure ecn in the client namespace on a job file (one job per 1-worker round). */
function start(tb: Testbed, journalDir: string, extra: string[] = []) {
  const jobs = `${tb.dir}/jobs.ndjson`;
  Deno.writeTextFileSync(jobs, jobsFor(tb));
  return new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      tb.clientNs,
      PATHSPIDER,
      "measure",
      "-i",
      tb.clientIface,
      "-w",
      "2",
      "--input",
      jobs,
      ...extra,
      "ecn",
      "--timeout",
      "1",
    ],
    env: { PATHSPIDER_JOURNAL_DIR: journalDir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collects a child's stdout as text while it runs. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (c) => void (text += c) }),
  );
  return { text: () => text, done };
}

async function waitFor(pred: () => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lines of output, each parsed (a torn line would throw). */
function results(text: string) {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

Deno.test("measure restores the sysctls it changed on every exit path", async (t) => {
  await withTestbed(async (tb, journalDir) => {
    await t.step("normal end", async () => {
      const p = start(tb, journalDir);
      const out = collect(p.stdout);
      const err = collect(p.stderr);
      const st = await p.status;
      await out.done;
      await err.done;
      assert.equal(st.code, 0, err.text());
      assert.equal(results(out.text()).length, 24);
      assert.deepEqual(await sysctls(tb), BEFORE);
    });

    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
      await t.step(`${sig} mid-run: finished results flushed, settings restored`, async () => {
        // a busy interface beside the run: a ping every 5 ms (nothing may wait for quiet)
        const pinger = tb.spawn(["ping", "-q", "-i", "0.005", tb.targets[0]!.v4!]);
        const p = start(tb, journalDir);
        const out = collect(p.stdout);
        const err = collect(p.stderr);
        await waitFor(() => results(out.text()).length >= 2);
        // the experiment configuration is in force during the run
        p.kill(sig);
        const st = await p.status;
        await out.done;
        await err.done;
        assert.equal(st.code, code, err.text());
        const got = results(out.text());
        const m = err.text().match(/(\d+) jobs, (\d+) results/);
        assert.ok(m, err.text());
        assert.equal(Number(m[2]), got.length);
        assert.equal(Number(m[1]), got.length, "every job taken was written");
        assert.ok(got.length < 24, "stopped early");
        assert.deepEqual(await sysctls(tb), BEFORE);
        await pinger.stop("SIGINT");
      });
    }

    await t.step("a second SIGINT exits at once and still restores", async () => {
      const p = start(tb, journalDir);
      const out = collect(p.stdout);
      const err = collect(p.stderr);
      await waitFor(() => results(out.text()).length >= 1);
      p.kill("SIGINT");
      await waitFor(() => err.text().includes("taking no more jobs"));
      p.kill("SIGINT");
      const st = await p.status;
      await out.done;
      await err.done;
      assert.equal(st.code, 130, err.text());
      assert.match(err.text(), /again: stopped at once/);
      results(out.text());
      assert.deepEqual(await sysctls(tb), BEFORE);
    });

    await t.step(
      "a broken output pipe is one line, a non-zero exit, settings restored",
      async () => {
        const p = start(tb, journalDir);
        const err = collect(p.stderr);
        const reader = p.stdout.getReader();
        await reader.read();
        await reader.cancel();
        const st = await p.status;
        await err.done;
        assert.notEqual(st.code, 0);
        assert.match(err.text(), /^pathspider: cannot write results: /m);
        assert.doesNotMatch(err.text(), /\n\s+at /);
        assert.deepEqual(await sysctls(tb), BEFORE);
      },
    );

    await t.step("two overlapping runs: the second waits, tcp_ecn ends as it was", async () => {
      const a = start(tb, journalDir);
      const outA = collect(a.stdout);
      const errA = collect(a.stderr);
      await waitFor(() => results(outA.text()).length >= 1);
      // --no-wait: one line, exit 3, nothing changed under run A
      const refused = start(tb, journalDir, ["--no-wait"]);
      const outR = collect(refused.stdout);
      const errR = collect(refused.stderr);
      assert.equal((await refused.status).code, 3);
      await outR.done;
      await errR.done;
      assert.match(errR.text(), /^pathspider: another pathspider run \(pid \d+\) is changing/);
      assert.equal(errR.text().trim().split("\n").length, 1, errR.text());
      // the second run waits for the first to finish and restore
      const b = start(tb, journalDir);
      const outB = collect(b.stdout);
      const errB = collect(b.stderr);
      const [stA, stB] = await Promise.all([a.status, b.status]);
      await Promise.all([outA.done, errA.done, outB.done, errB.done]);
      assert.equal(stA.code, 0, errA.text());
      assert.equal(stB.code, 0, errB.text());
      assert.match(errB.text(), /waiting for it to finish/);
      assert.equal(results(outA.text()).length, 24);
      assert.equal(results(outB.text()).length, 24);
      assert.doesNotMatch(errA.text() + errB.text(), /left as it is|could not restore/);
      assert.deepEqual(await sysctls(tb), BEFORE);
    });

    await t.step("after SIGKILL the next run restores the settings and says so", async () => {
      const p = start(tb, journalDir);
      const out = collect(p.stdout);
      await waitFor(() => results(out.text()).length >= 1);
      // kill while the ECN configuration is set (between rounds it alternates)
      await waitFor(() => {
        const v = new Deno.Command("ip", {
          args: ["netns", "exec", tb.clientNs, "sysctl", "-n", "net.ipv4.tcp_ecn"],
        }).outputSync();
        return new TextDecoder().decode(v.stdout).trim() === "1";
      });
      p.kill("SIGKILL");
      await p.status;
      await out.done.catch(() => {});
      assert.equal(await clientSysctl(tb, "net.ipv4.tcp_ecn"), "1");
      assert.equal(journalsIn(journalDir).length, 1);
      // the next run, in the same namespace
      const next = new Deno.Command("ip", {
        args: ["netns", "exec", tb.clientNs, PATHSPIDER, "measure", "-i", tb.clientIface, "ecn"],
        env: { PATHSPIDER_JOURNAL_DIR: journalDir },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
      const r = await next.output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, stderr);
      assert.match(
        stderr,
        /restored net\.ipv4\.tcp_ecn_fallback=1, net\.ipv4\.tcp_ecn=0|restored net\.ipv4\.tcp_ecn=0/,
      );
      assert.match(stderr, /earlier run \(pid \d+\) that did not finish/);
      assert.deepEqual(await sysctls(tb), BEFORE);
      assert.equal(journalsIn(journalDir).length, 0);
    });

    // last: it takes the client's link down (and so its routes)
    await t.step("the interface going down mid-run: one line, results kept, restored", async () => {
      const p = start(tb, journalDir);
      const out = collect(p.stdout);
      const err = collect(p.stderr);
      await waitFor(() => results(out.text()).length >= 2);
      await tb.exec(["ip", "link", "set", tb.clientIface, "down"]);
      const st = await p.status;
      await out.done;
      await err.done;
      assert.equal(st.code, 1, err.text());
      const got = results(out.text());
      assert.ok(got.length >= 2);
      assert.match(
        err.text(),
        new RegExp(`^pathspider: interface ${tb.clientIface} went down`, "m"),
      );
      assert.doesNotMatch(err.text(), /\n\s+at |internal error|Uncaught/);
      const m = err.text().match(/(\d+) jobs, (\d+) results/);
      assert.ok(m, err.text());
      assert.equal(Number(m[2]), got.length, "every result counted was written");
      assert.deepEqual(await sysctls(tb), BEFORE);
      assert.equal(journalsIn(journalDir).length, 0);
    });
  });
});

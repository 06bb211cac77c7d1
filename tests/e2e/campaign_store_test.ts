/**
 * The JetStream side of campaigns against a real nats-server (started and removed here): job and
 * result deduplication, one consumer per vantage point shared by its workers, redelivery of the
 * jobs of a worker that vanished, `--until-done`, a server restart in the middle, status and
 * collect. The measuring engine is replaced by a loop that answers each job at once: what is
 * tested here is the queueing (campaign_work_test.ts runs real measurements).
 */
import assert from "node:assert/strict";
import { accessFrom, connectNats } from "../../src/campaign/access.ts";
import { Campaign, type CampaignDef } from "../../src/campaign/store.ts";
import { CampaignWorker, ensureVantage } from "../../src/campaign/worker.ts";
import { canonicalJson, jobId } from "../../src/campaign/names.ts";
import { NatsServer } from "./lib/nats.ts";
import { createUser } from "@nats-io/nkeys";
import type { FedJob } from "../../src/spider/feeder.ts";

function def(name: string, ackWaitSec = 30): CampaignDef {
  return {
    campaign: name,
    plugin: "dscp",
    args: ["--codepoint", "42"],
    options: { codepoint: 42 },
    ackWaitSec,
    created: new Date().toISOString(),
    tool: "test",
  };
}

async function* fed(jobs: Record<string, unknown>[]): AsyncGenerator<FedJob> {
  let line = 0;
  for (const job of jobs) yield { job: job as FedJob["job"], line: ++line };
}

function jobs(from: number, to: number): Record<string, unknown>[] {
  return Array.from(
    { length: to - from },
    (_, i) => ({ dip: `198.19.0.${from + i}`, n: from + i }),
  );
}

async function withServer(fn: (s: NatsServer) => Promise<void>) {
  const s = await NatsServer.start();
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

async function open(s: NatsServer, name: string, keepTrying = false) {
  const nc = await connectNats(accessFrom({ server: s.url }, () => undefined), {
    name: "test",
    keepTrying,
  });
  return { nc, c: await Campaign.open(nc, name) };
}

/** Runs a worker whose "measurement" answers every job after `delayMs`; resolves at its end. */
async function answer(w: CampaignWorker, delayMs = 0, onJob?: (n: number) => void) {
  let n = 0;
  const pending: Promise<void>[] = [];
  for await (const { job } of w.jobs()) {
    onJob?.(++n);
    pending.push(
      new Promise<void>((r) => setTimeout(r, delayMs)).then(() =>
        w.write({ ...job, conditions: [`seen.${job.n}`] })
      ),
    );
  }
  await Promise.all(pending);
  await w.drain();
}

/** Collected results, parsed. */
async function collect(c: Campaign): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const dec = new TextDecoder();
  await c.collect((d) => out.push(JSON.parse(dec.decode(d))));
  return out;
}

function worker(c: Campaign, d: CampaignDef, vantage: string) {
  return new CampaignWorker(c, d, {
    vantage,
    buffer: 4,
    untilDone: true,
    idleCheckSec: 0.3,
    say: () => {},
  });
}

Deno.test("job ids ignore key order; jobs and results are stored once; add after collect adds only new jobs", async () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  assert.equal(jobId({ dip: "198.19.0.1", dp: 80 }), jobId({ dp: 80, dip: "198.19.0.1" }));
  assert.notEqual(jobId({ dip: "198.19.0.1", dp: 80 }), jobId({ dip: "198.19.0.1", dp: 443 }));
  await withServer(async (s) => {
    const { nc, c } = await open(s, "t1");
    try {
      assert.deepEqual((await c.create(def("t1"))).existed, false);
      assert.deepEqual((await c.create(def("t1"))).existed, true);
      await assert.rejects(
        () => c.create({ ...def("t1"), args: ["--codepoint", "46"] }),
        /exists with another measurement: dscp --codepoint 42/,
      );
      const first = jobs(1, 21);
      // the same job twice in one add, with its keys in another order
      const twice = [...first, { n: 3, dip: "198.19.0.3" }];
      assert.deepEqual(await c.add(fed(twice)), { added: 20, known: 1 });
      assert.equal(await c.jobCount(), 20);

      const d = await c.definition();
      for (const v of ["east", "west"]) await ensureVantage(c, d, v);
      await Promise.all([answer(worker(c, d, "east")), answer(worker(c, d, "west"))]);
      let results = await collect(c);
      assert.equal(results.length, 40);
      const keys = new Set(results.map((r) => `${r.vantage}/${r.job_id}`));
      assert.equal(keys.size, 40);
      for (const r of results) {
        assert.deepEqual(r.conditions, [`seen.${r.n}`]);
        assert.equal(r.job_id, jobId({ dip: r.dip, n: r.n }));
      }
      // a second result for the same (vantage, job) is refused by the stream
      const w = worker(c, d, "east");
      w.write({ ...results[0], vantage: undefined, conditions: ["other"] });
      await w.drain();
      assert.equal(w.stats.alreadyStored, 1);
      assert.equal((await collect(c)).length, 40);

      // after collect: the old jobs again plus ten new ones
      assert.deepEqual(await c.add(fed(jobs(1, 31))), { added: 10, known: 20 });
      await Promise.all([answer(worker(c, d, "east")), answer(worker(c, d, "west"))]);
      results = await collect(c);
      assert.equal(results.length, 60);
      const st = await c.status();
      assert.equal(st.jobs, 30);
      assert.equal(st.results, 60);
      assert.deepEqual(
        st.vantages.map((v) => [v.vantage, v.done, v.inFlight, v.left]),
        [["east", 30, 0, 0], ["west", 30, 0, 0]],
      );
      for (const v of st.vantages) {
        assert.ok(v.rate > 0, "results of the last minute give a rate");
        assert.ok(v.lastSeen !== undefined && Date.now() - v.lastSeen.getTime() < 60_000);
      }
    } finally {
      await nc.close();
    }
  });
});

Deno.test("a worker that vanishes with jobs in hand leaves them to the other worker of its vantage point", async () => {
  await withServer(async (s) => {
    const { nc, c } = await open(s, "t2");
    const dying = await open(s, "t2");
    try {
      await c.create(def("t2", 2));
      await c.add(fed(jobs(1, 41)));
      const d = await c.definition();
      await ensureVantage(c, d, "v");
      // the first worker takes jobs but never answers; its connection then drops
      const w1 = new CampaignWorker(dying.c, d, {
        vantage: "v",
        buffer: 8,
        untilDone: false,
        say: () => {},
      });
      let held = 0;
      for await (const _ of w1.jobs()) if (++held === 8) break;
      assert.equal(w1.held, 8);
      await dying.nc.close();
      const w2 = worker(c, d, "v");
      await answer(w2, 5);
      const results = await collect(c);
      assert.equal(results.length, 40);
      assert.equal(new Set(results.map((r) => r.job_id)).size, 40);
      const st = await c.status();
      assert.deepEqual(st.vantages.map((v) => [v.done, v.inFlight, v.left]), [[40, 0, 0]]);
      // the eight it held went to the other worker
      assert.equal(w2.stats.taken, 40);
    } finally {
      await nc.close();
      if (!dying.nc.isClosed()) await dying.nc.close();
    }
  });
});

Deno.test("a worker started before any job waits; a server restart mid-run loses nothing", async () => {
  await withServer(async (s) => {
    const { nc, c } = await open(s, "t3", true);
    try {
      await c.create(def("t3", 5));
      const d = await c.definition();
      await ensureVantage(c, d, "v");
      const w = new CampaignWorker(c, d, {
        vantage: "v",
        buffer: 4,
        untilDone: false,
        say: () => {},
      });
      let restarted: Promise<void> | undefined;
      const running = answer(w, 20, (n) => {
        // half way: the server goes down for a second and comes back
        if (n === 30) restarted = s.restart(1000);
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(w.stats.taken, 0, "no job yet: the worker waits");
      const { nc: nc2, c: c2 } = await open(s, "t3");
      await c2.add(fed(jobs(1, 61)));
      await nc2.close();
      // until all 60 are stored (the worker does not end by itself without --until-done)
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        if (restarted === undefined) continue;
        await restarted;
        const st = await c.status().catch(() => undefined);
        if (st?.vantages[0]?.done === 60) break;
      }
      await w.drain();
      await running;
      assert.ok(restarted !== undefined, "the server was restarted");
      const results = await collect(c);
      assert.equal(results.length, 60);
      assert.equal(new Set(results.map((r) => r.job_id)).size, 60);
    } finally {
      await nc.close();
    }
  });
});

/**
 * Runs `fn` while a connection reset is not an uncaught error: when a server refuses a client
 * (credentials, TLS), the NATS client rejects the connect, and its socket, which no longer has an
 * error handler, then sees the server's reset. A command exits before it; a test process goes on.
 */
async function refusedConnects(fn: () => Promise<void>) {
  const onError = (e: ErrorEvent) => {
    if ((e.error as { code?: string })?.code === "ECONNRESET") e.preventDefault();
  };
  globalThis.addEventListener("error", onError);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    globalThis.removeEventListener("error", onError);
  }
}

Deno.test("a server with a password: refused without it, reached with it from a file", async () => {
  await refusedConnects(async () => {
    const s = await NatsServer.start({ extraArgs: ["--user", "pscuser", "--pass", "pscpass"] });
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        () => connectNats(accessFrom({ server: s.url }, () => undefined), { name: "t" }),
        (e: Error & { code?: number }) => e.code === 3 && /cannot connect to NATS/.test(e.message),
      );
      await Deno.writeTextFile(`${dir}/pw`, "pscpass\n");
      const a = accessFrom(
        { server: s.url, user: "pscuser", passwordFile: `${dir}/pw` },
        () => undefined,
      );
      const nc = await connectNats(a, { name: "t" });
      try {
        const c = await Campaign.open(nc, "auth");
        assert.equal((await c.create(def("auth"))).existed, false);
      } finally {
        await nc.close();
      }
    } finally {
      await s.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("tls:// reaches a TLS server verified with --tls-ca; refused where TLS is missing", async () => {
  await refusedConnects(async () => {
    const dir = await Deno.makeTempDir();
    const cert = `${dir}/cert.pem`, key = `${dir}/key.pem`;
    const openssl = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        // Deno's node:tls checks a certificate for an address URL against "localhost"
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(openssl.success, new TextDecoder().decode(openssl.stderr));
    const tls = await NatsServer.start({
      extraArgs: ["--tls", "--tlscert", cert, "--tlskey", key],
    });
    const plain = await NatsServer.start();
    try {
      const url = `tls://127.0.0.1:${tls.port}`;
      const nc = await connectNats(accessFrom({ server: url, tlsCa: cert }, () => undefined), {
        name: "t",
      });
      try {
        const c = await Campaign.open(nc, "tls");
        assert.equal((await c.create(def("tls"))).existed, false);
      } finally {
        await nc.close();
      }
      // the same server without the CA: the certificate is not trusted
      await assert.rejects(
        () => connectNats(accessFrom({ server: url }, () => undefined), { name: "t" }),
        (e: Error & { code?: number }) => e.code === 3,
      );
      // tls:// to a server that offers no TLS: refused rather than sent in the clear
      await assert.rejects(
        () =>
          connectNats(
            accessFrom({ server: `tls://127.0.0.1:${plain.port}`, tlsCa: cert }, () => undefined),
            { name: "t" },
          ),
        (e: Error & { code?: number }) => e.code === 3,
      );
    } finally {
      await tls.stop();
      await plain.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("a server with a token: reached with the token from NATS_TOKEN", async () => {
  await refusedConnects(async () => {
    const s = await NatsServer.start({ extraArgs: ["--auth", "psc-token-1"] });
    try {
      await assert.rejects(
        () => connectNats(accessFrom({ server: s.url }, () => undefined), { name: "t" }),
        (e: Error & { code?: number }) => e.code === 3,
      );
      const env = (n: string) => n === "NATS_TOKEN" ? "psc-token-1" : undefined;
      const nc = await connectNats(accessFrom({ server: s.url }, env), { name: "t" });
      await nc.close();
    } finally {
      await s.stop();
    }
  });
});

Deno.test("a server that knows a user by nkey: reached with --nkey (a seed file)", async () => {
  await refusedConnects(async () => {
    const user = createUser();
    const dir = await Deno.makeTempDir();
    const conf = `${dir}/nats.conf`;
    await Deno.writeTextFile(
      conf,
      `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
    );
    await Deno.writeFile(`${dir}/seed`, user.getSeed(), { mode: 0o600 });
    const s = await NatsServer.start({ extraArgs: ["-c", conf] });
    try {
      await assert.rejects(
        () => connectNats(accessFrom({ server: s.url }, () => undefined), { name: "t" }),
        (e: Error & { code?: number }) => e.code === 3,
      );
      const nc = await connectNats(
        accessFrom({ server: s.url, nkey: `${dir}/seed` }, () => undefined),
        { name: "t" },
      );
      try {
        const c = await Campaign.open(nc, "nk");
        assert.equal((await c.create(def("nk"))).existed, false);
      } finally {
        await nc.close();
      }
    } finally {
      await s.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

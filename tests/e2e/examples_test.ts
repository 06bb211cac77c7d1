/**
 * examples/targets/pipeline.sh, the dnsresolv -> filter -> measure -> report pipeline of the
 * README, run as written on the testbed (its NSD as the resolver, its private addresses allowed).
 */
import assert from "node:assert/strict";
import { NET, run, Testbed } from "./lib/testbed.ts";
import { PATHSPIDER, warmUp } from "./measure_run.ts";

const PIPELINE = new URL("../../examples/targets/pipeline.sh", import.meta.url).pathname;

Deno.test("the example pipeline resolves, filters, measures with metadata and reports", async () => {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [{ name: "one" }, { name: "two", v6: false }],
  });
  const dir = await Deno.makeTempDir({ prefix: "pspipe-" });
  try {
    await warmUp(tb);
    await Deno.writeTextFile(`${dir}/list.csv`, "1,one.example.test\n2,two.example.test\n");
    const r = await run(["ip", "netns", "exec", tb.clientNs, PIPELINE], {
      timeoutMs: 120_000,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        PATHSPIDER,
        LIST: `${dir}/list.csv`,
        IFACE: tb.clientIface,
        PLUGIN: "dscp --connect tcp",
        VANTAGE: "testbed",
        OUT: `${dir}/out`,
        RESOLVER: NET.server4,
        FILTER_OPTS: "--allow-private",
        RATE: "50",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const files = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name.replace(/^[^.]+/, "X"))
      .sort();
    assert.deepEqual(files, [
      "X.jobs.ndjson",
      "X.metadata.json",
      "X.ndjson",
      "X.report.txt",
      "X.resolved.ndjson",
    ]);
    const out = [...Deno.readDirSync(`${dir}/out`)].find((e) => /^[^.]+\.ndjson$/.test(e.name))!;
    const results = (await Deno.readTextFile(`${dir}/out/${out.name}`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    // one: IPv4 and IPv6; two: IPv4 only; every one with the port filter added and the rank kept
    assert.equal(results.length, 3);
    for (const x of results) {
      assert.equal(x.dp, 80);
      assert.deepEqual(x.conditions[0], "dscp.46.connectivity.works");
    }
    const meta = JSON.parse(
      await Deno.readTextFile(`${dir}/out/${out.name.replace(".ndjson", ".metadata.json")}`),
    );
    assert.equal(meta.vantage, "testbed");
    assert.equal(meta.exit_status, 0);
    assert.equal(meta.rate, 50);
    // the report is what report prints: it names the plugin's conditions
    assert.match(r.stdout, /dscp\.46\.connectivity\.works/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await tb.destroy();
  }
});

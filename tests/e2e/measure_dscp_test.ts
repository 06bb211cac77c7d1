/**
 * `pathspider measure dscp` on the testbed, in every connection mode, against targets whose
 * path behaviour is known, for IPv4 and IPv6.
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { jobsFor, measure, type Result, resultOf, warmUp } from "./measure_run.ts";

async function withTestbed(fn: (tb: Testbed) => Promise<void>) {
  const tb = await Testbed.create({
    servers: ["http", "dns"],
    targets: [
      { name: "clean" },
      { name: "bleach", behaviour: ["bleach-dscp"] },
      { name: "noef", behaviour: ["drop-dscp46"] },
      { name: "remark", behaviour: ["remark-replies"] },
      { name: "offline", behaviour: ["offline"] },
    ],
  });
  try {
    await warmUp(tb);
    await fn(tb);
  } finally {
    await tb.destroy();
  }
}

/** Expected conditions of `name` with codepoint `cp` (the same for IPv4 and IPv6). */
function expected(name: string, cp: number): string[] {
  switch (name) {
    case "clean":
    // bleaching happens after our vantage point and the servers do not reflect the DSCP:
    // the same view as a clean path
    case "bleach": // falls through
      return [`dscp.${cp}.connectivity.works`, "dscp.0.replymark:0", `dscp.${cp}.replymark:0`];
    case "noef":
      return cp === 46
        ? [`dscp.46.connectivity.broken`, "dscp.0.replymark:0"]
        : [`dscp.${cp}.connectivity.works`, "dscp.0.replymark:0", `dscp.${cp}.replymark:0`];
    case "remark":
      // AF11 = 10 on every reply
      return [`dscp.${cp}.connectivity.works`, "dscp.0.replymark:10", `dscp.${cp}.replymark:10`];
    case "offline":
      return [`dscp.${cp}.connectivity.offline`];
  }
  throw new Error(name);
}

/**
 * The original builds the reply-mark prefix as `str(syn_mark or data_mark)`: Python's `0 or None`
 * is None, so a baseline with a SYN but no data seen forward (a bare handshake, UDP) reads
 * "dscp.None.", and a reply mark of 0 on the SYN-ACK alone gives no condition at all.
 */
function adjust(want: string[], mode: string): string[] {
  if (mode === "tcp") {
    // no data either way: `0 or None` → None, so replymark 0 vanishes, 10 stays under "None"
    return want.filter((c) => !c.endsWith("replymark:0")).map((c) =>
      c.startsWith("dscp.0.") ? c.replace("dscp.0.", "dscp.None.") : c
    );
  }
  // http, dnstcp and dnsudp (no SYN: the marks come from the datagrams) see data both ways
  return want;
}

function check(tb: Testbed, results: Result[], mode: string, cp: number) {
  for (const name of ["clean", "bleach", "noef", "remark", "offline"]) {
    for (const fam of [4, 6] as const) {
      const r = resultOf(results, tb, name, fam);
      assert.deepEqual(r.conditions, adjust(expected(name, cp), mode), `${mode} ${name} IPv${fam}`);
    }
  }
}

Deno.test("measure dscp finds each path's DSCP behaviour in every mode", async (t) => {
  await withTestbed(async (tb) => {
    for (const mode of ["http", "tcp", "dnsudp", "dnstcp"]) {
      await t.step(`mode ${mode}`, async () => {
        const jobs = jobsFor(tb);
        const out = await measure(tb, ["dscp", "--connect", mode, "--timeout", "2"], jobs);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.results.length, 10, out.stderr);
        check(tb, out.results, mode, 46);
        assert.match(out.stderr, /10 jobs, 10 results, .* 0 unobserved flows/);
      });
    }
  });
});

Deno.test("measure dscp --codepoint marks the experiment's packets with that codepoint", async () => {
  await withTestbed(async (tb) => {
    const out = await measure(
      tb,
      ["--output-flows", "dscp", "--codepoint", "42", "--timeout", "2"],
      jobsFor(tb, ["clean", "noef"]),
    );
    assert.equal(out.code, 0, out.stderr);
    for (const name of ["clean", "noef"]) {
      for (const fam of [4, 6] as const) {
        assert.deepEqual(resultOf(out.results, tb, name, fam).conditions, expected(name, 42));
      }
    }
    const flows = resultOf(out.results, tb, "clean", 6).flow_results as Record<string, unknown>[];
    assert.deepEqual(flows.map((f) => [f.dscp_mark_syn_fwd, f.dscp_mark_data_fwd]), [[0, 0], [
      42,
      42,
    ]]);
  });
});

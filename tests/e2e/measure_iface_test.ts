/** `measure` refuses an interface that is down with one clear line (in a fresh namespace). */
import assert from "node:assert/strict";
import { run } from "./lib/testbed.ts";
import { PATHSPIDER } from "./measure_run.ts";

Deno.test("measure on an interface that is down is one clear line", async () => {
  const ns = `psh4d${Deno.pid % 100000}`;
  await run(["ip", "netns", "add", ns], { check: true });
  try {
    // a new namespace's loopback starts down
    const r = await run(["ip", "netns", "exec", ns, PATHSPIDER, "measure", "-i", "lo", "ecn"], {
      stdin: '{"dip":"198.18.0.1"}\n',
    });
    assert.equal(r.code, 3);
    assert.equal(r.stderr.trim(), "pathspider: interface lo is not up; cannot measure on it");
    assert.equal(r.stdout, "");
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
});

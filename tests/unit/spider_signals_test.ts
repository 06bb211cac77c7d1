/**
 * The run's signal handling (src/spider/signals.ts), in a child process that signals itself:
 * SIGHUP stops like SIGTERM, a second signal exits at once after the last actions, and a run
 * that does not end within its grace time after a signal is stopped as by a second one.
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";

const url = new URL("../../src/spider/signals.ts", import.meta.url).href;

async function child(body: string) {
  const code = `
    import { StopSignals } from "${url}";
    const signals = StopSignals.install((l) => console.error(l.trim()));
    signals.lastAction(() => console.log("flushed"));
    signals.lastAction(() => console.log("restored"));
    ${body}
    await new Promise(() => setInterval(() => {}, 1000)); // a run that does not end by itself
  `;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a second signal runs the last actions, latest first, and exits 128+n of the first", async () => {
  const r = await child(`
    signals.onStop((sig) => console.error("stop " + sig));
    Deno.kill(Deno.pid, "SIGHUP");
    await new Promise((r) => setTimeout(r, 200));
    Deno.kill(Deno.pid, "SIGINT");
  `);
  assertEquals(r.code, 129);
  assertEquals(r.stdout, "restored\nflushed\n");
  assertMatch(r.stderr, /SIGHUP: taking no more jobs/);
  assertMatch(r.stderr, /stop SIGHUP/);
  assertMatch(r.stderr, /SIGINT again: stopped at once/);
});

Deno.test("a run that does not end within its grace time after a signal is stopped", async () => {
  const r = await child(`
    signals.graceMs = 300;
    Deno.kill(Deno.pid, "SIGTERM");
  `);
  assertEquals(r.code, 143);
  assertEquals(r.stdout, "restored\nflushed\n");
  assertMatch(r.stderr, /did not end within 0 s of SIGTERM: stopped at once/);
});

Deno.test("a failure stops the run once; a signal after it stops at once", async () => {
  const r = await child(`
    signals.onStop(() => console.error("stop"));
    signals.fail("interface x went down");
    signals.fail("twice");
    await new Promise((r) => setTimeout(r, 100));
    Deno.kill(Deno.pid, "SIGTERM");
  `);
  assertEquals(r.code, 143);
  assertEquals(r.stdout, "restored\nflushed\n");
  assertEquals(r.stderr.match(/stopping/g)?.length, 1);
  assertMatch(r.stderr, /interface x went down; stopping/);
  assertMatch(r.stderr, /^stop$/m);
  assertMatch(r.stderr, /SIGTERM again: stopped at once/);
});

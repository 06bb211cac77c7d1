/**
 * Connection-helper rate: N `http` (or another mode) connections at concurrency C from the
 * testbed's client namespace to nginx/NSD in its server namespace, through the socket reactor.
 *
 *   deno run -A bench/connect_rate.ts [mode=http] [n=1000] [concurrency=200]
 *
 * Prints one JSON line: mode, n, concurrency, ok count, elapsed ms, connections per second.
 * @module
 */
import { cleanupStale, Testbed } from "../tests/e2e/lib/testbed.ts";
import { run } from "../tests/e2e/lib/netns.ts";

const [mode = "http", nText = "1000", cText = "200"] = Deno.args;
const n = Number(nText), concurrency = Number(cText);
const DENO = new URL("../.tools/bin/deno", import.meta.url).pathname;
const DRIVER = new URL("../tests/e2e/connect_driver.ts", import.meta.url).pathname;

await cleanupStale("psh5b");
const tb = await Testbed.create({ prefix: "psh5b", targets: [{ name: "www" }] });
try {
  const www = tb.target("www");
  const calls = Array.from({ length: n }, () => ({
    mode,
    job: { dip: www.v4, domain: www.domain },
    timeoutMs: 10_000,
  }));
  const r = await run(tb.clientArgv([DENO, "run", "-A", DRIVER]), {
    stdin: JSON.stringify({ calls, concurrency }),
    timeoutMs: 300_000,
  });
  if (r.code !== 0) throw new Error(`driver failed: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout) as { results: { spdr_state: number }[]; elapsedMs: number };
  const ok = out.results.filter((x) => x.spdr_state === 0).length;
  const states: Record<string, number> = {};
  for (const x of out.results) states[x.spdr_state] = (states[x.spdr_state] ?? 0) + 1;
  console.error(JSON.stringify(states));
  console.log(JSON.stringify({
    mode,
    n,
    concurrency,
    ok,
    elapsedMs: Math.round(out.elapsedMs),
    perSecond: Math.round(n / (out.elapsedMs / 1000)),
  }));
} finally {
  await tb.destroy();
}

/**
 * `report --html` in a real browser: Debian's chromium, headless (scripts/install-deps.sh
 * installs it). The page must load with no console message and no script error, draw every
 * chart it announces (as SVG), and reference nothing outside itself.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const FIX = new URL("../report/fixtures/", import.meta.url).pathname;
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

function chromium(): string {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  throw new Error(
    "chromium is missing: the report --html test needs it (scripts/install-deps.sh installs it)",
  );
}

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Loads `page` in headless chromium; returns the DOM after load and chromium's log. */
async function load(page: string) {
  const profile = await Deno.makeTempDir();
  try {
    return await run(chromium(), [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      "--enable-logging=stderr",
      "--log-level=0",
      "--window-size=1280,2000",
      "--dump-dom",
      `file://${page}`,
    ]);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

Deno.test("report --html renders in chromium with its charts and no console message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const page = `${dir}/report.html`;
    const r = await run(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "report",
      "--html",
      page,
      "--compare",
      "--by",
      "prefix",
      `${FIX}ours_dscp.ndjson`,
      `${FIX}orig_dscp.ndjson`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const html = await Deno.readTextFile(page);
    // self-contained: no script, style, image or frame fetched from anywhere
    assert(!/<script[^>]*\bsrc=/i.test(html), "an external script");
    const markup = html.replace(/<script[^>]*>[\s\S]*?<\/script>/gi, "");
    assert(!/<(img|iframe)[^>]+src=|<link[^>]+href=/i.test(markup), "an external resource");
    const b = await load(page);
    assertEquals(b.code, 0, b.stderr.slice(-2000));
    const console = b.stderr.split("\n").filter((l) => l.includes(":CONSOLE"));
    assertEquals(console, [], "console messages");
    const body = /<body data-errors="(\d+)" data-charts="(\d+)">/.exec(b.stdout);
    assert(body !== null, "the page's script did not run");
    assertEquals(body[1], "0");
    // dscp (the one plugin), quality, the series (two files), --by prefix, the matrix
    assertEquals(body[2], "5");
    for (
      const id of ["chart-plugin-0", "chart-quality", "chart-series", "chart-by", "chart-matrix"]
    ) {
      const at = b.stdout.indexOf(`id="${id}"`);
      assert(at >= 0, `${id} missing`);
      const next = b.stdout.indexOf('class="chart"', at + 1);
      const svg = b.stdout.indexOf("<svg", at);
      assert(svg > at && (next < 0 || svg < next), `${id} has no SVG`);
    }
    assert(b.stdout.includes("198.19.0.4 port 80"), "the changed targets table");
    // ours: dscp 46 broken on the EF-dropping path where the original's flows were not observed
    assert(
      !b.stdout.includes("Path dependence"),
      "no target is broken in one run, works in the other",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

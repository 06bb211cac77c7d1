/**
 * Prints how each golden run compares with the original: equal as printed (only `_idle_bin`
 * dropped), equal after the field-level normalisers, equal to the patched original, or judged by
 * the sanity checks where the original hung. The test (golden_test.ts) is what passes or fails;
 * this is the breakdown for a report.
 *
 *     .tools/bin/deno run -A tests/pcap/golden_tally.ts [debian | crafted/ | CAPTURE]
 *
 * @module
 */

import { compareFlows, type Flow, NORMALISERS, parseFlow } from "./golden_compare.ts";
import { observeCapture } from "./golden_runner.ts";

const HERE = new URL(".", import.meta.url).pathname;
const DEBIAN_DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";

interface Entry {
  capture: string;
  chains: string[];
  status: string;
  fixture?: string;
  reference?: string;
  patches?: string[];
}

async function read(name: string): Promise<Flow[]> {
  const path = `${HERE}golden/${name}`;
  const text = name.endsWith(".gz")
    ? await new Response(
      (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip")),
    ).text()
    : await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map(parseFlow);
}

function normalised(flows: Flow[], ids: string[], chains: string[]): Flow[] {
  for (const n of NORMALISERS) {
    if (ids.includes(n.id) && n.appliesTo(chains)) flows.forEach((f) => n.apply(f));
  }
  return flows;
}

// an optional argument keeps the captures whose name starts with it (e.g. "crafted/")
const only = Deno.args[0] ?? "";
const manifest: Entry[] = (JSON.parse(
  await Deno.readTextFile(`${HERE}golden/manifest.json`),
) as Entry[]).filter((e) =>
  e.capture.startsWith(only) || (only === "debian" && !e.capture.startsWith("crafted/"))
);
const tally = new Map<string, number>();
const bump = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
for (const e of manifest) {
  const path = e.capture.startsWith("crafted/")
    ? `${HERE}${e.capture}`
    : `${DEBIAN_DATA}/${e.capture}`;
  const ours = observeCapture(path, e.chains).map(parseFlow);
  const all = NORMALISERS.map((n) => n.id);
  if (e.status === "ok") {
    if (!compareFlows(normalised(await read(e.fixture!), ["idle-bin"], e.chains), ours)) {
      bump("equal to the original (only _idle_bin dropped)");
      continue;
    }
    if (!compareFlows(normalised(await read(e.fixture!), all, e.chains), ours)) {
      bump("equal to the original after the field normalisers (FIN swap)");
      continue;
    }
  }
  const hung = e.status === "ok" ? "" : "original hung; ";
  if (e.reference) {
    const equal = !compareFlows(normalised(await read(e.reference), all, e.chains), ours);
    bump(`${hung}${equal ? "equal" : "DIFFERENT"} to the original patched with ${e.patches}`);
  } else {
    bump(e.status === "ok" ? "DIFFERENT" : `${hung}no patch: sanity checks only`);
  }
}
console.log(`${manifest.length} runs`);
for (const [k, v] of [...tally].sort((a, b) => b[1] - a[1])) {
  console.log(`${String(v).padStart(5)}  ${k}`);
}

/**
 * Golden comparison: our `observe` against the original PATHspider's, on every capture and chain
 * selection of tests/pcap/golden/manifest.json (written by make_golden.py from the original).
 *
 * Most runs use the observer library in-process (fast); a handful go through the real command
 * line (`bin/pathspider observe -i FILE --output OUT CHAINS`). Flows are compared as multisets
 * (the original's order within a 1-second bin is Python set order), field by field, numbers as
 * printed; the original's documented bugs are undone first (golden_compare.ts NORMALISERS, each
 * pointing to docs/differences.md). Where the original hung, we must finish, and print sane
 * flows that include every flow the original printed before it hung.
 *
 * Needs Debian's sample captures (package `pathspider`, /usr/lib/python3/dist-packages/
 * pathspider/tests/data) and the built capture library.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { compareFlows, type Flow, normalise, parseFlow } from "./golden_compare.ts";
import { observeCapture } from "./golden_runner.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const DEBIAN_DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";

interface Entry {
  capture: string;
  selection: string;
  chains: string[];
  status: "ok" | "hang" | "error";
  packets: number;
  flows: number;
  fixture?: string;
  partial?: string;
  reason?: string;
  /** Patches of peer_patched.py that changed the original's output (documented differences). */
  patches?: string[];
  /** The patched original's output, compared instead of `fixture`. */
  reference?: string;
  reference_status?: "ok" | "hang" | "error";
}

const manifest: Entry[] = JSON.parse(
  await Deno.readTextFile(`${HERE}golden/manifest.json`),
);

function capturePath(capture: string): string {
  return capture.startsWith("crafted/") ? `${HERE}${capture}` : `${DEBIAN_DATA}/${capture}`;
}

async function readFixture(name: string): Promise<string[]> {
  const path = `${HERE}golden/${name}`;
  let text: string;
  if (name.endsWith(".gz")) {
    const file = await Deno.open(path);
    text = await new Response(file.readable.pipeThrough(new DecompressionStream("gzip"))).text();
  } else {
    text = await Deno.readTextFile(path);
  }
  return text.split("\n").filter((l) => l !== "");
}

function where(e: Entry): string {
  const patched = e.reference ? `, against the original patched with ${e.patches!.join(", ")}` : "";
  return `capture ${e.capture}, selection ${e.selection} (${e.chains.join(" ")})${patched}`;
}

/** Fields every flow of a selection must have (the chains' fields, as the original's). */
const FIELDS: Record<string, string[]> = {
  basic: ["sip", "dip", "proto", "sp", "dp", "pkt_fwd", "pkt_rev", "oct_fwd", "oct_rev"],
  dns: ["dns_response_valid"],
  icmp: ["icmp_unreachable"],
  mss: ["mss_len_fwd", "mss_len_rev", "mss_value_fwd", "mss_value_rev"],
  tfo: [
    "tfo_synkind",
    "tfo_ackkind",
    "tfo_synclen",
    "tfo_ackclen",
    "tfo_seq",
    "tfo_dlen",
    "tfo_ack",
  ],
};

/** Checks our flows of a run the original never finished. */
async function checkHang(e: Entry, ours: Flow[]): Promise<void> {
  for (const f of ours) {
    for (const k of ["pkt_first", "pkt_last", ...e.chains.flatMap((c) => FIELDS[c] ?? [])]) {
      assert(f.values.has(k), `${where(e)}: our flow lacks ${k}: ${f.line}`);
    }
  }
  const packets = ours.reduce(
    (n, f) => n + Number(f.values.get("pkt_fwd")) + Number(f.values.get("pkt_rev")),
    0,
  );
  assert(packets <= e.packets, `${where(e)}: our flows count ${packets} > ${e.packets} packets`);
  if (e.partial) {
    // what the original printed before it hung must be among ours
    const before = (await readFixture(e.partial)).map(parseFlow);
    normalise(before, e.chains);
    const mismatch = compareFlows(before, ours);
    if (mismatch && mismatch.missing > 0) {
      throw new Error(
        `${where(e)}: ${mismatch.missing} flow(s) the original printed before it hung are ` +
          `not in ours; ${mismatch.first}`,
      );
    }
  }
}

async function checkEntry(e: Entry, ours: Flow[]): Promise<void> {
  const golden = e.reference ?? (e.status === "ok" ? e.fixture : undefined);
  if (golden === undefined) return await checkHang(e, ours);
  const expected = (await readFixture(golden)).map(parseFlow);
  const used = normalise(expected, e.chains);
  const mismatch = compareFlows(expected, ours);
  if (mismatch) {
    throw new Error(
      `${where(e)}: ${mismatch.missing} of ${expected.length} original flows unmatched, ` +
        `${mismatch.extra} of ${ours.length} of ours unmatched (normalised: ${used.join(", ")})\n` +
        `first difference: ${mismatch.first}`,
    );
  }
}

// One test step per capture; the selections of a capture run in-process.
const byCapture = new Map<string, Entry[]>();
for (const e of manifest) {
  const list = byCapture.get(e.capture);
  if (list) list.push(e);
  else byCapture.set(e.capture, [e]);
}

Deno.test("observe prints the original's flows for every sample capture and chain selection", async (t) => {
  try {
    await Deno.stat(DEBIAN_DATA);
  } catch {
    throw new Error(`${DEBIAN_DATA} is missing: install the Debian package 'pathspider'`);
  }
  const failures: string[] = [];
  for (const [capture, entries] of byCapture) {
    await t.step(capture, async () => {
      const here: string[] = [];
      for (const e of entries) {
        try {
          const lines = observeCapture(capturePath(capture), e.chains);
          await checkEntry(e, lines.map(parseFlow));
        } catch (err) {
          here.push(err instanceof Error ? err.message : String(err));
        }
      }
      failures.push(...here);
      if (here.length > 0) throw new Error(here.join("\n\n"));
    });
  }
  if (failures.length > 0) {
    throw new Error(
      `${manifest.length - failures.length} of ${manifest.length} runs equal; ` +
        `${failures.length} differ:\n\n${failures.join("\n\n")}`,
    );
  }
});

Deno.test("the manifest covers every sample capture and crafted capture with every selection", async () => {
  const names: string[] = [];
  for await (const f of Deno.readDir(DEBIAN_DATA)) if (f.name.endsWith(".pcap")) names.push(f.name);
  for await (const f of Deno.readDir(`${HERE}crafted`)) {
    if (f.name.endsWith(".pcap")) names.push(`crafted/${f.name}`);
  }
  const selections = new Set(manifest.map((e) => e.selection));
  assertEquals(selections.size, 12);
  const missing = names.flatMap((n) =>
    [...selections].filter((s) => !manifest.some((e) => e.capture === n && e.selection === s))
      .map((s) => `${n} ${s}`)
  );
  assertEquals(missing, []);
});

// The command line end to end on a few captures: same comparison, through a subprocess.
const CLI_RUNS: [string, string][] = [
  ["tcp_http.pcap", "all"],
  ["dns_valid_response_tcp.pcap", "basic-dns"],
  ["icmp_ttl.pcap", "all"], // pcapng
  ["crafted/opt_len0.pcap", "basic-mss"], // the original loops forever here
];

for (const [capture, selection] of CLI_RUNS) {
  const e = manifest.find((x) => x.capture === capture && x.selection === selection);
  Deno.test(`pathspider observe on ${capture} with ${selection} prints the original's flows`, async () => {
    assert(e, `${capture} ${selection} is not in the manifest`);
    const out = await Deno.makeTempFile({ suffix: ".ndjson" });
    try {
      const cmd = new Deno.Command(`${ROOT}bin/pathspider`, {
        args: ["observe", "-i", capturePath(capture), "--output", out, ...e.chains],
        stdout: "null",
        stderr: "piped",
      });
      const res = await cmd.output();
      const stderr = new TextDecoder().decode(res.stderr);
      assertEquals(res.code, 0, `observe failed: ${stderr}`);
      const lines = (await Deno.readTextFile(out)).split("\n").filter((l) => l !== "");
      await checkEntry(e, lines.map(parseFlow));
    } finally {
      await Deno.remove(out);
    }
  });
}

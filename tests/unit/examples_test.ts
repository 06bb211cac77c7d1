/**
 * The examples a user copies: the target lists read as jobs, the pipeline script parses, the
 * GitHub Actions workflow is YAML with what GitHub reads, and `systemd-analyze verify` accepts
 * the service and timer. (tests/e2e/examples_test.ts runs the pipeline on the testbed.)
 */
import assert from "node:assert/strict";
import { newFeederStats, readJobs } from "../../src/spider/feeder.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const EX = `${ROOT}examples`;

function run(cmd: string[], env: Record<string, string> = {}) {
  const out = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the example target lists are jobs measure reads, in both shapes", async () => {
  for (const [file, csv] of [["jobs.ndjson", false], ["jobs.csv", true]] as const) {
    const stats = newFeederStats();
    const jobs = [];
    const warnings: string[] = [];
    const text = await Deno.readTextFile(`${EX}/targets/${file}`);
    for await (
      const j of readJobs(new Response(text).body!, { csv, stats, warn: (m) => warnings.push(m) })
    ) jobs.push(j.job);
    assert.deepEqual(warnings, [], file);
    // the same four targets (two lines share a domain, not an address)
    assert.equal(jobs.length, 4, file);
    assert.deepEqual(jobs.map((j) => j.dip), [
      "192.0.2.10",
      "2001:db8::10",
      "198.51.100.20",
      "203.0.113.30",
    ]);
  }
  const top = (await Deno.readTextFile(`${EX}/targets/top.csv`)).trim().split("\n");
  assert.ok(top.every((l) => /^\d+,[a-z0-9.-]+$/.test(l)), "rank,domain rows");
  const sh = run(["bash", "-n", `${EX}/targets/pipeline.sh`]);
  assert.equal(sh.code, 0, sh.stderr);
});

Deno.test("the GitHub Actions workflow is YAML: a cron schedule, compile, metadata, artifacts", () => {
  const py = `import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
d["on"] = d.pop(True)  # YAML 1.1 reads the key 'on' as true
print(json.dumps(d))`;
  const r = run(["python3", "-c", py, `${EX}/ci/github-actions-measure.yml`]);
  assert.equal(r.code, 0, `python3-yaml (scripts/install-deps.sh installs it): ${r.stderr}`);
  const wf = JSON.parse(r.stdout);
  assert.match(wf.on.schedule[0].cron, /^\S+ \S+ \S+ \S+ \S+$/);
  const steps = wf.jobs.measure.steps as {
    id?: string;
    name?: string;
    run?: string;
    uses?: string;
    with?: Record<string, string>;
    if?: string;
  }[];
  const build = steps.find((s) => s.run?.includes("deno compile"));
  assert.ok(build?.run?.includes("--include capture-ffi/target/release/libpathspider_capture.so"));
  const measure = steps.find((s) => s.id === "measure" || s.name === "Measure")!;
  assert.match(measure.run!, /examples\/targets\/pipeline\.sh \|\| status=\$\?/);
  const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"))!;
  assert.equal(upload.if, "always()");
  assert.match(upload.with!.path!, /\*\.metadata\.json/);
  const gate = steps.at(-1)!;
  assert.equal(gate.if, "steps.measure.outputs.status != '0'");
  assert.match(gate.run!, /exit 1/);
  // the pipeline it runs passes --metadata to measure
  assert.match(
    Deno.readTextFileSync(`${EX}/targets/pipeline.sh`),
    /--metadata "\$run\.metadata\.json"/,
  );
});

Deno.test("systemd-analyze verify accepts the service and its timer", () => {
  const dir = Deno.makeTempDirSync({ prefix: "psunits-" });
  try {
    // `Documentation=man:pathspider(1)` is checked: the generated man page, where man finds it
    Deno.mkdirSync(`${dir}/man/man1`, { recursive: true });
    Deno.copyFileSync(`${ROOT}docs/man/pathspider.1`, `${dir}/man/man1/pathspider.1`);
    for (const u of ["pathspider-measure.service", "pathspider-measure.timer"]) {
      Deno.copyFileSync(`${EX}/ci/${u}`, `${dir}/${u}`);
    }
    const r = run([
      "systemd-analyze",
      "verify",
      `${dir}/pathspider-measure.service`,
      `${dir}/pathspider-measure.timer`,
    ], { MANPATH: `${dir}/man` });
    assert.equal(
      r.code,
      0,
      `systemd-analyze (package systemd, scripts/install-deps.sh): ${r.stderr}`,
    );
    assert.equal(r.stderr.trim(), "");
    const unit = Deno.readTextFileSync(`${EX}/ci/pathspider-measure.service`);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$/m);
    assert.match(unit, /^User=pathspider$/m);
    assert.match(unit, /--metadata/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/**
 * `make binary` (scripts/build-binary.sh) cannot download denort offline: it must stop at once
 * with one clear line instead of hanging in Deno's download.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

async function buildBinary(env: Record<string, string>, clear: string[]) {
  // an empty DENO_DIR guarantees that no cached denort is found
  const denoDir = await Deno.makeTempDir({ prefix: "pstest-denodir-" });
  const e: Record<string, string> = { ...Deno.env.toObject(), ...env, DENO_DIR: denoDir };
  for (const k of clear) delete e[k];
  const out = await new Deno.Command("bash", {
    args: [`${root}scripts/build-binary.sh`],
    env: { ...e, OUT: "/nonexistent/x" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  await Deno.remove(denoDir, { recursive: true });
  return { code: out.code, stderr, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("building the binary without DENORT_BIN or a cached denort fails with one line naming DENORT_BIN", async () => {
  const r = await buildBinary({}, ["DENORT_BIN"]);
  assert(r.code !== 0, "exit code must be non-zero");
  assert.equal(r.stderr.split("\n").length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(r.stderr, /denort .* is missing; set DENORT_BIN=/);
});

Deno.test("building the binary with DENORT_BIN pointing to a missing file fails with one line naming that path", async () => {
  const r = await buildBinary({ DENORT_BIN: "/nonexistent/denort" }, []);
  assert(r.code !== 0, "exit code must be non-zero");
  assert.equal(r.stderr.split("\n").length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(r.stderr, /DENORT_BIN=\/nonexistent\/denort is not a file/);
});

/**
 * Finding the native library: PATHSPIDER_CAPTURE_LIB or the path relative to src/ffi/, each
 * branch loading the real library (checked in /proc/self/maps of a child process), the error
 * for a variable naming a missing file, and the library's system dependencies.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  LIBRARY_ENV,
  LibraryError,
  openLibraryAt,
  resolveLibraryPath,
} from "../../src/ffi/library.ts";
import { CaptureError } from "../../src/ffi/capture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LIB = `${ROOT}capture-ffi/target/release/libpathspider_capture.so`;
const CAPTURE_TS = `${ROOT}src/ffi/capture.ts`;
const SAMPLE = "/usr/lib/python3/dist-packages/pathspider/tests/data/tcp_http.pcap";

Deno.test("without the variable the library is found relative to src/ffi/", () => {
  assertEquals(resolveLibraryPath(undefined, `file://${ROOT}src/ffi/library.ts`), LIB);
  assertEquals(resolveLibraryPath("", `file://${ROOT}src/ffi/library.ts`), LIB);
  // A compiled binary's modules live under a virtual root; the library embedded with
  // --include sits at the same relative place.
  assertEquals(
    resolveLibraryPath(undefined, "file:///tmp/deno-compile-pathspider/src/ffi/library.ts"),
    "/tmp/deno-compile-pathspider/capture-ffi/target/release/libpathspider_capture.so",
  );
});

Deno.test("the variable, when set, names the library", () => {
  assertEquals(
    resolveLibraryPath("/opt/x/lib.so", "file:///a/src/ffi/library.ts"),
    "/opt/x/lib.so",
  );
});

/** Runs a child Deno that reads SAMPLE and prints its packet count and the mapped library. */
async function child(env: Record<string, string>, clearEnv: boolean) {
  const code = `
    import { CaptureSource, PacketBatch } from ${JSON.stringify(CAPTURE_TS)};
    try {
      const s = CaptureSource.openFile(${JSON.stringify(SAMPLE)});
      const b = new PacketBatch();
      let n = 0;
      while (s.nextSync(b) >= 0) n += b.count;
      s.close();
      const maps = Deno.readTextFileSync("/proc/self/maps").split("\\n")
        .filter((l) => l.includes("libpathspider_capture"));
      console.log(JSON.stringify({ n, lib: maps[0]?.split(/\\s+/).pop() }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.message, name: e.name }));
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    env: {
      ...env,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/",
    },
    clearEnv,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(text.startsWith("{"), `child printed ${text} ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text);
}

Deno.test("each branch loads the real library", async () => {
  const rel = await child({}, true);
  assertEquals(rel.n, 43);
  assertEquals(rel.lib, LIB);
  const dir = await Deno.makeTempDir({ prefix: "ps-h1-lib-" });
  try {
    const copy = `${dir}/libpathspider_capture-copy.so`;
    await Deno.copyFile(LIB, copy);
    const viaEnv = await child({ [LIBRARY_ENV]: copy }, true);
    assertEquals(viaEnv.n, 43);
    assertEquals(viaEnv.lib, copy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a variable naming a missing file is one clear error naming the variable", async () => {
  const r = await child({ [LIBRARY_ENV]: "/nonexistent/libx.so" }, true);
  assertEquals(r.name, "LibraryError");
  assertEquals(r.error, `${LIBRARY_ENV}=/nonexistent/libx.so: no such file`);
  let err: unknown;
  try {
    openLibraryAt("/nonexistent/libx.so", false);
  } catch (e) {
    err = e;
  }
  assert(err instanceof LibraryError && err instanceof CaptureError);
  assert(err.message.includes("make lib") && !err.message.includes("\n"), err.message);
});

Deno.test("a file that is not a shared library is reported in one line", () => {
  let err: unknown;
  try {
    openLibraryAt(SAMPLE, true);
  } catch (e) {
    err = e;
  }
  assert(err instanceof LibraryError, String(err));
  assert(err.message.startsWith(`cannot open capture library ${SAMPLE}: `), err.message);
  assert(!err.message.includes("\n"));
});

Deno.test("the library needs only libc, libm, libgcc_s and the loader", async () => {
  const out = await new Deno.Command("readelf", { args: ["-d", LIB], stdout: "piped" }).output();
  const needed = [...new TextDecoder().decode(out.stdout).matchAll(/\(NEEDED\).*\[(.+)\]/g)]
    .map((m) => m[1]!);
  assert(needed.includes("libc.so.6"));
  const allowed =
    /^(libc|libm|libgcc_s|libpthread|libdl|librt|ld-linux-x86-64|ld-linux-aarch64)\.so/;
  assertEquals(needed.filter((n) => !allowed.test(n)), []);
});

Deno.test("each function is bound on its first use, and works", () => {
  const lib = openLibraryAt(LIB, false);
  const bound = (name: string) =>
    "value" in (Object.getOwnPropertyDescriptor(lib, name) ?? { get: () => 0 });
  assert(!bound("ps_last_error") && !bound("ps_capture_close"));
  const buf = new Uint8Array(64);
  const n = lib.ps_last_error(buf, buf.length);
  assert(n >= 0);
  assert(bound("ps_last_error"), "bound after its first use");
  assert(!bound("ps_capture_close"), "the others still are not");
  // a second read is the same function
  assertEquals(lib.ps_last_error, lib.ps_last_error);
});

Deno.test("a symbol the library lacks fails its first use in one line", () => {
  const lib = openLibraryAt(
    LIB,
    false,
    {
      ps_no_such_function: { parameters: [], result: "i32" },
    } as const,
  );
  let err: unknown;
  try {
    lib.ps_no_such_function();
  } catch (e) {
    err = e;
  }
  assert(err instanceof LibraryError, String(err));
  assert(err.message.includes("ps_no_such_function") && !err.message.includes("\n"), err.message);
});

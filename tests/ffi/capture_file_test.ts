/**
 * Reading capture files through the FFI: every sample capture of the original against tcpdump,
 * pcapng and nanosecond conversions, and the one-line errors for bad files.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { CaptureError, CaptureSource, PacketBatch, Status } from "../../src/ffi/capture.ts";
import { captureLibrary } from "../../src/ffi/library.ts";

const DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";

function captures(): string[] {
  return [...Deno.readDirSync(DATA)]
    .filter((e) => e.name.endsWith(".pcap"))
    .map((e) => `${DATA}/${e.name}`)
    .sort();
}

/** Runs a command and returns its stdout (stderr dropped). */
async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** The fields of one record, and its bytes in hex. */
interface Packet {
  sec: number;
  nsec: number;
  caplen: number;
  wireLen: number;
  linktype: number;
  bytes: string;
}

async function readAll(path: string, batchBytes?: number): Promise<Packet[]> {
  const src = CaptureSource.openFile(path);
  const batch = new PacketBatch(batchBytes);
  const pkts: Packet[] = [];
  try {
    while (await src.next(batch, 0) >= 0) {
      for (const off of batch.offsets()) {
        pkts.push({
          sec: batch.tsSec(off),
          nsec: batch.tsNsec(off),
          caplen: batch.caplen(off),
          wireLen: batch.wireLen(off),
          linktype: batch.linktype(off),
          bytes: Array.from(batch.frame(off), (b) => b.toString(16).padStart(2, "0")).join(""),
        });
      }
    }
    assertEquals(src.stats().received, pkts.length);
  } finally {
    src.close();
  }
  return pkts;
}

Deno.test("every sample capture reads with tcpdump's packet count and timestamps", async () => {
  const files = captures();
  assert(files.length >= 40, `expected the original's sample captures in ${DATA}`);
  for (const f of files) {
    const lines = (await run("tcpdump", "-tt", "-nn", "-r", f)).split("\n").filter((l) => l);
    const pkts = await readAll(f);
    assertEquals(pkts.length, lines.length, f);
    for (let i = 0; i < pkts.length; i++) {
      const p = pkts[i]!;
      const ts = `${p.sec}.${String(Math.floor(p.nsec / 1000)).padStart(6, "0")}`;
      assertEquals(lines[i]!.split(" ")[0], ts, `${f} packet ${i + 1}`);
      assert(p.caplen <= p.wireLen, `${f} packet ${i + 1}: caplen > wire length`);
    }
  }
});

Deno.test("a small batch buffer splits a capture across calls without losing packets", async () => {
  const f = `${DATA}/tcp_http.pcap`;
  const whole = await readAll(f);
  const small = await readAll(f, 2048);
  assertEquals(small, whole);
});

Deno.test("the pcapng and nanosecond conversions of a capture read identically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ps-h1-" });
  try {
    for (const f of ["tcp_ecn.pcap", "basic_ipv6_tcp.pcap", "mss_none.pcap"]) {
      const orig = await readAll(`${DATA}/${f}`);
      const ng = `${dir}/${f}ng`;
      const ns = `${dir}/ns-${f}`;
      await run("editcap", "-F", "pcapng", `${DATA}/${f}`, ng);
      await run("editcap", "-F", "nsecpcap", `${DATA}/${f}`, ns);
      assertEquals(new Uint32Array((await Deno.readFile(ng)).buffer, 0, 1)[0], 0x0a0d0d0a);
      assertEquals(await readAll(ng), orig, `${f} as pcapng`);
      assertEquals(await readAll(ns), orig, `${f} as nanosecond pcap`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raw-IP captures keep their link type", async () => {
  const pkts = await readAll(`${DATA}/mss_none.pcap`);
  assertEquals(pkts.map((p) => p.linktype), [101]);
  assertEquals(pkts[0]!.bytes.slice(0, 1), "4");
});

async function errorOf(path: string): Promise<CaptureError> {
  let err: unknown;
  try {
    const src = CaptureSource.openFile(path);
    const batch = new PacketBatch();
    try {
      while (await src.next(batch, 0) >= 0) { /* drain */ }
    } finally {
      src.close();
    }
  } catch (e) {
    err = e;
  }
  assert(err instanceof CaptureError, `expected a CaptureError for ${path}`);
  assert(!err.message.includes("\n"), "message is one line");
  return err;
}

Deno.test("a missing file is a one-line error naming it", async () => {
  const e = await errorOf("/nonexistent/x.pcap");
  assertEquals(e.code, Status.GENERIC);
  assert(e.message.includes("/nonexistent/x.pcap"), e.message);
});

Deno.test("a file that is not a capture is reported as such", async () => {
  const e = await errorOf(`${DATA}/webtest.csv`);
  assertEquals(e.code, Status.NOT_A_CAPTURE_FILE);
  assert(e.message.includes("not a capture file"), e.message);
  const empty = await Deno.makeTempFile();
  try {
    assertEquals((await errorOf(empty)).code, Status.NOT_A_CAPTURE_FILE);
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("a truncated capture delivers every complete packet, then reports truncation once", async () => {
  const f = `${DATA}/tcp_http.pcap`;
  const whole = await readAll(f);
  const data = await Deno.readFile(f);
  const cut = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(cut, data.subarray(0, data.length - 10));
    const src = CaptureSource.openFile(cut);
    const batch = new PacketBatch();
    let n = 0;
    try {
      await assertRejects(async () => {
        while (await src.next(batch, 0) >= 0) n += batch.count;
      }, CaptureError);
      assertEquals(n, whole.length - 1);
      assertEquals(await src.next(batch, 0), -1, "end of file after the truncation error");
    } finally {
      src.close();
    }
    const e = await errorOf(cut);
    assertEquals(e.code, Status.TRUNCATED);
    assert(e.message.startsWith(`${cut}: truncated capture file`), e.message);
  } finally {
    await Deno.remove(cut);
  }
});

Deno.test("a closed source refuses to read and closing twice is harmless", async () => {
  const src = CaptureSource.openFile(`${DATA}/mss_none.pcap`);
  src.close();
  src.close();
  await assertRejects(() => src.next(new PacketBatch(), 0), CaptureError);
});

/**
 * Starts a file's read-ahead with 2 KiB batches, and calls again once the library's thread had
 * time, so that a batch (or the end, or an error) is most likely waiting in the source.
 */
async function readAheadSettled(src: CaptureSource): Promise<void> {
  src.readAhead(2048);
  await new Promise((r) => setTimeout(r, 50));
  src.readAhead(2048);
}

Deno.test("take lends the batches nextSync copies, then reports a truncation once, read ahead or not", async () => {
  const f = `${DATA}/tcp_http.pcap`;
  const whole = await readAll(f, 2048);
  const data = await Deno.readFile(f);
  const cut = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(cut, data.subarray(0, data.length - 10));
    const files = [[f, whole], [cut, whole.slice(0, -1)]] as const;
    for (
      const [path, want, ahead] of files.flatMap(([p, w]) => [[p, w, false], [p, w, true]] as const)
    ) {
      const src = CaptureSource.openFile(path);
      if (ahead) {
        await readAheadSettled(src);
        let mixed: unknown;
        try {
          src.nextSync(new PacketBatch(4096));
        } catch (e) {
          mixed = e;
        }
        assert(mixed instanceof CaptureError, "nextSync refuses a capture read ahead");
      }
      const got: string[] = [];
      const views = new Set<PacketBatch>();
      let truncations = 0;
      try {
        for (;;) {
          let n: number;
          try {
            n = src.take(-1, 2048);
          } catch (e) {
            assert(e instanceof CaptureError && e.code === Status.TRUNCATED, String(e));
            truncations++;
            continue;
          }
          if (n < 0) break;
          const batch = src.taken;
          assertEquals(batch.count, n);
          assertEquals(batch.buf.length, 2048);
          views.add(batch);
          for (const off of batch.offsets()) got.push(`${batch.tsSec(off)}.${batch.tsNsec(off)}`);
        }
        assertEquals(src.stats().received, want.length);
      } finally {
        src.close();
      }
      assertEquals(got, want.map((p) => `${p.sec}.${p.nsec}`), `${path} ahead=${ahead}`);
      assertEquals(truncations, path === cut ? 1 : 0, path);
      // the library recycles a few buffers (3) instead of one per batch
      assert(views.size <= 3, `${views.size} distinct batches`);
    }
  } finally {
    await Deno.remove(cut);
  }
});

Deno.test("a file read with a smaller batch than its first is refused with a message", () => {
  const src = CaptureSource.openFile(`${DATA}/tcp_http.pcap`);
  try {
    assert(src.nextSync(new PacketBatch(4096)) > 0);
    const e = (() => {
      try {
        src.nextSync(new PacketBatch(2048));
      } catch (e) {
        return e;
      }
    })();
    assert(e instanceof CaptureError && e.code === Status.INVALID_ARGUMENT, String(e));
    assert(/smaller than the first one/.test(e.message), e.message);
  } finally {
    src.close();
  }
});

Deno.test("a capture's own error message survives a later failure elsewhere (ps_handle_error)", () => {
  const lib = captureLibrary();
  const out = new BigInt64Array(1);
  const path = new TextEncoder().encode(`${DATA}/tcp_ipv4_simple.pcap\0`);
  assertEquals(lib.ps_capture_open_file(path, out), 0);
  const h = out[0]!;
  const read = (n: number) => new TextDecoder().decode(buf.subarray(0, n));
  const buf = new Uint8Array(256);
  try {
    // a call on the capture fails (as a live capture's `next` would, on another thread) ...
    assertEquals(lib.ps_capture_next(h, new Uint8Array(8), 8, 0), Status.INVALID_ARGUMENT);
    // ... then another call fails before its message is read
    const missing = new TextEncoder().encode("/nonexistent/x.pcap\0");
    assert(lib.ps_capture_open_file(missing, new BigInt64Array(1)) < 0);
    assert(/nonexistent/.test(read(lib.ps_last_error(buf, buf.length))));
    assertEquals(read(lib.ps_handle_error(h, buf, buf.length)), "batch buffer too small");
  } finally {
    lib.ps_capture_close(h);
  }
  // once closed, the handle has no message of its own: the global one comes back
  assert(/nonexistent/.test(read(lib.ps_handle_error(h, buf, buf.length))));
});

Deno.test("a file with no complete packet read ahead reports its truncation at the first take", async () => {
  const data = await Deno.readFile(`${DATA}/tcp_http.pcap`);
  const cut = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(cut, data.subarray(0, 24 + 10));
    const src = CaptureSource.openFile(cut);
    try {
      await readAheadSettled(src);
      let err: unknown;
      try {
        src.take(-1, 2048);
      } catch (e) {
        err = e;
      }
      assert(err instanceof CaptureError && err.code === Status.TRUNCATED, String(err));
      assert(err.message.includes("truncated"), err.message);
      assertEquals(src.take(-1, 2048), -1);
    } finally {
      src.close();
    }
  } finally {
    await Deno.remove(cut);
  }
});

Deno.test("a 40-byte file whose record claims 64 MiB is one truncation error and no big allocation", async () => {
  // a fresh process: its peak resident size (VmHWM) before and after says what the read cost
  const seed = new URL("../../capture-ffi/tests/seeds/pcap_claims_64mib.pcap", import.meta.url)
    .pathname;
  assertEquals(Deno.statSync(seed).size, 40);
  const code = `
    import { CaptureSource, PacketBatch } from ${
    JSON.stringify(new URL("../../src/ffi/capture.ts", import.meta.url).pathname)
  };
    const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))[1]);
    const s = CaptureSource.openFile(${JSON.stringify(seed)});
    const b = new PacketBatch();
    const before = hwm();
    const got = [];
    for (let i = 0; i < 4; i++) {
      try {
        got.push(s.nextSync(b));
      } catch (e) {
        got.push(e.code + " " + e.message);
      }
    }
    console.log(JSON.stringify({ got, kib: hwm() - before }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { got, kib } = JSON.parse(text);
  assertEquals(got, [
    `${Status.TRUNCATED} ${seed}: truncated capture file: last record at byte 24 has 16 of 67108880 bytes`,
    -1,
    -1,
    -1,
  ]);
  // it used to be 128 MiB (the claimed length rounded up to a power of two, zero-filled)
  assert(kib < 16 * 1024, `the read raised the peak resident size by ${kib} KiB`);
});

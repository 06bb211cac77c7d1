/**
 * Writing pcap files through the FFI: what tcpdump reads back, link-type skipping, and the
 * exit hook flushing a writer that was never closed.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  CaptureError,
  CaptureSource,
  PacketBatch,
  PcapWriter,
  Status,
} from "../../src/ffi/capture.ts";

const DATA = "/usr/lib/python3/dist-packages/pathspider/tests/data";
const CAPTURE_TS = new URL("../../src/ffi/capture.ts", import.meta.url).pathname;

async function tcpdump(path: string): Promise<string> {
  const out = await new Deno.Command("tcpdump", {
    args: ["-tt", "-nn", "-r", path],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Copies `src` into a new pcap at `dst` batch by batch; returns the writer's counts. */
async function copy(src: string, dst: string, batchBytes?: number) {
  const from = CaptureSource.openFile(src);
  const w = PcapWriter.open(dst);
  const batch = new PacketBatch(batchBytes);
  try {
    while (await from.next(batch, 0) >= 0) w.write(batch);
  } finally {
    from.close();
    w.close();
  }
  return { written: w.written, skipped: w.skipped };
}

Deno.test("a copied capture reads back in tcpdump exactly like the original", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ps-h1-w-" });
  try {
    for (const f of ["tcp_http.pcap", "icmp_ttl.pcap", "mss_none.pcap", "basic_ipv6_tcp.pcap"]) {
      const dst = `${dir}/${f}`;
      const counts = await copy(`${DATA}/${f}`, dst, 4096);
      const orig = await tcpdump(`${DATA}/${f}`);
      assertEquals(counts, { written: orig.split("\n").length - 1, skipped: 0 });
      assertEquals(await tcpdump(dst), orig, f);
      const head = new DataView((await Deno.readFile(dst)).buffer);
      assertEquals(head.getUint32(0, true), 0xa1b23c4d, "nanosecond magic");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("records of another link type than the file's are skipped and counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ps-h1-w-" });
  try {
    const w = PcapWriter.open(`${dir}/eth.pcap`, 1);
    const batch = new PacketBatch();
    const raw = CaptureSource.openFile(`${DATA}/mss_none.pcap`); // link type 101
    assertEquals(await raw.next(batch, 0), 1);
    raw.close();
    assertEquals(w.write(batch), 0);
    w.close();
    w.close();
    assertEquals({ written: w.written, skipped: w.skipped }, { written: 0, skipped: 1 });
    assertEquals(await tcpdump(`${dir}/eth.pcap`), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a writer to an impossible path is a one-line error", () => {
  let err: unknown;
  try {
    PcapWriter.open("/nonexistent/dir/x.pcap");
  } catch (e) {
    err = e;
  }
  assert(err instanceof CaptureError);
  assertEquals(err.code, Status.GENERIC);
  assert(err.message.startsWith("cannot create /nonexistent/dir/x.pcap: "), err.message);
});

Deno.test("a writer never closed is flushed when the program exits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ps-h1-w-" });
  try {
    for (const exit of ["", "Deno.exit(0);"]) {
      const dst = `${dir}/forgotten.pcap`;
      const code = `
        import { CaptureSource, PacketBatch, PcapWriter } from ${JSON.stringify(CAPTURE_TS)};
        const s = CaptureSource.openFile(${JSON.stringify(`${DATA}/tcp_http.pcap`)});
        const w = PcapWriter.open(${JSON.stringify(dst)});
        const b = new PacketBatch();
        while (s.nextSync(b) >= 0) w.write(b);
        ${exit}`;
      const st = await new Deno.Command(Deno.execPath(), { args: ["eval", "--ext=ts", code] })
        .output();
      assert(st.success, new TextDecoder().decode(st.stderr));
      assertEquals(await tcpdump(dst), await tcpdump(`${DATA}/tcp_http.pcap`), exit || "end");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

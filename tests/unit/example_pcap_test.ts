/**
 * The committed example capture is exactly what its generator writes, and every packet in it is
 * well formed for an independent dissector (tshark, with checksum validation on).
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("examples/example.pcap is reproduced byte for byte by examples/make-example-pcap.ts", async () => {
  const tmp = await Deno.makeTempFile({ prefix: "pstest-example-", suffix: ".pcap" });
  try {
    const gen = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}examples/make-example-pcap.ts`, tmp],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(gen.code, 0, new TextDecoder().decode(gen.stderr));
    assert.deepEqual(await Deno.readFile(tmp), await Deno.readFile(`${root}examples/example.pcap`));
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("every packet of the example capture has valid headers and checksums for tshark", async () => {
  const args = [
    "-r",
    `${root}examples/example.pcap`,
    "-n",
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    "-T",
    "fields",
    "-e",
    "frame.number",
  ];
  const all = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" }).output();
  const bad = await new Deno.Command("tshark", {
    args: [...args, "-Y", "_ws.expert.severity >= warning || _ws.malformed"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const lines = (b: Uint8Array) => new TextDecoder().decode(b).split("\n").filter(Boolean);
  assert.equal(lines(all.stdout).length, 78);
  assert.deepEqual(lines(bad.stdout), [], "frames with warnings");
});

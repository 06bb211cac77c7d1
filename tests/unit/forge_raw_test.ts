/**
 * The raw sender through the FFI, in a throwaway network namespace (needs root): forged packets
 * leave exactly as built (captured back on `lo` byte for byte: evil bit, zero UDP checksum, IPv6
 * traffic class, UDP options trailer, TCP SYN), one unroutable packet fails alone with its errno,
 * a malformed batch is an invalid-argument error, and a closed sender refuses quietly.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";

const NS = `psh7raw${Deno.pid % 100000}`;
const ip = (...args: string[]) => new Deno.Command("ip", { args, stderr: "null" }).outputSync();

Deno.test({
  name: "forged packets leave as built and errors stay per packet",
  ignore: Deno.uid() !== 0,
  fn() {
    ip("netns", "del", NS);
    try {
      if (!ip("netns", "add", NS).success) throw new Error("cannot create a network namespace");
      ip("-n", NS, "link", "set", "lo", "up");
      const deno = Deno.execPath();
      const probe = new URL("./forge_raw_probe.ts", import.meta.url).pathname;
      const out = new Deno.Command("ip", {
        args: ["netns", "exec", NS, deno, "run", "-A", probe],
        stderr: "piped",
      }).outputSync();
      const err = new TextDecoder().decode(out.stderr);
      assertEquals(out.success, true, err);
      const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
      // ENETUNREACH (101) for the packet without a route; the rest of the batch went out
      assertEquals(r.statuses, [0, -101, 0, 0]);
      assertEquals(r.onWire, [true, false, true, true]);
      assertEquals(r.malformed, -8);
      assertEquals(r.afterClose, -9);
      assertEquals(r.counters, [3, 1]);
    } finally {
      ip("netns", "del", NS);
    }
  },
});

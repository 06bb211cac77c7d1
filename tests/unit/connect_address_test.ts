import assert from "node:assert/strict";
import { ipBytes, ipText } from "../../src/ffi/sockets.ts";

Deno.test("ipBytes() parses IPv4 and IPv6 literals, with an embedded IPv4 tail", () => {
  assert.deepEqual([...ipBytes("198.18.0.2")!], [198, 18, 0, 2]);
  assert.deepEqual([...ipBytes("fd00::2")!], [0xfd, 0, ...Array(13).fill(0), 2]);
  assert.deepEqual([...ipBytes("::ffff:198.18.0.1")!], [
    ...Array(10).fill(0),
    255,
    255,
    198,
    18,
    0,
    1,
  ]);
  assert.deepEqual([...ipBytes("::")!], Array(16).fill(0));
  assert.equal(ipBytes("1:2:3:4:5:6:7:8")![15], 8);
});

Deno.test("ipBytes() rejects what is not an address", () => {
  for (
    const bad of [
      "",
      "256.1.1.1",
      "1.2.3",
      "www.example.test",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "12345::",
      "1:2:3:4:5:6:7::8",
    ]
  ) {
    assert.equal(ipBytes(bad), null, bad);
  }
});

Deno.test("ipText() writes IPv6 as RFC 5952: longest zero run compressed, lower case", () => {
  assert.equal(ipText(ipBytes("FD00:0:0:0:0:0:0:2")!), "fd00::2");
  assert.equal(ipText(ipBytes("2001:db8:0:1:0:0:0:1")!), "2001:db8:0:1::1");
  assert.equal(ipText(ipBytes("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  assert.equal(ipText(ipBytes("2001:db8:0:1:1:1:1:1")!), "2001:db8:0:1:1:1:1:1");
  assert.equal(ipText(ipBytes("::")!), "::");
  assert.equal(ipText(ipBytes("198.18.0.1")!), "198.18.0.1");
});

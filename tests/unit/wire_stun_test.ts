/** STUN Binding messages against RFC 5769's test vectors, byte for byte. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { bindingRequest, parseBindingResponse } from "../../src/wire/stun.ts";

// deno-fmt-ignore
const TXID = Uint8Array.of(0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae);

/** RFC 5769 section 2.2, "Sample IPv4 Response": 192.0.2.1 port 32853. */
// deno-fmt-ignore
const IPV4_RESPONSE = Uint8Array.of(
  0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, ...TXID,
  // SOFTWARE "test vector " (11 bytes and one of padding)
  0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
  // XOR-MAPPED-ADDRESS
  0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
  // MESSAGE-INTEGRITY
  0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
  0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
  // FINGERPRINT
  0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
);

/**
 * RFC 5769 section 2.3, "Sample IPv6 Response": 2001:db8:1234:5678:11:2233:4455:6677 port 32853
 * (the MESSAGE-INTEGRITY value zeroed here: a client learning its address does not check it).
 */
// deno-fmt-ignore
const IPV6_RESPONSE = Uint8Array.of(
  0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, ...TXID,
  0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
  0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
  0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
  0x00, 0x08, 0x00, 0x14, ...new Uint8Array(20),
  0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
);

Deno.test("a Binding request is the 20-byte header with the magic cookie and the id", () => {
  assertEquals(
    bindingRequest(TXID),
    Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...TXID),
  );
});

Deno.test("XOR-MAPPED-ADDRESS of RFC 5769's IPv4 and IPv6 responses", () => {
  assertEquals(parseBindingResponse(IPV4_RESPONSE, TXID), {
    address: "192.0.2.1",
    port: 32853,
    family: 4,
    from: "xor-mapped",
  });
  assertEquals(parseBindingResponse(IPV6_RESPONSE, TXID), {
    address: "2001:db8:1234:5678:11:2233:4455:6677",
    port: 32853,
    family: 6,
    from: "xor-mapped",
  });
});

Deno.test("MAPPED-ADDRESS of an RFC 3489 server; errors and strangers are refused", () => {
  // deno-fmt-ignore
  const old = Uint8Array.of(
    0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42, ...TXID,
    0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x96, 198, 51, 100, 7,
  );
  assertEquals(parseBindingResponse(old, TXID), {
    address: "198.51.100.7",
    port: 3478,
    family: 4,
    from: "mapped",
  });
  const other = TXID.slice();
  other[0]! ^= 1;
  assertEquals(parseBindingResponse(IPV4_RESPONSE, other), "another transaction");
  assertEquals(
    parseBindingResponse(IPV4_RESPONSE.subarray(0, 40), TXID),
    "bad STUN message length",
  );
  assertEquals(parseBindingResponse(Uint8Array.of(0x45, 0), TXID), "shorter than a STUN header");
  // deno-fmt-ignore
  const error = Uint8Array.of(
    0x01, 0x11, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42, ...TXID,
    // ERROR-CODE 400 "Bad Request" (15 bytes and one of padding)
    0x00, 0x09, 0x00, 0x0f, 0, 0, 4, 0, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73,
    0x74, 0,
  );
  assertEquals(parseBindingResponse(error, TXID), "error response 400 Bad Request");
  const noAddr = IPV4_RESPONSE.slice(0, 36);
  noAddr[3] = 16;
  assertEquals(parseBindingResponse(noAddr, TXID), "no mapped address in the response");
});

Deno.test("a STUN server as HOST[:PORT]: names, IPv4, bracketed and bare IPv6", async () => {
  const { parseStunServer } = await import("../../src/wire/stun.ts");
  assertEquals(parseStunServer("stun.example.net"), { host: "stun.example.net", port: 3478 });
  assertEquals(parseStunServer("198.18.1.2:3479"), { host: "198.18.1.2", port: 3479 });
  assertEquals(parseStunServer("[fd00:1::2]:5349"), { host: "fd00:1::2", port: 5349 });
  assertEquals(parseStunServer("fd00:1::2"), { host: "fd00:1::2", port: 3478 });
  assertEquals(typeof parseStunServer("h:0"), "string");
  assertEquals(typeof parseStunServer(":3478"), "string");
});

Deno.test("the original's path: sip, sip_public when it differs, its AS, the target's AS, dip", async () => {
  const { jobResult, pathOf } = await import("../../src/spider/result.ts");
  const job = { dip: "198.51.100.1", dip_asn: "64496" };
  assertEquals(pathOf(job, "10.0.0.2"), ["10.0.0.2", "AS64496", "198.51.100.1"]);
  assertEquals(pathOf(job, "10.0.0.2", { public: "203.0.113.9", asn: 64500 }), [
    "10.0.0.2",
    "203.0.113.9",
    "AS64500",
    "AS64496",
    "198.51.100.1",
  ]);
  // no NAT: the public address is the source, written once
  assertEquals(pathOf({ dip: "198.51.100.1" }, "203.0.113.9", { public: "203.0.113.9" }), [
    "203.0.113.9",
    "198.51.100.1",
  ]);
  const r = jobResult(job, "10.0.0.2", [], null, false, { public: "203.0.113.9", asn: 64500 });
  assertEquals(Object.keys(r), ["dip", "dip_asn", "sip", "path", "sip_public", "sip_asn", "time"]);
  assertEquals([r.sip_public, r.sip_asn], ["203.0.113.9", 64500]);
  assertEquals(Object.keys(jobResult(job, "10.0.0.2", [], null, false)), [
    "dip",
    "dip_asn",
    "sip",
    "path",
    "time",
  ]);
});

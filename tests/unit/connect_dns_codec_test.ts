import assert from "node:assert/strict";
import {
  buildQuery,
  encodeName,
  frameTcp,
  parseResponse,
  QTYPE_A,
  QTYPE_AAAA,
  tcpFrameLength,
} from "../../src/wire/dns.ts";

/** A response to `query` with the given flags and one A answer (compressed name). */
function response(query: Uint8Array, flags: number, answers = 1): Uint8Array {
  const answer = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 2];
  const out = new Uint8Array(query.length + answers * answer.length);
  out.set(query);
  for (let i = 0; i < answers; i++) out.set(answer, query.length + i * answer.length);
  const v = new DataView(out.buffer);
  v.setUint16(2, flags);
  v.setUint16(6, answers);
  return out;
}

Deno.test("encodeName() writes length-prefixed labels and the root", () => {
  assert.deepEqual(
    [...encodeName("www.example.test")],
    [3, 119, 119, 119, 7, 101, 120, 97, 109, 112, 108, 101, 4, 116, 101, 115, 116, 0],
  );
  assert.deepEqual([...encodeName("a.")], [1, 97, 0]);
  assert.deepEqual([...encodeName("")], [0]);
});

Deno.test("encodeName() refuses empty and over-long labels and names", () => {
  assert.throws(() => encodeName("a..b"), /bad DNS label/);
  assert.throws(() => encodeName("x".repeat(64) + ".test"), /bad DNS label/);
  assert.throws(() => encodeName(Array(130).fill("ab").join(".")), /too long/);
});

Deno.test("buildQuery() builds one IN question with recursion desired", () => {
  const q = buildQuery(0xbeef, "a.test", QTYPE_AAAA);
  assert.deepEqual(
    [...q],
    [0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 4, 116, 101, 115, 116, 0, 0, 28, 0, 1],
  );
});

Deno.test("parseResponse() reads id, rcode, answer count and the TC bit", () => {
  const q = buildQuery(4660, "www.example.test", QTYPE_A);
  assert.deepEqual(parseResponse(response(q, 0x8580)), {
    id: 4660,
    rcode: 0,
    answers: 1,
    truncated: false,
  });
  assert.deepEqual(parseResponse(response(q, 0x8783, 0)), {
    id: 4660,
    rcode: 3,
    answers: 0,
    truncated: true,
  });
});

Deno.test("parseResponse() rejects queries, short and cut-off messages", () => {
  const q = buildQuery(1, "www.example.test", QTYPE_A);
  assert.equal(parseResponse(q), null, "QR bit clear: a query");
  assert.equal(parseResponse(q.subarray(0, 11)), null, "shorter than a header");
  const r = response(q, 0x8180);
  assert.equal(parseResponse(r.subarray(0, 20)), null, "question name cut off");
  assert.equal(parseResponse(r.subarray(0, q.length - 2)), null, "question type/class cut off");
  const badLabel = r.slice();
  badLabel[12] = 0x80; // reserved label type
  assert.equal(parseResponse(badLabel), null);
  const loop = new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0]);
  assert.equal(parseResponse(loop), null, "pointer cut off");
});

Deno.test("parseResponse() walks question names by the chain's ldns rules", () => {
  // header (id 0x0102, QR|RD|RA, 2 questions), "a.test" A IN, then a pointer to it, A IN
  const head = [1, 2, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0];
  const q1 = [1, 97, 4, 116, 101, 115, 116, 0, 0, 1, 0, 1];
  const ok = Uint8Array.from([...head, ...q1, 0xc0, 12, 0, 1, 0, 1]);
  assert.deepEqual(parseResponse(ok), { id: 0x0102, rcode: 0, answers: 0, truncated: false });
  // the pointer followed: to offset 0, past the end, or round in a cycle, it is refused
  for (const target of [0, 200, 24]) {
    const bad = ok.slice();
    bad[25] = target;
    assert.equal(parseResponse(bad), null, `pointer to ${target}`);
  }
  // a name of 256 bytes (4 labels of 63 + 4 length bytes): refused, as ldns and dnslib do
  const long = [...Array(4)].flatMap(() => [63, ...Array(63).fill(97)]);
  const over = Uint8Array.from([...head.slice(0, 5), 1, ...head.slice(6), ...long, 0, 0, 1, 0, 1]);
  assert.equal(parseResponse(over), null, "name over 255 bytes");
  // records after the question are not read (garbage answer, count says 1)
  const junk = Uint8Array.from([...ok, 0xff, 0xff]);
  junk[7] = 1;
  assert.equal(parseResponse(junk)?.answers, 1);
});

Deno.test("frameTcp() and tcpFrameLength() use the 2-byte big-endian length prefix", () => {
  const msg = buildQuery(7, "a.test", QTYPE_A);
  const framed = frameTcp(msg);
  assert.equal((framed[0]! << 8) | framed[1]!, msg.length);
  assert.deepEqual(framed.subarray(2), msg);
  assert.equal(tcpFrameLength(framed), msg.length);
  assert.equal(tcpFrameLength(framed.subarray(0, framed.length - 1)), -1);
  assert.equal(tcpFrameLength(framed.subarray(0, 1)), -1);
  assert.equal(tcpFrameLength(new Uint8Array([0, 0])), 0);
  assert.throws(() => frameTcp(new Uint8Array(65536)), /too long/);
});

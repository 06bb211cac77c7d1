import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as c from "./craft.ts";
import { firstRecord, runChains } from "./chain_run.ts";
import { DNS_INVALID, DNS_QUERY, DNS_RESPONSE, dnsMessageKind } from "../../src/wire/dns.ts";

const A = "198.18.0.1", B = "198.18.0.2";
const { SYN, ACK, PSH } = c.F;

/** example.net A? and its answer 198.18.0.2 (the response is 45 bytes). */
const QUERY = hex("123401000001000000000000076578616d706c65036e65740000010001");
const RESPONSE = hex(
  "12348180000100010000000007" + "6578616d706c65" +
    "036e65740000010001c00c000100010000012c0004c6120002",
);

function hex(s: string): number[] {
  return s.match(/../g)!.map((b) => parseInt(b, 16));
}

const q = (payload: number[]) => c.udp4(A, B, { sport: 50000, dport: 53, payload });
const r = (payload: number[]) => c.udp4(B, A, { sport: 53, dport: 50000, payload });

Deno.test("dns: a UDP response from the server sets dns_response_valid and completes the flow", () => {
  const recs = runChains(["basic", "dns"], [q(QUERY), r(RESPONSE), q(QUERY)]);
  // the flow completed on the response; a packet during the 5 s of expiry still counts in it
  assertEquals(recs.map((x) => [x.pkt_fwd, x.pkt_rev, x.dns_response_valid]), [[2, 1, true]]);
});

Deno.test("dns: a response in the forward direction does not count", () => {
  const rec = firstRecord(["dns"], [q(RESPONSE)]);
  assertEquals(rec.dns_response_valid, false);
});

Deno.test("dns: a query, an empty datagram and a truncated response are not valid responses", () => {
  const rec = firstRecord(["basic", "dns"], [
    q(QUERY),
    r(QUERY),
    r([]),
    r(RESPONSE.slice(0, -1)),
    r(RESPONSE.slice(0, 11)),
  ]);
  assertEquals([rec.pkt_rev, rec.dns_response_valid], [4, false]);
});

Deno.test("dns: over TCP the 2-byte length prefix is skipped, its value is not checked", () => {
  const seg = (
    from: string,
    to: string,
    sport: number,
    dport: number,
    flags: number,
    p: number[],
  ) => c.tcp4(from, to, { sport, dport, flags, payload: p });
  const hs = [seg(A, B, 40000, 53, SYN, []), seg(B, A, 53, 40000, SYN | ACK, [])];
  const ok = firstRecord(["dns"], [...hs, seg(B, A, 53, 40000, ACK | PSH, [0, 5, ...RESPONSE])]);
  assertEquals(ok.dns_response_valid, true);
  // without a prefix the message is misread, and one byte is not even a prefix
  const bare = firstRecord(["dns"], [
    ...hs,
    seg(B, A, 53, 40000, ACK | PSH, RESPONSE),
    seg(B, A, 53, 40000, ACK | PSH, [0]),
  ]);
  assertEquals(bare.dns_response_valid, false);
});

Deno.test("dns: the message parser agrees with ldns on the corpus of chain_dns_corpus.py", async () => {
  const gz = await Deno.open(new URL("./chain_dns_corpus.json.gz", import.meta.url));
  const text = await new Response(gz.readable.pipeThrough(new DecompressionStream("gzip"))).text();
  const cases = JSON.parse(text) as [string, number][];
  const wrong: string[] = [];
  for (const [msg, want] of cases) {
    const bytes = Uint8Array.from(msg.match(/../g) ?? [], (b) => parseInt(b, 16));
    // inside a larger buffer: the parser must stay within [off, end)
    const buf = new Uint8Array(bytes.length + 16).fill(0xc0);
    buf.set(bytes, 8);
    const got = dnsMessageKind(buf, 8, 8 + bytes.length);
    if (got !== want) wrong.push(`${msg}: ldns ${want}, ours ${got}`);
  }
  assertEquals(wrong, []);
  assertEquals(cases.length > 5000, true);
});

Deno.test("dns: the message parser classifies queries, responses and malformed messages", () => {
  const kind = (m: number[]) => dnsMessageKind(Uint8Array.from(m), 0, m.length);
  assertEquals(kind(QUERY), DNS_QUERY);
  assertEquals(kind(RESPONSE), DNS_RESPONSE);
  assertEquals(kind([...RESPONSE, 1, 2, 3]), DNS_RESPONSE); // trailing bytes are ignored
  assertEquals(kind(RESPONSE.slice(0, -1)), DNS_INVALID); // A record cut
  assertEquals(kind([]), DNS_INVALID);
  // a name that points to itself, and a label longer than 63 bytes
  assertEquals(kind([...RESPONSE.slice(0, 12), 0xc0, 12, 0, 1, 0, 1]), DNS_INVALID);
  assertEquals(
    kind([...RESPONSE.slice(0, 12), 64, ...new Array(64).fill(97), 0, 0, 1, 0, 1]),
    DNS_INVALID,
  );
});

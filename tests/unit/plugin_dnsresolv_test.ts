import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { domainRecord, parseNameServer, resolveAll } from "../../src/plugins/dnsresolv.ts";

function stream(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

Deno.test("dnsresolv reads rank,domain CSV rows, a lone domain column, and ndjson domains", () => {
  assertEquals(domainRecord("1,example.com", true), { rank: "1", domain: "example.com" });
  assertEquals(domainRecord(" 2 , www.example.org ", true), {
    rank: "2",
    domain: "www.example.org",
  });
  assertEquals(domainRecord("example.net", true), { domain: "example.net" });
  assertEquals(domainRecord('{"domain":"a.test","rank":3,"x":true}', false), {
    domain: "a.test",
    rank: 3,
    x: true,
  });
});

Deno.test("dnsresolv says why a line is skipped", () => {
  assertEquals(domainRecord("1,2,3", true), "expected 2 columns (rank,domain), got 3");
  assertEquals(domainRecord("1,", true), "no usable 'domain': \"\"");
  assertEquals(domainRecord("{nope", false), "not valid JSON");
  assertEquals(domainRecord("[1]", false), "not a JSON object");
  assertEquals(domainRecord('{"dip":"192.0.2.1"}', false), "no usable 'domain': undefined");
  assertEquals(domainRecord('{"domain":"a b"}', false), "no usable 'domain': \"a b\"");
});

Deno.test("dnsresolv --resolver takes IPv4 or IPv6 with an optional port", () => {
  assertEquals(parseNameServer("198.18.1.2"), { ipAddr: "198.18.1.2", port: 53 });
  assertEquals(parseNameServer("198.18.1.2:5353"), { ipAddr: "198.18.1.2", port: 5353 });
  assertEquals(parseNameServer("fd00:1::2"), { ipAddr: "fd00:1::2", port: 53 });
  assertEquals(parseNameServer("[fd00:1::2]:5353"), { ipAddr: "fd00:1::2", port: 5353 });
  throws(() => parseNameServer("ns.example.test"), /IP address/);
  throws(() => parseNameServer("198.18.1.2:0"), /port/);
});

Deno.test("dnsresolv writes one job per address and counts names without address and failures", async () => {
  const zone: Record<string, Record<string, string[] | "fail">> = {
    "a.test": { A: ["198.19.0.1"], AAAA: ["FD00:5:0:0::1"] },
    "v4.test": { A: ["198.19.0.2", "198.19.0.3"], AAAA: [] },
    "none.test": { A: [], AAAA: [] },
    "broken.test": { A: "fail", AAAA: "fail" },
    "half.test": { A: "fail", AAAA: ["fd00:5::9"] },
  };
  const lookup = (name: string, type: "A" | "AAAA") => {
    const r = zone[name]?.[type] ?? [];
    return r === "fail" ? Promise.reject(new Error("SERVFAIL")) : Promise.resolve(r);
  };
  const out: Record<string, unknown>[] = [];
  const said: string[] = [];
  const stats = await resolveAll({
    input: stream("1,a.test\n2,v4.test\n\n3,none.test\nbad,row,here\n4,broken.test\n5,half.test\n"),
    csv: true,
    write: (r) => out.push(r),
    workers: 3,
    say: (l) => said.push(l),
  }, lookup);
  const byDomain = (d: string) => out.filter((j) => j.domain === d).map((j) => j.dip).sort();
  assertEquals(byDomain("a.test"), ["198.19.0.1", "fd00:5::1"]);
  assertEquals(byDomain("v4.test"), ["198.19.0.2", "198.19.0.3"]);
  assertEquals(byDomain("half.test"), ["fd00:5::9"]);
  assertEquals(out.find((j) => j.dip === "198.19.0.1"), {
    dip: "198.19.0.1",
    rank: "1",
    domain: "a.test",
  });
  assertEquals(stats, { domains: 5, jobs: 5, noAddress: 1, failed: 1, malformed: 1 });
  assertEquals(said, [
    "pathspider: warning: input line 5: expected 2 columns (rank,domain), got 3; skipped",
  ]);
});

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AsnDb } from "../../src/io/asndb.ts";

// lines in iptoasn.com's layout (ip2asn-v4.tsv / ip2asn-v6.tsv), deliberately out of order
const TSV = [
  "1.0.4.0\t1.0.7.255\t38803\tAU\tWPL-AS-AP Wirefreebroadband Pty Ltd",
  "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET",
  "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed",
  "2001:200::\t2001:200:5ff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB WIDE Project",
  "2001:4860::\t2001:4860:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE",
  "255.255.255.255\tnot-an-address\t1\tXX\tbroken",
];

Deno.test("AsnDb finds the AS of IPv4 and IPv6 addresses at and inside range edges", () => {
  const db = AsnDb.fromLines(TSV);
  assertEquals(db.size, 4);
  assertEquals(db.skipped, 1);
  assertEquals(db.asnOf("1.0.0.0"), 13335);
  assertEquals(db.asnOf("1.0.0.255"), 13335);
  assertEquals(db.asnOf("1.0.5.9"), 38803);
  assertEquals(db.asnOf("1.0.7.255"), 38803);
  assertEquals(db.asnOf("1.0.8.0"), 0);
  assertEquals(db.asnOf("0.255.255.255"), 0);
  assertEquals(db.asnOf("2001:4860:4860::8888"), 15169);
  assertEquals(db.asnOf("2001:200:5ff::1"), 2500);
  assertEquals(db.asnOf("2001:200:600::"), 0);
  assertEquals(db.asnOf("not an address"), 0);
  assertEquals(db.lookup("1.0.0.1"), { asn: 13335, country: "US", description: "CLOUDFLARENET" });
});

Deno.test("AsnDb treats 'not routed' ranges (AS 0) as no entry", () => {
  const db = AsnDb.fromLines(TSV);
  assertEquals(db.asnOf("1.0.2.3"), 0);
  assertEquals(db.lookup("1.0.2.3"), null);
});

Deno.test("AsnDb.load reads plain and gzip files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/v4.tsv`, TSV.slice(0, 3).join("\n") + "\n");
    const gz = new Blob([TSV.slice(3, 5).join("\n") + "\n"]).stream()
      .pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(`${dir}/v6.tsv.gz`, gz);
    const db = await AsnDb.load([`${dir}/v4.tsv`, `${dir}/v6.tsv.gz`]);
    assertEquals(db.size, 4);
    assert(db.asnOf("2001:4860::1") === 15169);
    assertEquals(db.asnOf("1.0.4.1"), 38803);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import { havePeer, PEER } from "../peer.ts";

const PATHSPIDER = new URL("../../bin/pathspider", import.meta.url).pathname;

async function filter(args: string[], stdin = "") {
  const child = new Deno.Command(PATHSPIDER, {
    args: ["filter", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("pathspider filter reads --input, honours --exclude files and writes --output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "h8filter-" });
  try {
    await Deno.writeTextFile(
      `${dir}/in.ndjson`,
      ['{"dip":"8.8.8.8"}', '{"dip":"9.9.9.9"}', '{"dip":"2a00:1450::1"}', '{"dip":"10.0.0.1"}']
        .join("\n") + "\n",
    );
    await Deno.writeTextFile(`${dir}/a.txt`, "# first list\n9.9.9.0/24\n");
    await Deno.writeTextFile(`${dir}/b.txt`, "2a00:1450::/32 # second list\n");
    const r = await filter([
      "--input",
      `${dir}/in.ndjson`,
      "--output",
      `${dir}/out.ndjson`,
      "--exclude",
      `${dir}/a.txt`,
      "--exclude",
      `${dir}/b.txt`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await Deno.readTextFile(`${dir}/out.ndjson`), '{"dip":"8.8.8.8"}\n');
    match(
      r.stderr,
      /^pathspider filter: 1 targets kept, 3 dropped \(0 invalid, 0 duplicate, 2 excluded, 1 private,/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pathspider filter stops with one line on a bad exclusion list", async () => {
  const dir = await Deno.makeTempDir({ prefix: "h8filter-" });
  try {
    await Deno.writeTextFile(`${dir}/bad.txt`, "1.2.3.4\n\nnot-a-prefix\n");
    const bad = await filter(["--exclude", `${dir}/bad.txt`], '{"dip":"8.8.8.8"}\n');
    assertEquals(bad.code, 1);
    assertEquals(bad.stdout, "");
    assertEquals(
      bad.stderr,
      `pathspider: ${dir}/bad.txt:3: not an IPv4 or IPv6 address or prefix: not-a-prefix\n`,
    );
    const missing = await filter(["--exclude", `${dir}/nope.txt`]);
    assertEquals(missing.code, 1);
    match(missing.stderr, /^pathspider: cannot read exclusion list .*nope\.txt: .*\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pathspider filter --help names the testbed's ranges and --allow-private", async () => {
  const r = await filter(["--help"]);
  assertEquals(r.code, 0);
  match(r.stdout, /--allow-private/);
  match(r.stdout, /--allow-benchmarking/);
  match(r.stdout, /198\.18\.0\.0\/15/);
});

Deno.test("pathspider filter rejects a bad --dp with one line", async () => {
  const r = await filter(["--dp", "70000"]);
  assertEquals(r.code, 2);
  match(r.stderr, /--dp must be a port number from 1 to 65535/);
});

Deno.test({
  name: "pathspider filter --allow-private keeps what the original's filter keeps, in order",
  ignore: !havePeer,
  fn: async () => {
    const cases: [string[], string][] = [
      [
        ["--dp", "8080"],
        '{"dip":"8.8.8.8","domain":"a"}\n{"dip":"10.0.0.1","rank":2}\nnot json\n' +
        '{"dip":"8.8.8.8","domain":"dup"}\n{"dip":"2a00::1","dp":443}\n',
      ],
      [["--csv-input", "--dp", "81"], "8.8.8.8,80,a.example,1\n9.9.9.9,443,b.example\n"],
      [["--csv-input", "--dp", "80"], "198.18.0.1,80,c.example,3\n198.18.0.1,80,c.example,4\n"],
    ];
    for (const [args, input] of cases) {
      const ours = await filter([...args, "--allow-private"], input);
      const child = new Deno.Command(PEER, {
        args: ["filter", ...args],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(input));
      await w.close();
      const theirs = new TextDecoder().decode((await child.output()).stdout);
      const parse = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l));
      // the same records with the same key order (the original writes ", " and ": ")
      assertEquals(
        parse(ours.stdout).map((j) => JSON.stringify(j)),
        parse(theirs).map((j) => JSON.stringify(j)),
        args.join(" "),
      );
    }
  },
});

Deno.test("pathspider filter writes a CSV row's port as a number (the original kept the text)", async () => {
  const r = await filter(["--csv-input", "--allow-private"], "198.18.0.1,80,c.example,3\n");
  assertEquals(JSON.parse(r.stdout), { dip: "198.18.0.1", dp: 80, domain: "c.example", rank: "3" });
});

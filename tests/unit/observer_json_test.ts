import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { NdjsonWriter, pyFloat, pyRecord, pyString } from "../../src/observer/pyjson.ts";

/** Runs Python's json.dumps on each JSON-encoded argument (floats forced with float()). */
function python(script: string, input: unknown): string {
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(path, JSON.stringify(input));
    const out = new Deno.Command("python3", {
      args: ["-c", script.replaceAll("sys.stdin", "open(sys.argv[1])"), path],
    }).outputSync();
    return new TextDecoder().decode(out.stdout);
  } finally {
    Deno.removeSync(path);
  }
}

const FLOATS = [
  0,
  1,
  -1,
  0.1,
  1e-4,
  9.99e-5,
  1e-5,
  1.5e-7,
  123456789.5,
  1489136540.000001,
  1489136540.999999,
  1353690039.425111,
  1e15,
  9999999999999998,
  1e16,
  1.2345e16,
  1e21,
  1e22,
  2 ** 53,
  -2.5e-300,
  5e-324,
  1.7976931348623157e308,
  1 / 3,
  1000.51,
];

Deno.test("pyFloat prints every float exactly as Python's repr", () => {
  const want = python(
    "import json,sys; print('\\n'.join(repr(float(x)) for x in json.load(sys.stdin)))",
    FLOATS,
  );
  assertEquals(FLOATS.map(pyFloat).join("\n") + "\n", want);
});

Deno.test("pyString escapes like json.dumps with ensure_ascii", () => {
  const s = ["plain", 'q"b\\s', "\n\r\t\b\f\x01\x1f\x7f", "é€😀", ""];
  const want = python(
    "import json,sys; print('\\n'.join(json.dumps(x) for x in json.load(sys.stdin)))",
    s,
  );
  assertEquals(s.map(pyString).join("\n") + "\n", want);
});

Deno.test("a record serialises like json.dumps, through pyRecord and the ndjson writer", () => {
  const rec = {
    pkt_first: 1492539365.0,
    sip: "fd00::1",
    proto: null,
    sp: 38878,
    big: 4294967295,
    neg: -3,
    ok: true,
    no: false,
    list: [1, "a", null],
    name: "caf\u00e9",
    pkt_last: 1492539365.891873,
  };
  const want = python(
    "import json,sys; d=json.load(sys.stdin); d['pkt_first']=float(d['pkt_first']); print(json.dumps(d))",
    rec,
  );
  const ff = new Set(["pkt_first", "pkt_last"]);
  assertEquals(pyRecord(rec, ff) + "\n", want);
  const chunks: Uint8Array[] = [];
  // a tiny buffer forces records across chunk boundaries
  const w = new NdjsonWriter((b) => chunks.push(b.slice()), 64);
  w.write(rec, ff);
  w.write(rec, ff);
  w.flush();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  assertEquals(text, want + want);
});

/**
 * The ndjson writer's bytes for `recs` as text, through a buffer of `chunk` bytes; asserts that
 * every chunk handed over holds whole lines.
 */
function ndjson(recs: Record<string, unknown>[], ff: ReadonlySet<string>, chunk: number): string {
  const parts: Uint8Array[] = [];
  const w = new NdjsonWriter((b) => {
    assertEquals(b[b.length - 1], 0x0a, "a chunk ends in the middle of a record");
    parts.push(b.slice());
  }, chunk);
  for (const r of recs) w.write(r, ff);
  w.flush();
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((c) => [...c])));
}

Deno.test("the ndjson writer prints pyRecord's text for records of one shape and of many", () => {
  const ff = new Set(["pkt_first", "f"]);
  const values: unknown[] = [
    null,
    undefined,
    true,
    false,
    0,
    -0,
    7,
    2147483647,
    2147483648,
    -1,
    1e21,
    0.5,
    NaN,
    -Infinity,
    "",
    "198.18.0.1",
    'q"b\\s\n\u00e9\u{1f600}',
    [1, "a", null, [true]],
    { k: 1.5, "n\u00e9": [] },
  ];
  // one shape, every value type in every position (float key and plain key)
  const same: Record<string, unknown>[] = values.map((v, i) => ({
    pkt_first: 1700000000 + i / 7,
    a: v,
    f: v,
    b: values[(i + 3) % values.length],
  }));
  // more shapes than the writer compiles: the later ones take the field-by-field path
  const many: Record<string, unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    const r: Record<string, unknown> = { pkt_first: i + 0.25 };
    r[`k${i}`] = values[i % values.length];
    r["f"] = i;
    if (i % 3 === 0) r["x"] = "long ".repeat(i * 20);
    many.push(r, { ...same[i % same.length] });
  }
  const empty: Record<string, unknown>[] = [{}, { pkt_first: 1 }, {}];
  // keys that part from the last shape's only after a long value (written, then taken back),
  // or that are a prefix or an extension of it
  const long = "x".repeat(300);
  const late: Record<string, unknown>[] = [
    { a: long, b: true },
    { a: long, c: false },
    { a: long },
    { a: long, c: false, d: null },
    { a: long, c: false },
  ];
  for (const recs of [same, many, empty, late]) {
    const want = recs.map((r) => pyRecord(r, ff) + "\n").join("");
    for (const chunk of [64, 1 << 20]) assertEquals(ndjson(recs, ff, chunk), want);
  }
});

Deno.test("the ndjson writer's timestamp fast path prints Python's repr of µs and ns capture times", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 4) % n;
  };
  const xs: number[] = [
    2 ** 30,
    2 ** 30 - 1e-6,
    2 ** 32 - 1e-6,
    2 ** 32,
    1700000000,
    1700000000.5,
    1700000000.000001,
    1700000000.999999,
    1700000000.10001,
  ];
  for (let i = 0; i < 3000; i++) {
    const sec = 2 ** 30 + rnd(2 ** 30) * 3 + rnd(3);
    if (i % 3 === 0) xs.push(sec + rnd(1e9) / 1e9); // a nanosecond capture
    else xs.push(sec + (rnd(1000) * 1000 + rnd(1000)) * 1000 / 1e9); // µs, as parse.ts makes it
    if (i % 10 === 0) xs.push(sec + rnd(100) * 10000 / 1e6); // trailing zeros
  }
  let text = "";
  const w = new NdjsonWriter((b) => text += new TextDecoder().decode(b), 4096);
  const floats = new Set(["pkt_first"]);
  for (const x of xs) w.write({ pkt_first: x, n: 1 }, floats);
  w.flush();
  const want = python(
    "import json,sys; print('\\n'.join(json.dumps({'pkt_first': float(x), 'n': 1}) " +
      "for x in json.load(sys.stdin)))",
    xs,
  );
  assertEquals(text, want);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { newLineStats, readLines } from "../../src/io/lines.ts";

function streamOf(bytes: Uint8Array, chunk = 5): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i >= bytes.length) return c.close();
      c.enqueue(bytes.slice(i, i + chunk));
      i += chunk;
    },
  });
}

async function gzip(text: string): Promise<Uint8Array> {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function all(input: ReadableStream<Uint8Array> | string, stats = newLineStats()) {
  const out: string[] = [];
  for await (const l of readLines(input, stats)) out.push(l);
  return out;
}

Deno.test("readLines splits plain text across chunk boundaries, dropping CR before LF", async () => {
  const stats = newLineStats();
  const text = "one\r\ntwo\n\nthree-is-longer\n";
  assertEquals(await all(streamOf(new TextEncoder().encode(text)), stats), [
    "one",
    "two",
    "",
    "three-is-longer",
  ]);
  assertEquals(stats, { lines: 4, gzip: false, unterminated: false, truncated: null });
});

Deno.test("readLines reports a last line without its line feed", async () => {
  const stats = newLineStats();
  assertEquals(await all(streamOf(new TextEncoder().encode('{"a":1}\n{"a"')), stats), [
    '{"a":1}',
    '{"a"',
  ]);
  assertEquals(stats.unterminated, true);
});

Deno.test("readLines recognises gzip by its magic bytes, also with two members", async () => {
  const stats = newLineStats();
  const a = await gzip("first\nsecond\n"), b = await gzip("third\n");
  const both = new Uint8Array(a.length + b.length);
  both.set(a), both.set(b, a.length);
  assertEquals(await all(streamOf(both, 1), stats), ["first", "second", "third"]);
  assertEquals(stats.gzip, true);
  assertEquals(stats.truncated, null);
});

Deno.test("readLines keeps what a truncated gzip held and says it ended early", async () => {
  const stats = newLineStats();
  const text = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}`)
    .join("\n") + "\n";
  const z = await gzip(text);
  const lines = await all(streamOf(z.slice(0, z.length - 20), 512), stats);
  assertEquals(stats.gzip, true);
  assertEquals(typeof stats.truncated, "string");
  assertEquals(lines.slice(0, 1000), text.split("\n").slice(0, 1000));
});

Deno.test("readLines opens a path and reads an empty file as no lines", async () => {
  const f = await Deno.makeTempFile();
  try {
    assertEquals(await all(f), []);
    await Deno.writeTextFile(f, "x\ny\n");
    assertEquals(await all(f), ["x", "y"]);
  } finally {
    await Deno.remove(f);
  }
});

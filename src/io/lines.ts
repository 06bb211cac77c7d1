/**
 * Line input: a file, a FIFO or standard input (`-`), plain or gzip-compressed (recognised by
 * its magic bytes, 1f 8b, not by its name), read as text lines as they are asked for, so that a
 * file of any length is read in constant memory.
 *
 * @module
 */
import { EXIT, osReason, UserError } from "../errors.ts";

/** What a line reader learned about its input's end, filled in as it reads. */
export interface LineStats {
  /** Lines handed out so far. */
  lines: number;
  /** Whether the input was gzip-compressed. */
  gzip: boolean;
  /** Whether the last line had no line feed after it (a torn write, an interrupted copy). */
  unterminated: boolean;
  /** Why a compressed input ended early (truncated or corrupt), or null when it ended cleanly. */
  truncated: string | null;
}

/** Fresh stats for {@link readLines}. */
export function newLineStats(): LineStats {
  return { lines: 0, gzip: false, unterminated: false, truncated: null };
}

/** Opens `path` (`-` or `/dev/stdin`: standard input) as a byte stream; a UserError if it cannot. */
export async function openInput(path: string): Promise<ReadableStream<Uint8Array>> {
  if (path === "-" || path === "/dev/stdin") return Deno.stdin.readable;
  try {
    // a FIFO opens like a file; its writer may come later, and the open waits for it
    const f = await Deno.open(path);
    if ((await f.stat()).isDirectory) {
      f.close();
      throw new Error("is a directory");
    }
    return f.readable;
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${osReason(e)}`, EXIT.SETUP);
  }
}

/**
 * The stream's bytes, decompressed when they start with gzip's magic bytes (several gzip members
 * one after the other, as `cat a.gz b.gz` makes, read as one). Sets `stats.gzip`.
 */
async function decompressed(
  stream: ReadableStream<Uint8Array>,
  stats: LineStats,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  // the first chunk of a pipe may hold a single byte: gather two before deciding
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 2) {
    const { value, done } = await reader.read();
    if (done) break;
    head.push(value);
    have += value.length;
  }
  const first = head.length === 1 ? head[0]! : concat(head, have);
  stats.gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  let sentHead = false;
  const plain = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (!sentHead) {
        sentHead = true;
        if (first.length > 0) {
          ctl.enqueue(first);
          return;
        }
      }
      const { value, done } = await reader.read();
      if (done) ctl.close();
      else ctl.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (!stats.gzip) return plain;
  // node:zlib rather than DecompressionStream: the latter stops silently after the first gzip
  // member, losing the rest of `cat a.gz b.gz` (checked with Deno 2.9.6); loaded only when needed
  const { createGunzip } = await import("node:zlib");
  const { Readable } = await import("node:stream");
  const gunzip = createGunzip();
  const source = Readable.fromWeb(plain as unknown as Parameters<typeof Readable.fromWeb>[0]);
  source.on("error", (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  return Readable.toWeb(gunzip) as unknown as ReadableStream<Uint8Array>;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) out.set(p, off), off += p.length;
  return out;
}

/**
 * Splits an input into text lines (without the line feed, and without a carriage return before
 * it), pulling from the input only when asked for a line. `input` is a byte stream or a path
 * (see {@link openInput}); gzip is recognised either way. A compressed input that ends early
 * yields what it held and sets `stats.truncated` instead of throwing; other read errors throw.
 */
export async function* readLines(
  input: ReadableStream<Uint8Array> | string,
  stats: LineStats = newLineStats(),
): AsyncGenerator<string> {
  const raw = typeof input === "string" ? await openInput(input) : input;
  const stream = await decompressed(raw, stats);
  const decoder = new TextDecoder();
  let rest = "";
  const reader = stream.getReader();
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (!stats.gzip) throw e;
        // gunzip rejects a stream cut short or corrupt: keep what came before
        stats.truncated = (e as Error).message;
        break;
      }
      if (chunk.done) break;
      rest += decoder.decode(chunk.value, { stream: true });
      let start = 0;
      let nl: number;
      while ((nl = rest.indexOf("\n", start)) >= 0) {
        const end = nl > start && rest.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        stats.lines++;
        yield rest.slice(start, end);
        start = nl + 1;
      }
      rest = start === 0 ? rest : rest.slice(start);
    }
    rest += decoder.decode();
    if (rest.length > 0) {
      stats.unterminated = true;
      stats.lines++;
      yield rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest;
    }
  } finally {
    // an early stop (break in the caller) must not leave the file open
    await reader.cancel().catch(() => {});
  }
}

/**
 * Counts the non-blank lines of a file (for progress totals), reading it in chunks; a gzip file
 * is counted after decompression.
 */
export async function countLines(path: string): Promise<number> {
  let count = 0, blank = true;
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(1 << 16);
    let first = true;
    while (true) {
      const n = await f.read(buf);
      if (n === null) break;
      if (first && n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
        f.close();
        for await (const line of readLines(path)) if (line.trim() !== "") count++;
        return count;
      }
      first = false;
      for (let i = 0; i < n; i++) {
        const b = buf[i];
        if (b === 10) {
          if (!blank) count++;
          blank = true;
        } else if (b !== 13 && b !== 32 && b !== 9) blank = false;
      }
    }
  } finally {
    try {
      f.close();
    } catch { /* closed before counting a gzip file */ }
  }
  return blank ? count : count + 1;
}

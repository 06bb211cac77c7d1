/**
 * `--resume`: what an earlier run of the same command already wrote to `--output`, so that the
 * run measures only the rest and appends it.
 *
 * A run killed mid-write (SIGKILL, power loss) can leave a last line without its line feed: that
 * line is cut off the file (its job is measured again) and reported. A complete line that is not
 * a result (no JSON object with a `dip`) is counted and left in place: it is the user's data.
 *
 * @module
 */
import { AddrSet } from "./addrset.ts";
import { readLines } from "../io/lines.ts";
import { ipVersion } from "../wire/ip.ts";

/** What the earlier output holds. */
export interface Resumed {
  /** The targets already measured. */
  done: AddrSet;
  /** Results found. */
  results: number;
  /** Bytes of a torn last line cut off the file (0: none). */
  tornBytes: number;
  /** Complete lines that are not results. */
  unreadable: number;
  /** Whether the file existed at all. */
  existed: boolean;
}

/** Bytes after the file's last line feed (a torn last line), found by reading its tail. */
function tornTail(f: Deno.FsFile, size: number): number {
  const chunk = new Uint8Array(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    f.seekSync(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < end - start) {
      const n = f.readSync(chunk.subarray(got, end - start));
      if (n === null) break;
      got += n;
    }
    const nl = chunk.subarray(0, got).lastIndexOf(10);
    if (nl >= 0) return size - (start + nl + 1);
    end = start;
  }
  return size;
}

/**
 * Reads `path` (results of an earlier run), cutting off a torn last line; a missing file is an
 * empty one (nothing to resume).
 */
export async function readResumed(path: string): Promise<Resumed> {
  const r: Resumed = {
    done: new AddrSet(),
    results: 0,
    tornBytes: 0,
    unreadable: 0,
    existed: false,
  };
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true, write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return r;
    throw e;
  }
  r.existed = true;
  try {
    const size = (await f.stat()).size;
    r.tornBytes = tornTail(f, size);
    if (r.tornBytes > 0) await f.truncate(size - r.tornBytes);
  } finally {
    f.close();
  }
  for await (const line of readLines(path)) {
    if (line.trim() === "") continue;
    let dip: unknown;
    try {
      dip = (JSON.parse(line) as { dip?: unknown })?.dip;
    } catch {
      dip = undefined;
    }
    if (typeof dip === "string" && ipVersion(dip) !== 0) {
      r.done.add(dip);
      r.results++;
    } else r.unreadable++;
  }
  return r;
}

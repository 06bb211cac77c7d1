/**
 * Result output: one JSON line per job, written as it completes. Lines produced in the same
 * turn of the event loop are written together; `flushSync` empties the buffer at once (used
 * right before a forced exit so that no finished result is lost).
 */

/** A line-oriented sink over a file or stdout. */
export class ResultWriter {
  #buf: string[] = [];
  #scheduled = false;
  #enc = new TextEncoder();
  /** Lines written so far. */
  lines = 0;

  private constructor(private readonly file: Deno.FsFile | typeof Deno.stdout) {}

  /** Writes to `path`, or stdout when undefined or "-" (truncating a file, as the original). */
  static open(path?: string): ResultWriter {
    if (path === undefined || path === "-" || path === "/dev/stdout") {
      return new ResultWriter(Deno.stdout);
    }
    return new ResultWriter(Deno.openSync(path, { write: true, create: true, truncate: true }));
  }

  /** Queues one result. */
  write(rec: Record<string, unknown>): void {
    this.#buf.push(JSON.stringify(rec) + "\n");
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flushSync(), 0);
    }
  }

  /** Writes everything queued, now. */
  flushSync(): void {
    this.#scheduled = false;
    if (this.#buf.length === 0) return;
    const data = this.#enc.encode(this.#buf.join(""));
    this.lines += this.#buf.length;
    this.#buf = [];
    let off = 0;
    while (off < data.length) off += this.file.writeSync(data.subarray(off));
  }

  /** Flushes and closes (stdout stays open). */
  close(): void {
    this.flushSync();
    if (this.file !== Deno.stdout) (this.file as Deno.FsFile).close();
  }
}

/**
 * Result output: one JSON line per job, written as it completes. Lines produced in the same
 * turn of the event loop are written together; `flushSync` empties the buffer at once (used
 * right before a forced exit so that no finished result is lost).
 */
import { UserError } from "../errors.ts";

/** A line-oriented sink over a file or stdout. */
export class ResultWriter implements Disposable {
  #buf: string[] = [];
  #scheduled = false;
  #enc = new TextEncoder();
  /** Lines written so far. */
  lines = 0;

  private constructor(private readonly file: Deno.FsFile | typeof Deno.stdout) {}

  /** Writes to `path`, or stdout when undefined or "-" (truncating a file, as the original). */
  static open(path?: string, opts: { append?: boolean } = {}): ResultWriter {
    if (path === undefined || path === "-" || path === "/dev/stdout") {
      return new ResultWriter(Deno.stdout);
    }
    // `append`: after what an earlier run wrote (--resume)
    const mode = opts.append ? { append: true } : { truncate: true };
    return new ResultWriter(Deno.openSync(path, { write: true, create: true, ...mode }));
  }

  /** The first write failure (closed pipe, full disk); every later `write` throws it. */
  error: UserError | undefined;

  /** Queues one result; throws once the output has failed. */
  write(rec: Record<string, unknown>): void {
    if (this.error) throw this.error;
    this.#buf.push(JSON.stringify(rec) + "\n");
    if (!this.#scheduled) {
      this.#scheduled = true;
      // a failure here is kept for the next write: a timer must not throw past the restore
      setTimeout(() => this.#tryFlush(), 0);
    }
  }

  #tryFlush(): void {
    try {
      this.flushSync();
    } catch (e) {
      this.error ??= e instanceof UserError ? e : new UserError(String(e));
    }
  }

  /** Writes everything queued, now; throws a UserError when the output fails. */
  flushSync(): void {
    this.#scheduled = false;
    if (this.error) throw this.error;
    if (this.#buf.length === 0) return;
    const data = this.#enc.encode(this.#buf.join(""));
    const n = this.#buf.length;
    this.#buf = [];
    try {
      let off = 0;
      while (off < data.length) off += this.file.writeSync(data.subarray(off));
    } catch (e) {
      this.error = new UserError(`cannot write results: ${(e as Error).message}`);
      throw this.error;
    }
    this.lines += n;
  }

  /** Flushes and closes (stdout stays open); throws when the last flush fails. */
  close(): void {
    try {
      this.flushSync();
    } finally {
      if (this.file !== Deno.stdout) (this.file as Deno.FsFile).close();
    }
  }

  /** Same as `close`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * `--rate N`: at most N jobs started in every one-second window, not only on average.
 *
 * Two rules together. A token bucket (rate N, a burst of at most {@link burstOf}(N) tokens)
 * spreads the starts evenly instead of letting N go at the top of each second; a ring of the
 * last N start times makes the bound exact: a start waits until the N-th start before it is at
 * least 1,000 ms old, so no window of one second, wherever it begins, holds more than N starts.
 * Without the ring a bucket that refilled while the engine was busy would add its burst on top
 * of N in the window that follows. One timer serves every waiter (a run at -w 2000 has
 * thousands of workers waiting), in the order they asked.
 *
 * @module
 */

/** Tokens the bucket holds at most: 4 ms of the rate (timers fire about every millisecond). */
export function burstOf(rate: number): number {
  return Math.max(1, Math.ceil(rate / 250));
}

/** Hands out start permits at no more than `rate` per second (see the module doc). */
export class Pacer {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  /** Start times (ms) of the last `rate` starts, a ring; `-Infinity` before the first round. */
  readonly #starts: Float64Array;
  #next = 0;
  #tokens: number;
  #refilled: number;
  #queue: (() => void)[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Permits handed out. */
  taken = 0;

  /**
   * `rate`: an integer of jobs per second, at least 1. `now`: a clock in ms; `onStart`: told the
   * time of each start as the pacer grants it (tests: a taker's own clock reads it later).
   */
  constructor(
    rate: number,
    now: () => number = () => performance.now(),
    private readonly onStart?: (ms: number) => void,
  ) {
    if (!Number.isInteger(rate) || rate < 1) throw new RangeError("rate must be an integer >= 1");
    this.#rate = rate;
    this.#burst = burstOf(rate);
    this.#now = now;
    this.#starts = new Float64Array(rate).fill(-Infinity);
    this.#tokens = this.#burst;
    this.#refilled = now();
  }

  /** Resolves when the caller may start one job. */
  take(): Promise<void> {
    if (this.#head === this.#queue.length && this.#tryStart()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#queue.push(resolve);
      this.#arm();
    });
  }

  /** Releases every waiter at once (the run is stopping: they will start nothing). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const q = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const r of q) r();
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilled) * this.#rate / 1000);
    this.#refilled = now;
  }

  /** Starts one job now if both rules allow it. */
  #tryStart(): boolean {
    const now = this.#now();
    this.#refill(now);
    if (this.#tokens < 1 || now - this.#starts[this.#next]! < 1000) return false;
    this.#tokens -= 1;
    this.#starts[this.#next] = now;
    this.#next = this.#next + 1 === this.#rate ? 0 : this.#next + 1;
    this.taken++;
    this.onStart?.(now);
    return true;
  }

  /** When (ms from now) the next start may happen. */
  #wait(): number {
    const now = this.#now();
    this.#refill(now);
    const bucket = this.#tokens >= 1 ? 0 : (1 - this.#tokens) * 1000 / this.#rate;
    const ring = this.#starts[this.#next]! + 1000 - now;
    return Math.max(0, bucket, ring);
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (this.#head < this.#queue.length && this.#tryStart()) {
        const r = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as unknown as () => void;
        r();
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else {
        if (this.#head > 4096) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        this.#arm();
      }
    }, Math.ceil(this.#wait()));
  }
}

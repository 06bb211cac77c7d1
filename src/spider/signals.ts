/**
 * How a run reacts to SIGINT, SIGTERM and SIGHUP (an SSH session that drops): the first stops
 * taking jobs and lets the jobs in flight finish (the run then ends within the connection timeout
 * plus the observer's expiry); a second exits at once, after the synchronous last actions each
 * resource registered (restore the settings, write the finished results). Installed before the
 * run changes any setting, removed last.
 *
 * @module
 */
import { EXIT } from "../errors.ts";

/** The signals that end a run. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** One of {@link STOP_SIGNALS}. */
export type StopSignal = typeof STOP_SIGNALS[number];

const SIGNAL_NUMBER: Record<StopSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The exit status after `sig` (128 + its number, as a shell reports it). */
export function signalExit(sig: StopSignal): number {
  return EXIT.SIGNAL_BASE + SIGNAL_NUMBER[sig];
}

/** The signal handlers of one run. Dispose to remove them. */
export class StopSignals implements Disposable {
  /** The first signal received, if any. */
  signal: StopSignal | undefined;
  /** Jobs in flight, for the messages (set once the engine exists). */
  inFlight: () => number = () => 0;
  /**
   * After the first signal the run must end within this many ms (the connection timeout plus a
   * margin, set by the run); if it has not, it stops as at a second signal. Undefined: no bound.
   */
  graceMs: number | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #onStop = new Set<(sig: StopSignal) => void>();
  #lastActions: (() => void)[] = [];
  #handlers: [StopSignal, () => void][];

  private constructor(private readonly say: (line: string) => void) {
    this.#handlers = STOP_SIGNALS.map((s) => [s, () => this.#received(s)]);
    for (const [s, h] of this.#handlers) Deno.addSignalListener(s, h);
  }

  /** Installs the handlers; `say` prints one line on stderr. */
  static install(say: (line: string) => void): StopSignals {
    return new StopSignals(say);
  }

  /** Calls `fn` on the first signal or failure (at once if one already came). */
  onStop(fn: (sig: StopSignal) => void): void {
    if (this.signal !== undefined || this.failure !== undefined) fn(this.signal ?? "SIGTERM");
    else this.#onStop.add(fn);
  }

  /**
   * Registers a synchronous action to run before a forced exit (second signal), e.g. restoring
   * settings or writing what is finished. Actions run last registered first, as disposal does;
   * disposing the returned object unregisters it.
   */
  lastAction(fn: () => void): Disposable {
    this.#lastActions.push(fn);
    return {
      [Symbol.dispose]: () => {
        const i = this.#lastActions.lastIndexOf(fn);
        if (i >= 0) this.#lastActions.splice(i, 1);
      },
    };
  }

  /** Why the run stopped other than by a signal (a capture failure), if it did. */
  failure: string | undefined;

  /**
   * Stops the run as a first signal would (no more jobs; those in flight finish), for `reason`,
   * said once as one line. A signal after it still stops at once.
   */
  fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.say(`pathspider: ${reason}; stopping (finished results are kept)`);
    if (this.signal !== undefined) return;
    for (const fn of this.#onStop) fn("SIGTERM");
    this.#onStop.clear();
  }

  #received(sig: StopSignal): void {
    if (this.signal === undefined && this.#onStop.size === 0 && this.failure !== undefined) {
      // already stopping for a failure: a signal now means "at once"
      this.signal = sig;
    }
    if (this.signal === undefined) {
      this.signal = sig;
      this.say(
        `\npathspider: ${sig}: taking no more jobs; finishing ${this.inFlight()} in flight ` +
          `(again to stop at once)`,
      );
      for (const fn of this.#onStop) fn(sig);
      this.#onStop.clear();
      if (this.graceMs !== undefined) {
        // a last guarantee for cron: whatever holds the run up, it ends
        const ms = this.graceMs;
        const timer = setTimeout(
          () => this.#now(`did not end within ${Math.round(ms / 1000)} s of ${sig}`),
          ms,
        );
        Deno.unrefTimer(timer);
        this.#watchdog = timer;
      }
      return;
    }
    this.#now(`${sig} again`);
  }

  /** Runs the last actions and exits with the first signal's status. */
  #now(why: string): never {
    for (const fn of [...this.#lastActions].reverse()) {
      try {
        fn();
      } catch { /* the next action must still run: nothing more can be done about this one */ }
    }
    this.say(`pathspider: ${why}: stopped at once, ${this.inFlight()} jobs in flight dropped`);
    Deno.exit(signalExit(this.signal!));
  }

  /** Removes the handlers. */
  [Symbol.dispose](): void {
    clearTimeout(this.#watchdog);
    for (const [s, h] of this.#handlers) Deno.removeSignalListener(s, h);
    this.#handlers = [];
  }
}

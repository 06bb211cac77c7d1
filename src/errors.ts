/**
 * Errors the user can act on, and the exit statuses of every command.
 *
 * @module
 */

/**
 * The documented exit statuses (README, `--help`). A scheduled job gates on them: only `OK`
 * means "measured, and the data can be trusted".
 */
export const EXIT = {
  /** Done; for `measure`: measured, and the data passed the quality checks. */
  OK: 0,
  /** A failure not covered below (e.g. an output that cannot be written). */
  FAILURE: 1,
  /** The command line is wrong (unknown option, bad value, unknown plugin). */
  USAGE: 2,
  /** Set-up failed before measuring: interface, privileges, the settings lock, input/output. */
  SETUP: 3,
  /** Measured, but the data cannot be trusted (too many unobserved flows, kernel drops). */
  UNTRUSTED: 4,
  /** A bug: an error no check foresaw (printed as "internal error", stack with PATHSPIDER_DEBUG). */
  INTERNAL: 70,
  /** Interrupted by a signal: 128 + its number (SIGHUP 129, SIGINT 130, SIGTERM 143). */
  SIGNAL_BASE: 128,
} as const;

/**
 * A failure the user can act on: the CLI prints its message as one line on stderr and exits
 * with `code` (one of {@link EXIT}), never a stack trace.
 */
export class UserError extends Error {
  constructor(message: string, readonly code: number = EXIT.FAILURE) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * The error to report: the first one thrown. When clean-up (a `using` declaration's disposal)
 * throws too, the runtime wraps both in a SuppressedError whose `suppressed` is the earlier one.
 */
export function firstError(e: unknown): unknown {
  while (e instanceof SuppressedError) e = e.suppressed;
  return e;
}

/**
 * The reason of a file-system error in a few words ("no such file or directory"), without
 * Deno's "(os error 2): open '/x'" tail, which repeats the path the caller already names.
 */
export function osReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^(.*?) \(os error \d+\)/.exec(msg);
  return (m ? m[1]! : msg).replace(/^./, (c) => c.toLowerCase());
}

/**
 * Status codes of the native library (see docs/architecture.md) and the error type carrying them.
 * @module
 */

/** Status codes returned by the native library. */
export const Status = {
  EOF: -1,
  GENERIC: -2,
  NO_SUCH_INTERFACE: -3,
  INTERFACE_DOWN: -4,
  NOT_PERMITTED: -5,
  NOT_A_CAPTURE_FILE: -6,
  TRUNCATED: -7,
  INVALID_ARGUMENT: -8,
  CLOSED_HANDLE: -9,
  WOULD_BLOCK: -10,
  /** A bug in the library: a panic caught at the C boundary; the process goes on. */
  INTERNAL: -11,
} as const;

/** An error reported by the native library: `code` is one of `Status`, the message one line. */
export class CaptureError extends Error {
  /** Negative status code (`Status.*`). */
  readonly code: number;

  /** Builds the error. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "CaptureError";
    this.code = code;
  }
}

/**
 * A failure the user can act on: the CLI prints its message as one line on stderr and exits
 * with `code`, never a stack trace.
 */
export class UserError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
    this.name = "UserError";
  }
}

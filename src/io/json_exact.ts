/**
 * JSON input whose integers survive exactly: an integer literal beyond 2^53 (a 64-bit id, a
 * timestamp in ns) would become the nearest double (`9007199254740993` read back as
 * `9007199254740992`), while the original, in Python, keeps it. Such a literal is kept as its
 * source text in a `JSON.rawJSON` value, which `JSON.stringify` writes back verbatim.
 *
 * @module
 */

/** `JSON.rawJSON` and `JSON.isRawJSON` (ES2025; Deno's lib types do not have them yet). */
const RawJSON = JSON as unknown as {
  rawJSON(text: string): { rawJSON: string };
  isRawJSON(v: unknown): v is { rawJSON: string };
};

/** A line that may hold an integer beyond 2^53 (16 digits or more): only those pay the reviver. */
const LONG_DIGITS = /\d{16}/;

const INTEGER_LITERAL = /^-?\d+$/;

/** Keeps an integer literal that a double cannot hold as its source text (see the module). */
function keepBigIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined &&
    INTEGER_LITERAL.test(context.source)
  ) {
    return RawJSON.rawJSON(context.source);
  }
  return value;
}

/**
 * `JSON.parse(text)`, with every integer literal beyond 2^53 kept exactly (a raw JSON value). A
 * line without 16 digits in a row is parsed without a reviver, at the plain cost.
 */
export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepBigIntegers as (key: string, value: unknown) => unknown);
}

/** The text of a scalar as `String()` gives it, a kept integer's source text included. */
export function scalarText(v: unknown): string {
  return RawJSON.isRawJSON(v) ? v.rawJSON : String(v);
}

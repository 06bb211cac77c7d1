/**
 * CSV rows as the original's inputs use them.
 *
 * @module
 */

/** Splits one CSV row (RFC 4180 quoting, as Python's csv.reader reads it). */
export function splitCsvRow(line: string): string[] {
  const out: string[] = [];
  let field = "", quoted = false, i = 0;
  while (i < line.length) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') field += '"', i += 2;
      else if (c === '"') quoted = false, i++;
      else field += c, i++;
    } else if (c === '"' && field === "") quoted = true, i++;
    else if (c === ",") out.push(field), field = "", i++;
    else field += c, i++;
  }
  out.push(field);
  return out;
}

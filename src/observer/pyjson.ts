/**
 * JSON text exactly as Python's `json.dumps` (default arguments) writes it: `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`, floats as Python's `repr` (`1.0`, `1e+16`,
 * `1.5e-05`), `NaN`/`Infinity`. JavaScript numbers do not say whether they are floats, so the
 * caller names the keys whose values are Python floats; every other number prints as an integer
 * when it is one.
 *
 * @module
 */

const HEX = "0123456789abcdef";

/** A string as Python's `json.dumps` (ensure_ascii) quotes it. */
export function pyString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      default:
        out += "\\u" + HEX[(c >> 12) & 15] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15];
    }
  }
  return out + s.slice(start) + '"';
}

/** A number as Python's `repr(float(x))`. */
export function pyFloat(x: number): string {
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // shortest round-trip digits, the same digits Python's repr uses
  const e = x.toExponential();
  const ePos = e.indexOf("e");
  let mant = e.slice(0, ePos);
  const exp = Number(e.slice(ePos + 1));
  const neg = mant[0] === "-";
  if (neg) mant = mant.slice(1);
  const digits = mant.replace(".", "");
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    body = m + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
  } else if (exp < 0) {
    body = "0." + "0".repeat(-exp - 1) + digits;
  } else if (digits.length <= exp + 1) {
    body = digits + "0".repeat(exp + 1 - digits.length) + ".0";
  } else {
    body = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  }
  return neg ? "-" + body : body;
}

/** Any JSON value as `json.dumps` writes it; numbers print as floats when `asFloat`. */
export function pyValue(v: unknown, asFloat = false): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (asFloat || !Number.isInteger(v)) return pyFloat(v);
      return String(v);
    case "bigint":
      return v.toString();
    case "string":
      return pyString(v);
  }
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) s += (i ? ", " : "") + pyValue(v[i]);
    return s + "]";
  }
  if (typeof v === "object") {
    let s = "{";
    let first = true;
    for (const k in v as Record<string, unknown>) {
      s += (first ? "" : ", ") + pyString(k) + ": " + pyValue((v as Record<string, unknown>)[k]);
      first = false;
    }
    return s + "}";
  }
  return "null";
}

/**
 * A flow record (or any object) as one line of `json.dumps`, the values of `floatKeys` printed as
 * Python floats. Keys come out in insertion order, like a Python dict.
 */
export function pyRecord(rec: Record<string, unknown>, floatKeys: ReadonlySet<string>): string {
  let s = "{";
  let first = true;
  for (const k in rec) {
    const v = rec[k];
    if (!first) s += ", ";
    first = false;
    s += pyString(k) + ": ";
    if (typeof v === "number") {
      s += floatKeys.has(k) || !Number.isInteger(v) ? pyFloat(v) : String(v);
    } else if (typeof v === "boolean") {
      s += v ? "true" : "false";
    } else if (v === null || v === undefined) {
      s += "null";
    } else {
      s += pyValue(v);
    }
  }
  return s + "}";
}

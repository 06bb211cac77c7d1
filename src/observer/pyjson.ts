/**
 * JSON text exactly as Python's `json.dumps` (default arguments) writes it: `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`, floats as Python's `repr` (`1.0`, `1e+16`,
 * `1.5e-05`), `NaN`/`Infinity`. JavaScript numbers do not say whether they are floats, so the
 * caller names the keys whose values are Python floats; every other number prints as an integer
 * when it is one.
 *
 * @module
 */

import { compileShape, type Shape, type ShapeOut } from "./ndjson_shape.ts";

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
  // JavaScript and Python print the same shortest digits in fixed notation in this range
  const a = x < 0 ? -x : x;
  if (a >= 1e-4 && a < 1e16) return Number.isInteger(x) ? x + ".0" : "" + x;
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

const keyCache = new Map<string, string>();

/**
 * A flow record (or any object) as one line of `json.dumps`, the values of `floatKeys` printed as
 * Python floats. Keys come out in insertion order, like a Python dict.
 */
export function pyRecord(rec: Record<string, unknown>, floatKeys: ReadonlySet<string>): string {
  let s = "{";
  let first = true;
  for (const k in rec) {
    const v = rec[k];
    let key = keyCache.get(k);
    if (key === undefined) {
      key = pyString(k) + ": ";
      keyCache.set(k, key);
    }
    if (!first) s += ", ";
    first = false;
    s += key;
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

/** A key as written (`"name": `) and whether its values are floats. */
class KeyBytes {
  constructor(readonly bytes: Uint8Array, readonly float: boolean) {}
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Most record shapes a writer compiles; records of further shapes take the generic path. */
const MAX_SHAPES = 32;

const SHAPE_TEXT = { pyFloat, pyString, pyValue };

/**
 * Writes flow records as ndjson lines (Python `json.dumps` text) straight into a byte buffer, and
 * hands chunks of whole lines to `sink`: no intermediate strings for keys, integers, booleans or
 * ASCII strings. Call `flush()` to hand over what is buffered.
 *
 * For each list of keys it meets, the writer compiles a record writer (`ndjson_shape.ts`); a
 * record whose keys match none of them (more than `MAX_SHAPES` lists) is written field by field.
 */
export class NdjsonWriter implements ShapeOut {
  /** @internal the output bytes (ShapeOut). */
  buf: Uint8Array;
  /** @internal a view over `buf` (ShapeOut). */
  view: DataView;
  /** @internal next byte to write (ShapeOut). */
  pos = 0;
  /** @internal where the record being written starts (ShapeOut). */
  mark = 0;
  /** @internal bytes a record writer's value helpers keep free (ShapeOut). */
  reserve = 0;
  private readonly keys = new Map<string, KeyBytes>();
  private readonly enc = new TextEncoder();
  private shape: Shape | null = null;
  private readonly shapes = new Map<string, Shape>();

  /** `sink` receives each chunk (valid only during the call); `chunk` is the buffer size. */
  constructor(private readonly sink: (bytes: Uint8Array) => void, chunk = 1 << 20) {
    this.buf = new Uint8Array(chunk);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Appends one record and a newline. `floatKeys` names the fields printed as Python floats; a
   * writer remembers, per key, what the set said the first time it saw the key.
   */
  write(rec: Record<string, unknown>, floatKeys: ReadonlySet<string>): void {
    // the writer of the last shape, else the one of this record's keys (compiled on first use)
    const sh = this.shape;
    if (sh !== null && sh.write(rec, this)) return;
    const own = this.shapeOf(rec, floatKeys);
    if (own !== null && own.write(rec, this)) return;
    if (this.buf.length - this.pos < 4096) this.flush();
    this.mark = this.pos;
    this.byte(0x7b);
    let first = true;
    for (const k in rec) {
      const v = rec[k];
      if (!first) {
        this.byte(0x2c);
        this.byte(0x20);
      }
      first = false;
      const key = this.keyOf(k, floatKeys);
      this.bytes(key.bytes);
      if (typeof v === "number") {
        if (key.float || !Number.isInteger(v)) this.ascii(pyFloat(v));
        else if (v >= 0 && v <= 0x7fffffff) this.uint(v);
        else this.ascii(String(v));
      } else if (typeof v === "boolean") {
        this.arr(v ? TRUE : FALSE);
      } else if (v === null || v === undefined) {
        this.arr(NULL);
      } else if (typeof v === "string") {
        this.str(v);
      } else {
        this.ascii(pyValue(v));
      }
    }
    this.byte(0x7d);
    this.byte(0x0a);
  }

  /** Hands over everything buffered. */
  flush(): void {
    if (this.pos === 0) return;
    this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
    this.mark = 0;
  }

  /** @internal makes at least `n` bytes free after `pos` (ShapeOut). */
  room(n: number): void {
    if (this.buf.length - this.pos < n) this.grow(n);
  }

  /** A key's text, and its float-ness, fixed the first time this writer sees the key. */
  private keyOf(k: string, floatKeys: ReadonlySet<string>): KeyBytes {
    let key = this.keys.get(k);
    if (key === undefined) {
      key = new KeyBytes(this.enc.encode(pyString(k) + ": "), floatKeys.has(k));
      this.keys.set(k, key);
    }
    return key;
  }

  /** The compiled writer for the keys of `rec` (compiled on first use); null past MAX_SHAPES. */
  private shapeOf(rec: Record<string, unknown>, floatKeys: ReadonlySet<string>): Shape | null {
    const keys: string[] = [];
    for (const k in rec) keys.push(k);
    const id = keys.join("\u0000");
    let sh = this.shapes.get(id);
    if (sh === undefined) {
      if (this.shapes.size >= MAX_SHAPES) return null;
      sh = compileShape(
        keys,
        keys.map((k) => pyString(k) + ": "),
        keys.map((k) => this.keyOf(k, floatKeys).float),
        SHAPE_TEXT,
      );
      this.shapes.set(id, sh);
    }
    this.shape = sh;
    return sh;
  }

  private byte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  private arr(a: number[]): void {
    if (this.pos + a.length > this.buf.length) this.grow(a.length);
    for (let i = 0; i < a.length; i++) this.buf[this.pos++] = a[i]!;
  }

  private bytes(a: Uint8Array): void {
    if (this.pos + a.length > this.buf.length) this.grow(a.length);
    // keys are short: a loop beats a call to TypedArray.prototype.set
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < a.length; i++) b[p++] = a[i]!;
    this.pos = p;
  }

  /** Writes a string known to be ASCII (every JSON text made by `pyValue` is). */
  private ascii(s: string): void {
    if (this.pos + s.length > this.buf.length) this.grow(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  private uint(v: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    if (v < 10) {
      this.buf[this.pos++] = 0x30 + v;
      return;
    }
    let n = 0;
    for (let t = v; t > 0; t = (t / 10) | 0) n++;
    let p = this.pos + n;
    this.pos = p;
    for (let t = v; t > 0; t = (t / 10) | 0) this.buf[--p] = 0x30 + (t % 10);
  }

  private str(s: string): void {
    if (this.pos + s.length + 2 > this.buf.length) this.grow(s.length + 2);
    const start = this.pos;
    this.buf[this.pos++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.pos = start;
        this.ascii(pyString(s));
        return;
      }
      this.buf[this.pos++] = c;
    }
    this.buf[this.pos++] = 0x22;
  }

  /**
   * Hands over the finished records and moves the one being written (from `mark`) to the front,
   * so that no record is split between chunks; enlarges the buffer when `need` bytes still do not
   * fit after it.
   */
  private grow(need: number): void {
    const mark = this.mark;
    if (mark > 0) {
      this.sink(this.buf.subarray(0, mark));
      this.buf.copyWithin(0, mark, this.pos);
      this.pos -= mark;
      this.mark = 0;
    }
    if (this.buf.length - this.pos < need) {
      const bigger = new Uint8Array(2 * (this.pos + need));
      bigger.set(this.buf.subarray(0, this.pos));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
  }
}

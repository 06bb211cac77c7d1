/**
 * Generated record writers for `NdjsonWriter`: for one list of keys, a function that writes a
 * record with exactly those keys as one `json.dumps` line, straight into the writer's bytes.
 *
 * Records of one observer share their keys (chains set every field in `newFlow`), so the generic
 * writer's per-field work (key lookup in a map, copy of the key bytes, keyed property load) is
 * paid once, here: the constant text between values is laid out once and copied four bytes at a
 * time, and values are read by name (monomorphic loads). Values are written by small helpers with the same rules as
 * the generic path (`pyjson.ts`), so the bytes are the same.
 *
 * @module
 */

/** The writer's side of a generated record writer. */
export interface ShapeOut {
  /** The output bytes; may be replaced by `room`. */
  buf: Uint8Array;
  /** A view over `buf`, replaced with it. */
  view: DataView;
  /** Next byte to write. */
  pos: number;
  /** Bytes a value written through a helper must leave free (the record's reserve). */
  reserve: number;
  /** Makes at least `n` bytes free after `pos` (hands over full chunks, may replace `buf`). */
  room(n: number): void;
}

/** Text helpers the generated code calls for values that are not plain integers or constants. */
export interface ShapeText {
  /** `repr(float(x))`. */
  pyFloat(x: number): string;
  /** A string as `json.dumps` quotes it. */
  pyString(s: string): string;
  /** Any value as `json.dumps` writes it. */
  pyValue(v: unknown): string;
}

/** A generated writer of records with the keys `keys`, in that order. */
export interface Shape {
  readonly keys: readonly string[];
  readonly write: (rec: Record<string, unknown>, out: ShapeOut) => void;
}

/** Longest text of a value written without a capacity check: an integer up to 2^31-1. */
const SMALL = 10;

/**
 * Compiles the writer of one record shape. `keyText[i]` is the ASCII text of key `i` with its
 * separator (`"name": `), `float[i]` whether its numbers print as Python floats.
 */
export function compileShape(
  keys: readonly string[],
  keyText: readonly string[],
  float: readonly boolean[],
  text: ShapeText,
): Shape {
  const lines: string[] = [];
  // The constant text between values, laid end to end in `K` and copied by a small loop (`C`).
  // Small code compiles fast: with unrolled byte stores (700 per record of `observe basic tcp ecn
  // dscp`) the first 2,000 records ran in the interpreter, 10 µs each, while Maglev spent 13 ms
  // compiling the writer; the whole output of bench/out/mixed.pcap took 48 ms, now 32.
  const texts: string[] = [];
  let constant = 0;
  const put = (t: string) => {
    lines.push(`p = C(o, b, p, ${constant}, ${t.length});`);
    texts.push(t);
    constant += t.length;
  };
  for (let i = 0; i < keys.length; i++) {
    put((i === 0 ? "{" : ", ") + keyText[i]);
    lines.push(`p = ${float[i] ? "F" : "V"}(o, b, p, rec[${JSON.stringify(keys[i])}]);`);
    lines.push("b = o.buf;");
  }
  if (keys.length === 0) put("{");
  put("}\n");
  const K = new Uint8Array(constant);
  for (let i = 0, j = 0; i < texts.length; i++) {
    for (let c = 0; c < texts[i].length; c++) K[j++] = texts[i].charCodeAt(c);
  }
  // four bytes per step: the output is not aligned, DataView does not need it to be
  const KV = new DataView(K.buffer);
  const copyText = (o: ShapeOut, b: Uint8Array, p: number, from: number, n: number): number => {
    const v = o.view;
    let i = 0;
    for (; i + 4 <= n; i += 4) v.setUint32(p + i, KV.getUint32(from + i, true), true);
    for (; i < n; i++) b[p + i] = K[from + i];
    return p + n;
  };
  // enough for every constant and every value written unchecked (null, booleans, small integers)
  const reserve = constant + SMALL * keys.length;
  const src = `"use strict";
return function writeRecord(rec, o) {
  if (o.buf.length - o.pos < ${reserve}) o.room(${reserve});
  o.reserve = ${reserve};
  let b = o.buf;
  let p = o.pos;
  ${lines.join("\n  ")}
  o.pos = p;
};`;
  const write = new Function("V", "F", "C", src)(makeValue(text), makeFloat(text), copyText);
  return { keys, write };
}

type ValueWriter = (o: ShapeOut, b: Uint8Array, p: number, v: unknown) => number;

/** Writes ASCII text at `p`, first making room for it and the record's reserve. */
function ascii(o: ShapeOut, b: Uint8Array, p: number, s: string): number {
  const n = s.length;
  if (b.length - p < n + o.reserve) {
    o.pos = p;
    o.room(n + o.reserve);
    b = o.buf;
    p = o.pos;
  }
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  return p + n;
}

function makeValue(t: ShapeText): ValueWriter {
  /** A string: copied when it needs no escape, else `pyString`'s text. */
  const str = (o: ShapeOut, b: Uint8Array, p: number, s: string): number => {
    const n = s.length;
    if (b.length - p < n + 2 + o.reserve) {
      o.pos = p;
      o.room(n + 2 + o.reserve);
      b = o.buf;
      p = o.pos;
    }
    b[p] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return ascii(o, b, p, t.pyString(s));
      b[p + 1 + i] = c;
    }
    b[p + 1 + n] = 0x22;
    return p + n + 2;
  };
  return (o, b, p, v) => {
    if (typeof v === "number") {
      if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) {
        // digits written back to front (-0 is "0", as String(-0))
        let n = 1;
        for (let x = v; x >= 10; x = (x / 10) | 0) n++;
        let q = p + n;
        let x = v | 0;
        do {
          b[--q] = 0x30 + (x % 10);
          x = (x / 10) | 0;
        } while (x > 0);
        return p + n;
      }
      return ascii(o, b, p, Number.isInteger(v) ? String(v) : t.pyFloat(v));
    }
    if (v === null || v === undefined) {
      b[p] = 0x6e;
      b[p + 1] = 0x75;
      b[p + 2] = 0x6c;
      b[p + 3] = 0x6c;
      return p + 4;
    }
    if (v === true) {
      b[p] = 0x74;
      b[p + 1] = 0x72;
      b[p + 2] = 0x75;
      b[p + 3] = 0x65;
      return p + 4;
    }
    if (v === false) {
      b[p] = 0x66;
      b[p + 1] = 0x61;
      b[p + 2] = 0x6c;
      b[p + 3] = 0x73;
      b[p + 4] = 0x65;
      return p + 5;
    }
    if (typeof v === "string") return str(o, b, p, v);
    return ascii(o, b, p, t.pyValue(v));
  };
}

/** 2^30 and 2^32: the packet timestamps of 2004 to 2106 (see `writeTimestamp`). */
const TS_LOW = 1073741824;
const TS_HIGH = 4294967296;

/**
 * Writes `x` as `repr(float(x))` straight into the bytes when it is a capture timestamp with at
 * most 6 decimals, as `sec + usec / 1e6` makes it; returns -1 (nothing written) otherwise.
 *
 * Why the text is Python's: for 2^30 <= x < 2^32 the doubles are 2^-22 or 2^-21 apart, less than
 * 1e-6, so at most one decimal of 6 digits lies within half a step of `x`; and when
 * `s + f / 1e6 === x`, that decimal `s.f` reads back as `x` (its distance to a rounding midpoint,
 * at least 1e-6 * 2^-23, dwarfs the error of the inner division, 2^-54). So `s.f` without its
 * trailing zeros is the shortest text that reads back as `x`, which is what `repr` prints.
 */
function writeTimestamp(o: ShapeOut, b: Uint8Array, p: number, x: number): number {
  if (!(x >= TS_LOW && x < TS_HIGH)) return -1;
  const s = Math.floor(x);
  const f = Math.round((x - s) * 1e6);
  if (f >= 1000000 || s + f / 1e6 !== x) return -1;
  if (b.length - p < 18 + o.reserve) {
    o.pos = p;
    o.room(18 + o.reserve);
    b = o.buf;
    p = o.pos;
  }
  // the integer part: 10 digits (2^30 <= s < 2^32)
  let q = s;
  for (let i = 9; i >= 0; i--) {
    b[p + i] = 48 + (q % 10);
    q = Math.floor(q / 10);
  }
  p += 10;
  b[p++] = 46; // '.'
  if (f === 0) {
    b[p] = 48;
    return p + 1;
  }
  let digits = 6, r = f;
  while (r % 10 === 0) {
    r /= 10;
    digits--;
  }
  for (let i = digits - 1; i >= 0; i--) {
    b[p + i] = 48 + (r % 10);
    r = (r - (r % 10)) / 10;
  }
  return p + digits;
}

function makeFloat(t: ShapeText): ValueWriter {
  const value = makeValue(t);
  return (o, b, p, v) => {
    if (typeof v !== "number") return value(o, b, p, v);
    const end = writeTimestamp(o, b, p, v);
    return end >= 0 ? end : ascii(o, b, p, t.pyFloat(v));
  };
}

/**
 * Record writers for `NdjsonWriter`: for one list of keys, a function that writes a record with
 * exactly those keys as one `json.dumps` line, straight into the writer's bytes.
 *
 * Records of one observer share their keys (chains set every field in `newFlow`), so the text
 * around the values is laid out once per list of keys: for each field its separator and key, and
 * the same followed by `true`, `false` and `null`. A field holding one of those (most fields of a
 * flow record) costs one copy; other values are written by small helpers with the same rules as
 * the generic path (`pyjson.ts`), so the bytes are the same.
 *
 * The writer is one small loop, not code generated per shape: V8 optimises it early. Generated
 * code with statements per field (35 fields in `observe basic tcp ecn dscp`) never left V8's
 * middle tier on bench/out/mixed.pcap; its 17,000 records took 45-52 ms from cold and 33 ms warm
 * in a scratch benchmark, against 37-40 and 22.5 ms for this loop.
 *
 * @module
 */

/** The writer's side of a record writer. */
export interface ShapeOut {
  /** The output bytes; may be replaced by `room`. */
  buf: Uint8Array;
  /** A view over `buf`, replaced with it. */
  view: DataView;
  /** Next byte to write. */
  pos: number;
  /** Where the record being written starts; `room` keeps the bytes from here on in the buffer. */
  mark: number;
  /** Bytes a value written through a helper must leave free (the record's reserve). */
  reserve: number;
  /**
   * Makes at least `n` bytes free after `pos`: hands over the finished records before `mark`
   * and moves the one being written to the front, or enlarges `buf`. Updates `pos` and `mark`.
   */
  room(n: number): void;
}

/** Text helpers the record writers call for values that are not plain integers or constants. */
export interface ShapeText {
  /** `repr(float(x))`. */
  pyFloat(x: number): string;
  /** A string as `json.dumps` quotes it. */
  pyString(s: string): string;
  /** Any value as `json.dumps` writes it. */
  pyValue(v: unknown): string;
}

/** A writer of records with the keys given to `compileShape`, in that order. */
export interface Shape {
  /**
   * Writes `rec` and returns true; returns false, with nothing written, when the keys of `rec`
   * are not those keys in that order.
   */
  readonly write: (rec: Record<string, unknown>, out: ShapeOut) => boolean;
}

/** Longest text of a value written without a capacity check: an integer up to 2^31-1. */
const SMALL = 10;

/** Texts of a field: its key alone, then with each constant value after it. */
const BARE = 0, TRUE = 1, FALSE = 2, NULL = 3, VARIANTS = 4;

/**
 * Makes the writer of one record shape. `keyText[i]` is the ASCII text of key `i` with its
 * separator (`"name": `), `float[i]` whether its numbers print as Python floats.
 */
export function compileShape(
  keys: readonly string[],
  keyText: readonly string[],
  float: readonly boolean[],
  text: ShapeText,
): Shape {
  const nk = keys.length;
  const texts: string[] = [];
  for (let i = 0; i < nk; i++) {
    const key = (i === 0 ? "{" : ", ") + keyText[i];
    texts.push(key, key + "true", key + "false", key + "null");
  }
  texts.push(nk === 0 ? "{}\n" : "}\n");
  // The texts end to end in K, and where each starts (`at`) and how long it is (`len`). They are
  // copied 8 bytes a step, past their end when their length is not a multiple of 8 (the bytes
  // beyond are overwritten by what follows, or lie beyond the end of the output), so K has 8
  // spare bytes. As ASCII is never the bit pattern of a NaN, a float64 load and store copies it.
  const size = texts.reduce((n, t) => n + t.length, 0);
  const K = new Uint8Array(size + 8);
  const at = new Int32Array(texts.length);
  const len = new Int32Array(texts.length);
  for (let i = 0, j = 0; i < texts.length; i++) {
    const t = texts[i]!;
    at[i] = j;
    len[i] = t.length;
    for (let c = 0; c < t.length; c++) {
      const code = t.charCodeAt(c);
      if (code > 0x7f) throw new Error(`record key text is not ASCII: ${t}`);
      K[j++] = code;
    }
  }
  const KV = new DataView(K.buffer);
  const value = makeValue(text);
  const floatValue = makeFloat(text);
  // enough for every text, every value written unchecked (small integers) and the overrun
  let reserve = len[VARIANTS * nk]! + 8;
  for (let i = 0; i < nk; i++) reserve += len[VARIANTS * i]! + SMALL;
  const end = VARIANTS * nk;

  const write = (rec: Record<string, unknown>, o: ShapeOut): boolean => {
    o.mark = o.pos;
    if (o.buf.length - o.pos < reserve) o.room(reserve);
    o.reserve = reserve;
    let b = o.buf;
    let v = o.view;
    let p = o.pos;
    let i = 0;
    for (const k in rec) {
      if (k !== keys[i]) {
        o.pos = o.mark;
        return false;
      }
      const x = rec[k];
      const t = VARIANTS * i + (x === true ? TRUE : x === false ? FALSE : x === null ? NULL : BARE);
      const from = at[t]!;
      const n = len[t]!;
      for (let j = 0; j < n; j += 8) v.setFloat64(p + j, KV.getFloat64(from + j, true), true);
      p += n;
      if (t === VARIANTS * i) {
        p = float[i] ? floatValue(o, b, p, x) : value(o, b, p, x);
        b = o.buf;
        v = o.view;
      }
      i++;
    }
    if (i !== nk) {
      o.pos = o.mark;
      return false;
    }
    const from = at[end]!;
    const n = len[end]!;
    for (let j = 0; j < n; j += 8) v.setFloat64(p + j, KV.getFloat64(from + j, true), true);
    o.pos = p + n;
    return true;
  };
  return { write };
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

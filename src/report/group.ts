/**
 * `report --by`: the key a result is counted under, per kind of breakdown.
 *
 * @module
 */
import { EXIT, UserError } from "../errors.ts";
import type { AsnDb } from "../io/asndb.ts";
import { formatIp, parseIpInto } from "../wire/ip.ts";
import type { ResultFile } from "./read.ts";

/** Gives the group of a result read from `file`. */
export type GroupKey = (rec: Record<string, unknown>, file: ResultFile) => string;

/** The group of results whose key field is absent. */
export const NO_VALUE = "(none)";

/** Default prefix lengths of `--by prefix`: a /24 and a /48, the usual routed minimum. */
const DEFAULT_V4 = 24, DEFAULT_V6 = 48;

/**
 * The AS of a result's target: `dip_asn`, else `info.ASN` (Hellfire's), else the AS the path
 * names before the target (the original puts the source's AS first when it knows it); "unknown"
 * when none says.
 */
export function asnOfResult(rec: Record<string, unknown>): string {
  if (rec.dip_asn !== undefined && rec.dip_asn !== null) return `AS${rec.dip_asn}`;
  const info = rec.info as Record<string, unknown> | undefined;
  if (info && typeof info === "object" && info.ASN !== undefined) return `AS${info.ASN}`;
  const path = rec.path;
  if (Array.isArray(path)) {
    const ases = path.filter((p) => typeof p === "string" && /^AS\d+$/.test(p)) as string[];
    if (ases.length > 0 && rec.sip_asn !== undefined && ases[0] === `AS${rec.sip_asn}`) {
      ases.shift();
    }
    const last = ases.at(-1);
    if (last !== undefined) return last;
  }
  return "unknown";
}

const bytes = new Uint8Array(16);

/** The prefix of `addr` of `len4` (IPv4) or `len6` (IPv6) bits, as text; null if not an address. */
export function prefixOf(addr: unknown, len4: number, len6: number): string | null {
  if (typeof addr !== "string") return null;
  const v = parseIpInto(addr, bytes);
  if (v === 0) return null;
  const size = v === 4 ? 4 : 16, len = v === 4 ? len4 : len6;
  for (let i = 0; i < size; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    bytes[i]! &= (0xff00 >> keep) & 0xff;
  }
  return `${formatIp(bytes, 0, size as 4 | 16)}/${len}`;
}

/** A field of the result, dotted for nested objects (`info.rank`). */
function fieldOf(rec: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = rec;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/**
 * The key function of `--by SPEC`: `asn`, `prefix[/LEN|/LEN4,LEN6]`, `vantage` or a field name.
 * With `asnDb`, `asn` looks the target up there instead of reading the result. A malformed SPEC
 * is a usage error (exit 2).
 */
export function groupKeyOf(spec: string, asnDb: AsnDb | null): GroupKey {
  if (spec === "asn") {
    if (asnDb === null) return (rec) => asnOfResult(rec);
    return (rec) => {
      const asn = typeof rec.dip === "string" ? asnDb.asnOf(rec.dip) : 0;
      return asn === 0 ? "unknown" : `AS${asn}`;
    };
  }
  const m = /^prefix(?:\/(\d{1,3})(?:,(\d{1,3}))?)?$/.exec(spec);
  if (m) {
    const len4 = m[1] === undefined ? DEFAULT_V4 : Math.min(32, Number(m[1]));
    const len6 = m[2] !== undefined ? Number(m[2]) : m[1] === undefined ? DEFAULT_V6 : Number(m[1]);
    if (len6 > 128) {
      throw new UserError(`--by ${spec}: an IPv6 prefix has at most 128 bits`, EXIT.USAGE);
    }
    return (rec) => prefixOf(rec.dip, len4, len6) ?? NO_VALUE;
  }
  if (spec.startsWith("prefix")) {
    throw new UserError(
      `--by ${spec}: expected prefix, prefix/LEN or prefix/LEN4,LEN6`,
      EXIT.USAGE,
    );
  }
  if (spec === "vantage") {
    return (rec, file) => typeof rec.vantage === "string" ? rec.vantage : file.label;
  }
  if (spec === "" || spec.split(".").some((p) => p === "")) {
    throw new UserError(`--by: expected asn, prefix[/LEN], vantage or a field name`, EXIT.USAGE);
  }
  const path = spec.split(".");
  return (rec) => {
    const v = fieldOf(rec, path);
    if (v === undefined || v === null) return NO_VALUE;
    return typeof v === "string" ? v : JSON.stringify(v);
  };
}

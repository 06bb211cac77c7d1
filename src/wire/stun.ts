/**
 * STUN (RFC 8489) Binding messages: the request a client sends to learn its public address and
 * the XOR-MAPPED-ADDRESS (or, from an RFC 3489 server, MAPPED-ADDRESS) of the success response.
 *
 * Header (section 5): two zero bits and a 14-bit message type, a 16-bit length of the attributes
 * (a multiple of 4), the magic cookie 0x2112A442 and a 96-bit transaction id. Attributes
 * (section 14): 16-bit type, 16-bit length, value padded to 4 bytes.
 *
 * @module
 */
import { formatIp } from "./ip.ts";

/** The magic cookie of every RFC 5389/8489 message. */
export const MAGIC_COOKIE = 0x2112a442;
/** Binding request (method 0x001, class request). */
export const BINDING_REQUEST = 0x0001;
/** Binding success response. */
export const BINDING_SUCCESS = 0x0101;
/** Binding error response. */
export const BINDING_ERROR = 0x0111;
/** Attribute types used here. */
export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
} as const;

const HEADER = 20;

/** A Binding request with transaction id `txid` (12 bytes) and no attributes. */
export function bindingRequest(txid: Uint8Array): Uint8Array {
  if (txid.length !== 12) throw new RangeError("a STUN transaction id has 12 bytes");
  const msg = new Uint8Array(HEADER);
  const v = new DataView(msg.buffer);
  v.setUint16(0, BINDING_REQUEST);
  v.setUint16(2, 0);
  v.setUint32(4, MAGIC_COOKIE);
  msg.set(txid, 8);
  return msg;
}

/** The address a server saw, from a Binding success response. */
export interface MappedAddress {
  address: string;
  port: number;
  family: 4 | 6;
  /** Which attribute said it: the XOR form (RFC 5389+) or the plain one (RFC 3489). */
  from: "xor-mapped" | "mapped";
}

/**
 * Parses a response to the request with `txid`: the mapped address of a success, a string
 * saying why otherwise (not STUN, another transaction, an error response, no address).
 */
export function parseBindingResponse(msg: Uint8Array, txid: Uint8Array): MappedAddress | string {
  if (msg.length < HEADER) return "shorter than a STUN header";
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const type = v.getUint16(0), length = v.getUint16(2);
  if ((type & 0xc000) !== 0) return "not a STUN message";
  if (v.getUint32(4) !== MAGIC_COOKIE) return "no STUN magic cookie";
  if (length % 4 !== 0 || HEADER + length > msg.length) return "bad STUN message length";
  for (let i = 0; i < 12; i++) if (msg[8 + i] !== txid[i]) return "another transaction";
  let mapped: MappedAddress | null = null;
  let error: string | null = null;
  for (let off = HEADER; off + 4 <= HEADER + length;) {
    const at = v.getUint16(off), len = v.getUint16(off + 2);
    const val = off + 4;
    if (val + len > HEADER + length) return "attribute runs past the message";
    if (at === ATTR.XOR_MAPPED_ADDRESS) {
      const a = address(msg, val, len, msg.subarray(4, 20));
      if (a) mapped = { ...a, from: "xor-mapped" };
    } else if (at === ATTR.MAPPED_ADDRESS && mapped === null) {
      const a = address(msg, val, len, null);
      if (a) mapped = { ...a, from: "mapped" };
    } else if (at === ATTR.ERROR_CODE && len >= 4) {
      const code = (msg[val + 2]! & 7) * 100 + msg[val + 3]!;
      const reason = new TextDecoder().decode(msg.subarray(val + 4, val + len));
      error = `${code} ${reason}`.trim();
    }
    off = val + ((len + 3) & ~3);
  }
  if (type === BINDING_ERROR) return `error response ${error ?? ""}`.trim();
  if (type !== BINDING_SUCCESS) return `not a Binding response (type 0x${type.toString(16)})`;
  return mapped ?? "no mapped address in the response";
}

/**
 * An address attribute's value: reserved byte, family (1: IPv4, 2: IPv6), port, address; with
 * `xor` (the cookie and transaction id, 16 bytes), port and address XORed with it (section 14.2).
 */
function address(
  msg: Uint8Array,
  off: number,
  len: number,
  xor: Uint8Array | null,
): { address: string; port: number; family: 4 | 6 } | null {
  const fam = msg[off + 1];
  const n = fam === 1 ? 4 : fam === 2 ? 16 : 0;
  if (n === 0 || len < 4 + n) return null;
  let port = (msg[off + 2]! << 8) | msg[off + 3]!;
  const bytes = msg.slice(off + 4, off + 4 + n);
  if (xor) {
    port ^= (xor[0]! << 8) | xor[1]!;
    for (let i = 0; i < n; i++) bytes[i]! ^= xor[i]!;
  }
  return { address: formatIp(bytes), port, family: n === 4 ? 4 : 6 };
}

/** The IANA port of STUN over UDP. */
export const STUN_PORT = 3478;

/** `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 literal, as host and port; a string if malformed. */
export function parseStunServer(text: string): { host: string; port: number } | string {
  let host = text, port = STUN_PORT;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const i = text.indexOf(":");
    host = text.slice(0, i);
    port = /^\d+$/.test(text.slice(i + 1)) ? Number(text.slice(i + 1)) : NaN;
  }
  if (
    host === "" || /[\[\]\s\/]/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535
  ) {
    return `--stun must be HOST[:PORT] (IPv6 as [ADDR]:PORT): ${text}`;
  }
  return { host, port };
}

/**
 * HTTP/1.1 request building and response-head parsing for the `http` / `https` connection
 * helpers: just enough to send `GET /` and read the status line and headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildGetRequest, expectedBodyLength, parseHead } from "./http1.ts";
 *
 * const req = new TextDecoder().decode(buildGetRequest("www.example.test"));
 * assert(req.startsWith("GET / HTTP/1.1\r\n") && req.endsWith("\r\n\r\n"));
 * const resp = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
 * assert(parseHead(resp)?.status === 200 && expectedBodyLength(resp) === 5);
 * assert(parseHead(new TextEncoder().encode("SSH-2.0-x\r\n")) === null);
 * ```
 *
 * @module
 */

/** User agent the original sends (through curl). */
export const USER_AGENT = "PATHspider (https://pathspider.net/)";

/** Largest response head read before giving up on finding its end. */
export const MAX_HEAD_BYTES = 16384;

/** `expectedBodyLength` of a chunked body. */
export const CHUNKED = -1;

/** The end of a chunked body without trailers: the last chunk and the empty line. */
export const LAST_CHUNK = new TextEncoder().encode("\r\n0\r\n\r\n");

/** Most response bytes read in all: beyond this the helper stops reading and closes. */
export const MAX_RESPONSE_BYTES = 1 << 20;

/**
 * The `Host:` value for a job, as curl builds it from the URL: the job's `domain`, else the IP
 * (IPv6 in brackets); `:port` only when the port is not the scheme's default.
 */
export function hostHeader(dip: string, dp: number, domain: string | undefined, tls: boolean) {
  const host = domain !== undefined && domain !== ""
    ? domain
    : dip.includes(":")
    ? `[${dip}]`
    : dip;
  return dp === (tls ? 443 : 80) ? host : `${host}:${dp}`;
}

/** The bytes of `GET / HTTP/1.1` for `host`, asking the server to close after the response. */
export function buildGetRequest(host: string): Uint8Array {
  if (/[\r\n\0 ]/.test(host)) {
    throw new Error(`invalid host name for HTTP: ${JSON.stringify(host)}`);
  }
  return new TextEncoder().encode(
    `GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${USER_AGENT}\r\nAccept: */*\r\n` +
      "Connection: close\r\n\r\n",
  );
}

/** A parsed response head. */
export interface HttpHead {
  /** HTTP version from the status line, e.g. "1.1". */
  version: string;
  /** Status code (100..999). */
  status: number;
  /** The head as text (status line and header lines, CRLF separated, without the empty line). */
  text: string;
}

/**
 * Finds the end of the response head in `buf` (the index after the empty line), accepting bare
 * LF line ends as browsers do; -1 if the head is not complete yet.
 */
export function headEnd(buf: Uint8Array): number {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parses a status line (`HTTP/x.y NNN reason`) at the start of `buf`; the head may be incomplete
 * (the status is all a helper needs). Returns null if `buf` does not start with a valid status
 * line or holds no complete first line yet.
 */
export function parseHead(buf: Uint8Array): HttpHead | null {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return null;
  const end = headEnd(buf);
  const text = new TextDecoder("latin1").decode(buf.subarray(0, end < 0 ? buf.length : end))
    .replace(/\r?\n\r?\n$/, "");
  const first = text.slice(0, text.indexOf("\n") < 0 ? text.length : text.indexOf("\n"))
    .replace(/\r$/, "");
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: .*)?$/.exec(first);
  if (m === null) return null;
  return { version: m[1]!, status: Number(m[2]), text };
}

/**
 * Body length the head at the start of `buf` announces: 0 for 1xx, 204 and 304 (RFC 9112
 * §6.3), its Content-Length, `CHUNKED` for a chunked body (it ends with the last-chunk line), or
 * null when only the peer's end of stream ends the body or the head is not complete.
 */
export function expectedBodyLength(buf: Uint8Array): number | null {
  const end = headEnd(buf);
  if (end < 0) return null;
  const head = new TextDecoder("latin1").decode(buf.subarray(0, end));
  const status = /^HTTP\/\d\.\d (\d{3})/.exec(head);
  if (status && /^(1\d\d|204|304)$/.test(status[1]!)) return 0;
  if (/\ntransfer-encoding:[^\n]*chunked/i.test(head)) return CHUNKED;
  if (/\ntransfer-encoding:/i.test(head)) return null;
  const cl = /\ncontent-length:[ \t]*(\d+)[ \t]*\r?\n/i.exec(head);
  return cl === null ? null : Number(cl[1]);
}

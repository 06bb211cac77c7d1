/**
 * Just enough HTTP/2 (RFC 7540) for the `h2` plugin: the h2c upgrade request of §3.2, the
 * client connection preface of §3.5, and recognising the server's first SETTINGS frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptsH2c, clientPreface, PREFACE, serverPreface } from "./http2.ts";
 *
 * const p = clientPreface();
 * assert(new TextDecoder().decode(p.subarray(0, PREFACE.length)) === PREFACE);
 * assert(serverPreface(p.subarray(PREFACE.length)) === "settings"); // a SETTINGS frame, stream 0
 * assert(serverPreface(Uint8Array.of(0, 0, 0, 1)) === null); // not a whole frame header yet
 * assert(acceptsH2c(101, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c"));
 * ```
 *
 * @module
 */

import { USER_AGENT } from "./http1.ts";

/** The client connection preface (RFC 7540 §3.5), without the SETTINGS frame that follows it. */
export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Frame type SETTINGS. */
export const FRAME_SETTINGS = 4;

/**
 * Our SETTINGS payload: SETTINGS_ENABLE_PUSH (2) = 0 and SETTINGS_INITIAL_WINDOW_SIZE (4) =
 * 65535, six bytes per setting.
 */
const SETTINGS_PAYLOAD = Uint8Array.from([0, 2, 0, 0, 0, 0, 0, 4, 0, 0, 0xff, 0xff]);

/** base64url without padding (RFC 7540 §3.2.1's token68 for HTTP2-Settings). */
function base64url(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * `GET /` asking to upgrade to h2c (RFC 7540 §3.2): `Upgrade: h2c` and `HTTP2-Settings`, both
 * named in `Connection` as the RFC requires.
 */
export function buildH2cUpgradeRequest(host: string): Uint8Array {
  if (/[\r\n\0 ]/.test(host)) {
    throw new Error(`invalid host name for HTTP: ${JSON.stringify(host)}`);
  }
  return new TextEncoder().encode(
    `GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${USER_AGENT}\r\nAccept: */*\r\n` +
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
      `HTTP2-Settings: ${base64url(SETTINGS_PAYLOAD)}\r\n\r\n`,
  );
}

/** True when a response head accepts the h2c upgrade: 101 and `Upgrade: h2c`. */
export function acceptsH2c(status: number, head: string): boolean {
  return status === 101 && /^upgrade:[ \t]*h2c[ \t]*$/im.test(head);
}

/** The preface and an empty-ish SETTINGS frame: what a client sends first over TLS with h2. */
export function clientPreface(): Uint8Array {
  const p = new TextEncoder().encode(PREFACE);
  const out = new Uint8Array(p.length + 9 + SETTINGS_PAYLOAD.length);
  out.set(p);
  const f = p.length;
  out[f + 2] = SETTINGS_PAYLOAD.length; // 24-bit length (< 256 here)
  out[f + 3] = FRAME_SETTINGS; // type; flags 0, stream 0
  out.set(SETTINGS_PAYLOAD, f + 9);
  return out;
}

/**
 * Looks at the start of what the server sent after the h2 handshake: "settings" when it is a
 * SETTINGS frame on stream 0 without ACK (the server preface, §3.5), "other" when it is
 * something else, null when fewer than 9 bytes (a frame header) arrived.
 */
export function serverPreface(buf: Uint8Array): "settings" | "other" | null {
  if (buf.length < 9) return null;
  const stream = ((buf[5]! & 0x7f) << 24) | (buf[6]! << 16) | (buf[7]! << 8) | buf[8]!;
  return buf[3] === FRAME_SETTINGS && (buf[4]! & 1) === 0 && stream === 0 ? "settings" : "other";
}

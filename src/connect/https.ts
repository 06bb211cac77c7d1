/**
 * The `https` connection helper: TLS (SNI from the job's `domain`, certificate NOT verified, as
 * the original's curl options), then `GET /` and the response head, like `http`.
 *
 * Deno's TLS cannot run over the reactor's sockets, so this helper uses `node:tls` over Deno's
 * own socket and cannot mark it (no ToS, MSS or fast open): it serves only unmarked
 * configurations (ecn, mss, h2), as `marks: false` tells the engine.
 *
 * @module
 */

import * as tls from "node:tls";
import { ipVersion } from "../wire/ip.ts";
import { buildGetRequest, headEnd, hostHeader, MAX_HEAD_BYTES, parseHead } from "../wire/http1.ts";
import { clientPreface, serverPreface } from "../wire/http2.ts";
import { jobPort } from "./socket_exchange.ts";
import {
  CONN_FAILED,
  CONN_OK,
  CONN_TIMEOUT,
  type ConnectHelper,
  type ConnResult,
  type HelperCall,
} from "./types.ts";

function run(call: HelperCall): Promise<ConnResult> {
  const o = call.opts;
  if (o.tos !== undefined || o.mss !== undefined || o.fastOpen) {
    throw new Error("the https helper cannot mark its socket (ToS, MSS, fast open)");
  }
  const port = jobPort(call, httpsHelper.defaultPort);
  const dip = call.job.dip;
  if (port === null || ipVersion(dip) === 0) {
    return Promise.resolve({ sip: "", sp: 0, spdr_state: CONN_FAILED });
  }
  const domain = typeof call.job.domain === "string" && call.job.domain !== ""
    ? call.job.domain
    : undefined;
  let request: Uint8Array;
  try {
    request = buildGetRequest(hostHeader(dip, port, domain, true));
  } catch {
    return Promise.resolve({ sip: "", sp: 0, spdr_state: CONN_FAILED });
  }
  return new Promise((resolve) => {
    let sip = "", sp = 0;
    let buf = new Uint8Array(0);
    let settled = false;
    const options: tls.ConnectionOptions & { localAddress?: string } = {
      host: dip,
      port,
      // SNI only for a name: RFC 6066 forbids IP literals in server_name
      servername: domain ?? "",
      rejectUnauthorized: false,
    };
    if (o.source !== undefined) options.localAddress = o.source;
    // the h2 plugin: ALPN h2 before http/1.1 for its experiment, http/1.1 alone for its baseline
    if (o.http2 !== undefined) options.ALPNProtocols = o.http2 ? ["h2", "http/1.1"] : ["http/1.1"];
    let h2 = false;
    const s = tls.connect(options);
    const finish = (state: number, extra: Record<string, unknown> = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (sp === 0 && s.localPort) [sip, sp] = [s.localAddress ?? "", s.localPort];
      s.destroy();
      resolve({ sip, sp, spdr_state: state, ...extra });
    };
    const timer = setTimeout(() => {
      const head = parseHead(buf);
      if (head !== null) finish(CONN_OK, headFields(head));
      else finish(CONN_TIMEOUT);
    }, call.timeoutMs);
    // the TCP connect (before the TLS handshake): the local port is known from here on
    s.once("connect", () => {
      if (s.localPort) [sip, sp] = [s.localAddress ?? "", s.localPort];
    });
    s.once("secureConnect", () => {
      // the server picked h2: speak HTTP/2 (RFC 7540 §3.3), the request line would be an error
      h2 = o.http2 === true && s.alpnProtocol === "h2";
      s.write(h2 ? clientPreface() : request);
    });
    s.on("data", (d: Uint8Array) => {
      const next = new Uint8Array(buf.length + d.length);
      next.set(buf);
      next.set(d, buf.length);
      buf = next;
      if (h2 ? serverPreface(buf) !== null : headEnd(buf) >= 0 || buf.length >= MAX_HEAD_BYTES) {
        settle();
      }
    });
    const settle = () => {
      if (h2) {
        const ok = serverPreface(buf) === "settings";
        finish(ok ? CONN_OK : CONN_FAILED, { tls_alpn: "h2", http_version: "2" });
        return;
      }
      const head = parseHead(buf);
      const extra = o.http2 === undefined || head === null
        ? {}
        : { tls_alpn: s.alpnProtocol || null, http_version: head.version };
      finish(
        head === null ? CONN_FAILED : CONN_OK,
        head === null ? {} : { ...headFields(head), ...extra },
      );
    };
    s.once("end", settle);
    s.once("close", settle);
    s.once("error", () => finish(CONN_FAILED));
  });
}

function headFields(head: { status: number; text: string }): Record<string, unknown> {
  return { http_response_code: head.status, http_response_header: head.text };
}

/** GET / over TLS (unmarked). */
export const httpsHelper: ConnectHelper = { name: "https", defaultPort: 443, marks: false, run };

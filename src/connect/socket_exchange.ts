/**
 * The part every reactor-based helper shares: open a marked connection, report its outcome as
 * a `ConnResult`, and run a request/response exchange under one deadline.
 *
 * @module
 */

import type { ConnectResult, Socket } from "../ffi/sockets.ts";
import { CONN_FAILED, CONN_TIMEOUT, type ConnResult, type HelperCall } from "./types.ts";

/** The job's destination port, or `fallback`; null if the job's `dp` is not a valid port. */
export function jobPort(call: HelperCall, fallback: number): number | null {
  const dp = call.job.dp ?? fallback;
  return Number.isInteger(dp) && dp > 0 && dp < 65536 ? dp : null;
}

/** A result for an exchange that ended in `state`, with the socket's local endpoint. */
export function result(c: ConnectResult | null, state: number): ConnResult {
  const local = c?.local ?? null;
  return { sip: local?.addr ?? "", sp: local?.port ?? 0, spdr_state: state };
}

/** Milliseconds left until `deadline` (performance.now() based), at least 0. */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

/** Opens the helper's connection with the call's marking options. */
export function openConnection(
  call: HelperCall,
  proto: "tcp" | "udp",
  port: number,
  firstBytes?: Uint8Array,
): Promise<ConnectResult> {
  const o = call.opts;
  return call.reactor.connect({
    addr: call.job.dip,
    port,
    proto,
    tos: o.tos,
    mss: proto === "tcp" ? o.mss : undefined,
    fastOpenData: proto === "tcp" && o.fastOpen && firstBytes?.length ? firstBytes : undefined,
    source: o.source !== undefined ? { addr: o.source } : undefined,
    timeoutMs: call.timeoutMs,
  });
}

/** Failure state of an I/O result: TIMEOUT when the deadline passed, FAILED otherwise. */
export function failState(io: { timedOut: boolean }): number {
  return io.timedOut ? CONN_TIMEOUT : CONN_FAILED;
}

/**
 * Reads from `sock` until `complete(buf)` says the reply is there, the peer closes, `max` bytes
 * arrived or the deadline passes. Returns the bytes and how reading ended.
 */
export async function readUntil(
  sock: Socket,
  deadline: number,
  max: number,
  complete: (buf: Uint8Array) => boolean,
): Promise<{ buf: Uint8Array; end: "complete" | "eof" | "full" | "timeout" | "error" }> {
  let buf = new Uint8Array(0);
  for (;;) {
    const io = await sock.recv(Math.min(65536, max - buf.length), remaining(deadline));
    if (!io.ok) return { buf, end: io.timedOut ? "timeout" : "error" };
    if (io.data.length === 0) return { buf, end: "eof" };
    const next = new Uint8Array(buf.length + io.data.length);
    next.set(buf);
    next.set(io.data, buf.length);
    buf = next;
    if (complete(buf)) return { buf, end: "complete" };
    if (buf.length >= max) return { buf, end: "full" };
  }
}

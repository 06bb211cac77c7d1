/**
 * Sockets with per-socket marking, through the Rust reactor of `capture-ffi` (`ps_reactor_*`,
 * `ps_sock_*`; the ABI is in docs/architecture.md).
 *
 * Deno's own sockets expose no fd and no setsockopt, so a connection that must carry a DSCP
 * (IP_TOS / IPV6_TCLASS), an MSS or fast-open data is opened in Rust. Submissions never block;
 * completions come back in batches from ONE `ps_reactor_poll` in flight at a time (declared
 * `nonblocking`, so it waits on Deno's blocking thread pool, not the event loop), and are
 * dispatched to promises by token. Timeouts are kept here, as deadlines the poll loop checks (no
 * timer per operation: a long run starts thousands of operations a second): an overdue operation
 * resolves as timed out and closes its socket (its pending operations are dropped in Rust).
 *
 * @example
 * ```ts
 * const reactor = Reactor.open();
 * const c = await reactor.connect({ addr: "198.18.0.2", port: 80, tos: 46 << 2, timeoutMs: 5000 });
 * if (c.ok) await c.socket.send(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"), 5000);
 * c.socket.close();
 * reactor.close();
 * ```
 * @module
 */

import { libraryMessage, openProjectLibrary } from "./library.ts";
import { formatIp, parseIpInto } from "../wire/ip.ts";

const SYMBOLS = {
  ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ps_handle_error: { parameters: ["i64", "buffer", "u32"], result: "i32" },
  ps_reactor_open: { parameters: ["buffer"], result: "i32" },
  ps_reactor_close: { parameters: ["i64"], result: "i32" },
  ps_reactor_wake: { parameters: ["i64"], result: "i32" },
  ps_reactor_open_sockets: { parameters: ["i64"], result: "i32" },
  ps_reactor_poll: {
    parameters: ["i64", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  ps_sock_connect: {
    parameters: ["i64", "buffer", "u32", "buffer", "u32", "u64", "buffer"],
    result: "i32",
  },
  ps_sock_send: { parameters: ["i64", "buffer", "u32", "u64"], result: "i32" },
  ps_sock_recv: { parameters: ["i64", "u32", "u64"], result: "i32" },
  ps_sock_local: { parameters: ["i64", "buffer"], result: "i32" },
  ps_sock_close: { parameters: ["i64", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Symbols | null = null;

/** The socket symbols of the project's library (src/ffi/library.ts finds and opens it). */
function symbols(): Symbols {
  if (lib === null) {
    try {
      lib = openProjectLibrary(SYMBOLS);
    } catch (e) {
      throw new SocketError(-2, (e as Error).message);
    }
  }
  return lib;
}

/** A failed reactor call (not a failed connection: those are values). */
export class SocketError extends Error {
  /** The C ABI status code (negative). */
  code: number;
  /** @param code status code @param message one-line message */
  constructor(code: number, message: string) {
    super(message);
    this.name = "SocketError";
    this.code = code;
  }
}

/**
 * `status` when it is not an error; else throws the library's message. With `handle`, the
 * message kept with that handle (its call ran on another thread: see `libraryMessage`).
 */
function check(status: number, what: string, handle?: bigint): number {
  if (status >= 0) return status;
  const msg = libraryMessage(symbols(), handle);
  throw new SocketError(status, `${what}: ${msg || `status ${status}`}`);
}

// Linux errno values the connection helpers tell apart.
/** Connection refused. */
export const ECONNREFUSED = 111;
/** Connection reset by peer. */
export const ECONNRESET = 104;
/** Connection timed out (kernel-side, e.g. SYN retries exhausted). */
export const ETIMEDOUT = 110;
/** Cannot assign requested address (no such source address). */
export const EADDRNOTAVAIL = 99;

/** A local (or remote) endpoint. */
export interface Endpoint {
  addr: string;
  port: number;
}

/** What to connect to and how to mark the socket. */
export interface ConnectRequest {
  /** Destination IPv4 or IPv6 literal. */
  addr: string;
  port: number;
  /** "tcp" (default) or "udp" (a connected UDP socket: send/recv go to/from `addr` only). */
  proto?: "tcp" | "udp";
  /** Full ToS / traffic-class byte (DSCP << 2 | ECN). For TCP, Linux keeps its own ECN bits. */
  tos?: number;
  /** TCP_MAXSEG: the MSS advertised in the SYN. */
  mss?: number;
  /** TCP fast open: this data goes out with the SYN when a cookie is cached. */
  fastOpenData?: Uint8Array;
  /** Source address (and port, default any) to bind before connecting. */
  source?: { addr: string; port?: number };
  /** TCP_NODELAY. */
  noDelay?: boolean;
  /** Give up (and close the socket) after this long. */
  timeoutMs: number;
}

/** Outcome of a connect. The socket is returned in every case and must be closed. */
export interface ConnectResult {
  ok: boolean;
  /** The connect did not finish before the timeout (the socket is already closed). */
  timedOut: boolean;
  /** errno of a failed connect (0 when ok or timed out). */
  errno: number;
  /** Local address and port, also after a failure when the kernel had chosen a port. */
  local: Endpoint | null;
  socket: Socket;
}

/** Outcome of a send or receive. */
export interface IoResult {
  ok: boolean;
  timedOut: boolean;
  errno: number;
  /** Received bytes (empty at end of stream); empty for sends. */
  data: Uint8Array;
  /** Bytes written by a send. */
  bytes: number;
}

interface Waiter {
  resolve: (ev: Completion) => void;
  /** When the operation times out (performance.now() ms). */
  deadline: number;
  onTimeout: () => void;
}

interface Completion {
  kind: number;
  status: number;
  local: Endpoint | null;
  data: Uint8Array;
}

const KIND_CONNECT = 1;
const OPTS_LEN = 48;
const EVENT_HEADER = 40;
/** Longest wait of one poll, ms: also how late a stop or a close is noticed. */
const POLL_MS = 500;

// Scratch buffers of `connect` (its FFI call reads them before it returns): no allocation per
// connection for its options, addresses and handle.
const connectOpts = new Uint8Array(OPTS_LEN);
const connectView = new DataView(connectOpts.buffer);
const addrScratch = new Uint8Array(16);
const addrScratch4 = addrScratch.subarray(0, 4);
const handleOut = new BigInt64Array(1);
const handleOutBytes = new Uint8Array(handleOut.buffer);
const NO_DATA = new Uint8Array(0);

/** What an operation that timed out completes with (shared: nobody writes to it). */
const TIMED_OUT: Completion = { kind: 0, status: -ETIMEDOUT, local: null, data: NO_DATA };

const open = new Set<Reactor>();
globalThis.addEventListener("unload", () => {
  for (const r of [...open]) r.close();
});

/** One epoll reactor with its sockets; one poll loop in flight while anything is pending. */
export class Reactor {
  #h: bigint;
  #waiters = new Map<number, Waiter>();
  #token = 1;
  #loop: Promise<void> | null = null;
  #buf: Uint8Array;
  #view: DataView;
  #closed = false;
  #loopError: SocketError | null = null;
  /** No operation times out before this (performance.now() ms). */
  #due = Infinity;
  /** When the poll in flight returns at the latest (0: none in flight). */
  #pollEnd = 0;

  private constructor(h: bigint, bufBytes: number) {
    this.#h = h;
    this.#buf = new Uint8Array(bufBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Opens a reactor; `bufBytes` is the completion buffer filled by each poll (default 1 MiB). */
  static open(bufBytes = 1 << 20): Reactor {
    const out = new BigInt64Array(1);
    check(symbols().ps_reactor_open(new Uint8Array(out.buffer)), "open socket reactor");
    const r = new Reactor(out[0]!, Math.max(bufBytes, 65536 + EVENT_HEADER + 8));
    open.add(r);
    return r;
  }

  /** Number of sockets still open in Rust (for leak checks). */
  openSockets(): number {
    return check(symbols().ps_reactor_open_sockets(this.#h), "count sockets");
  }

  /** Operations waiting for completion. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** Closes the reactor and every socket it holds; pending operations resolve as timed out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    const left = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of left) w.resolve(TIMED_OUT);
    symbols().ps_reactor_close(this.#h);
  }

  /** Starts a connect and resolves when it completes, fails or times out. */
  connect(req: ConnectRequest): Promise<ConnectResult> {
    const opts = connectOpts, v = connectView;
    opts.fill(0);
    const family = parseIpInto(req.addr, addrScratch);
    if (family === 0) throw new SocketError(-8, `not an IP address: ${req.addr}`);
    opts.set(family === 4 ? addrScratch4 : addrScratch, 16);
    opts[0] = family;
    opts[1] = req.proto === "udp" ? 17 : 6;
    v.setUint16(2, req.port, true);
    let flags = 0;
    if (req.tos !== undefined) {
      flags |= 1;
      opts[8] = req.tos & 0xff;
    }
    if (req.mss !== undefined) {
      flags |= 2;
      v.setUint16(10, req.mss, true);
    }
    if (req.source !== undefined) {
      if (parseIpInto(req.source.addr, addrScratch) !== family) {
        throw new SocketError(-8, `source ${req.source.addr} does not match ${req.addr}`);
      }
      flags |= 4;
      v.setUint16(12, req.source.port ?? 0, true);
      opts.set(family === 4 ? addrScratch4 : addrScratch, 32);
    }
    const data = req.fastOpenData ?? NO_DATA;
    if (req.fastOpenData !== undefined) flags |= 8;
    if (req.noDelay) flags |= 16;
    v.setUint32(4, flags, true);
    const token = this.#nextToken();
    this.#assertOpen();
    check(
      symbols().ps_sock_connect(
        this.#h,
        opts,
        OPTS_LEN,
        data.length ? data : null,
        data.length,
        BigInt(token),
        handleOutBytes,
      ),
      `connect to ${req.addr} port ${req.port}`,
    );
    const socket = new Socket(this, handleOut[0]!);
    let localAtTimeout: Endpoint | null = null;
    const onTimeout = () => {
      // the port was chosen when the SYN left: report it although the handshake never ended
      localAtTimeout = socket.local();
      socket.close(true);
    };
    return this.#wait(token, req.timeoutMs, onTimeout).then((ev) => {
      const timedOut = ev.kind === 0;
      return {
        ok: !timedOut && ev.status >= 0,
        timedOut,
        errno: timedOut ? 0 : Math.max(0, -ev.status),
        local: ev.local ?? localAtTimeout ?? socket.local(),
        socket,
      };
    });
  }

  /** @internal submits a send for `Socket`. */
  submitSend(h: bigint, bytes: Uint8Array, timeoutMs: number, onTimeout: () => void) {
    this.#assertOpen();
    const token = this.#nextToken();
    check(symbols().ps_sock_send(h, bytes, bytes.length, BigInt(token)), "send");
    return this.#wait(token, timeoutMs, onTimeout);
  }

  /** @internal submits a receive for `Socket`. */
  submitRecv(h: bigint, max: number, timeoutMs: number, onTimeout: () => void) {
    this.#assertOpen();
    const token = this.#nextToken();
    check(symbols().ps_sock_recv(h, max, BigInt(token)), "receive");
    return this.#wait(token, timeoutMs, onTimeout);
  }

  /** @internal */
  get handle(): bigint {
    return this.#h;
  }

  /** @internal */
  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen() {
    if (this.#closed) throw new SocketError(-9, "socket reactor is closed");
    if (this.#loopError) throw this.#loopError;
  }

  #nextToken(): number {
    const t = this.#token;
    this.#token = t >= Number.MAX_SAFE_INTEGER ? 1 : t + 1;
    return t;
  }

  #wait(token: number, timeoutMs: number, onTimeout: () => void): Promise<Completion> {
    return new Promise<Completion>((resolve) => {
      const deadline = performance.now() + Math.max(0, timeoutMs);
      this.#waiters.set(token, { resolve, deadline, onTimeout });
      if (deadline < this.#due) {
        this.#due = deadline;
        // the poll in flight would sleep past this deadline: make it return and wait less
        if (this.#loop !== null && deadline < this.#pollEnd) symbols().ps_reactor_wake(this.#h);
      }
      if (this.#loop === null) this.#loop = this.#run();
    });
  }

  /** Times out every operation whose deadline has passed; finds the next deadline. */
  #expire(): void {
    const now = performance.now();
    if (now < this.#due) return;
    let due = Infinity;
    const overdue: Waiter[] = [];
    for (const [token, w] of this.#waiters) {
      if (w.deadline <= now) {
        this.#waiters.delete(token);
        overdue.push(w);
      } else if (w.deadline < due) due = w.deadline;
    }
    this.#due = due;
    for (const w of overdue) {
      w.onTimeout();
      w.resolve(TIMED_OUT);
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#waiters.size > 0 && !this.#closed) {
        const wait = Math.max(0, Math.min(POLL_MS, Math.ceil(this.#due - performance.now())));
        this.#pollEnd = performance.now() + wait;
        const n = await symbols().ps_reactor_poll(this.#h, this.#buf, this.#buf.length, wait);
        this.#pollEnd = 0;
        if (this.#closed) break;
        if (n < 0) {
          // cannot happen short of a broken epoll fd: fail everything pending, refuse new work
          try {
            check(n, "socket reactor poll", this.#h);
          } catch (e) {
            this.#loopError = e as SocketError;
          }
          this.close();
          break;
        }
        this.#dispatch(n);
        this.#expire();
      }
    } finally {
      this.#loop = null;
    }
  }

  #dispatch(n: number) {
    const v = this.#view;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const token = Number(v.getBigUint64(off, true));
      const kind = v.getUint8(off + 8);
      const family = v.getUint8(off + 9);
      const port = v.getUint16(off + 10, true);
      const status = v.getInt32(off + 12, true);
      const len = v.getUint32(off + 16, true);
      const w = this.#waiters.get(token);
      if (w !== undefined) {
        this.#waiters.delete(token);
        let local: Endpoint | null = null;
        if (kind === KIND_CONNECT && family !== 0) {
          local = { addr: formatIp(this.#buf, off + 24, family === 4 ? 4 : 16), port };
        }
        const data = this.#buf.slice(off + EVENT_HEADER, off + EVENT_HEADER + len);
        w.resolve({ kind, status, local, data });
      }
      off += (EVENT_HEADER + len + 7) & ~7;
    }
  }
}

/** A socket of a reactor. Close it when done (closing twice is harmless). */
export class Socket {
  #r: Reactor;
  #h: bigint;
  #closed = false;

  /** @internal use `Reactor.connect` */
  constructor(r: Reactor, h: bigint) {
    this.#r = r;
    this.#h = h;
  }

  /** Whether `close` was called (or a timeout closed it). */
  get closed(): boolean {
    return this.#closed || this.#r.closed;
  }

  /** Sends all of `bytes`; on timeout the socket is closed. */
  async send(bytes: Uint8Array, timeoutMs: number): Promise<IoResult> {
    if (this.closed) return ioClosed();
    const ev = await this.#r.submitSend(this.#h, bytes, timeoutMs, () => this.close(true));
    return ioResult(ev);
  }

  /**
   * Receives up to `max` bytes (1..65536), as soon as any arrived; empty data = end of stream.
   * On timeout the socket is closed.
   */
  async recv(max: number, timeoutMs: number): Promise<IoResult> {
    if (this.closed) return ioClosed();
    const ev = await this.#r.submitRecv(this.#h, max, timeoutMs, () => this.close(true));
    return ioResult(ev);
  }

  /** The local endpoint, or null if the socket has none (or is closed). */
  local(): Endpoint | null {
    if (this.closed) return null;
    const a = new Uint8Array(16);
    const st = symbols().ps_sock_local(this.#h, a);
    if (st <= 0) return null;
    const family = st >> 16;
    return { addr: formatIp(a, 0, family === 4 ? 4 : 16), port: st & 0xffff };
  }

  /** Closes the socket: an orderly FIN, or a reset with `abort` (SO_LINGER 0). */
  close(abort = false): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#r.closed) symbols().ps_sock_close(this.#h, abort ? 1 : 0);
  }
}

function ioResult(ev: Completion): IoResult {
  const timedOut = ev.kind === 0;
  const ok = !timedOut && ev.status >= 0;
  return {
    ok,
    timedOut,
    errno: ok || timedOut ? 0 : -ev.status,
    data: ev.data,
    bytes: ok ? ev.status : 0,
  };
}

function ioClosed(): IoResult {
  return { ok: false, timedOut: false, errno: 9, /* EBADF */ data: new Uint8Array(0), bytes: 0 };
}

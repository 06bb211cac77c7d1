/**
 * Finds and opens the native library `libpathspider_capture.so` (the Rust crate `capture-ffi/`).
 *
 * Lookup: the environment variable `PATHSPIDER_CAPTURE_LIB` if set, else the path relative to this
 * module, `../../capture-ffi/target/release/libpathspider_capture.so`. In a `deno compile`d binary
 * built with `--include capture-ffi/target/release/libpathspider_capture.so`, that relative path
 * points into the embedded file system. `Deno.dlopen` of an embedded file works since Deno 2.3
 * (denoland/deno#27068): the runtime extracts the library to a temporary file and opens that
 * (deno's cli/rt/file_system.rs). Should that fail, we do the same ourselves.
 *
 * Only `src/ffi/` may use the opened library.
 * @module
 */

import { CaptureError, Status } from "./status.ts";

/** Environment variable naming the library file explicitly. */
export const LIBRARY_ENV = "PATHSPIDER_CAPTURE_LIB";

/** Location of the library relative to this module (source tree, or a compiled binary's VFS). */
export const RELATIVE_LIBRARY_URL = "../../capture-ffi/target/release/libpathspider_capture.so";

/** The C ABI of the library, as `Deno.dlopen` symbol definitions. */
export const SYMBOLS = {
  ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ps_handle_error: { parameters: ["i64", "buffer", "u32"], result: "i32" },
  ps_capture_open_live: {
    parameters: ["buffer", "u32", "u32", "buffer", "buffer"],
    result: "i32",
  },
  ps_capture_open_file: { parameters: ["buffer", "buffer"], result: "i32" },
  /** For files: synchronous, a file never waits and the thread pool would only add latency. */
  ps_capture_next: { parameters: ["i64", "buffer", "u32", "i32"], result: "i32" },
  /** For live interfaces: runs on Deno's blocking pool so the event loop stays free. */
  ps_capture_next_live: {
    name: "ps_capture_next",
    parameters: ["i64", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** For files: lends the next batch read ahead, without copying it. */
  ps_capture_take: { parameters: ["i64", "u32", "i32", "buffer"], result: "i32" },
  /** The same, waiting on Deno's blocking pool: the event loop runs meanwhile (signals). */
  ps_capture_take_wait: {
    name: "ps_capture_take",
    parameters: ["i64", "u32", "i32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  ps_capture_stats: { parameters: ["i64", "buffer"], result: "i32" },
  ps_capture_close: { parameters: ["i64"], result: "i32" },
  ps_pcap_writer_open: { parameters: ["buffer", "u32", "u32", "buffer"], result: "i32" },
  ps_pcap_writer_write: { parameters: ["i64", "buffer", "u32", "u32"], result: "i32" },
  ps_pcap_writer_close: { parameters: ["i64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's symbols. */
export type CaptureSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/**
 * The library could not be found or opened; the message is one line. A `CaptureError` (code
 * `Status.GENERIC`) so that callers handle every capture failure in one place.
 */
export class LibraryError extends CaptureError {
  /** Builds the error. */
  constructor(message: string) {
    super(Status.GENERIC, message);
    this.name = "LibraryError";
  }
}

/**
 * Resolves the library path: `envValue` (the value of `PATHSPIDER_CAPTURE_LIB`) if non-empty,
 * else `RELATIVE_LIBRARY_URL` resolved against `moduleUrl`.
 */
export function resolveLibraryPath(envValue: string | undefined, moduleUrl: string): string {
  if (envValue !== undefined && envValue !== "") return envValue;
  const url = new URL(RELATIVE_LIBRARY_URL, moduleUrl);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

/**
 * Opens the library at `path` with `symbols` (default: the capture symbols). `fromEnv` says
 * whether the path came from `PATHSPIDER_CAPTURE_LIB` (for the error message).
 *
 * The library is loaded now (so a missing or broken file fails here), but each function is bound
 * on its first use: Deno compiles a call stub for every synchronous symbol it binds, about 0.4 ms
 * each, and `observe` on a file uses 4 of the 11 the capture set declares.
 */
export function openLibraryAt<S extends Deno.ForeignLibraryInterface = typeof SYMBOLS>(
  path: string,
  fromEnv: boolean,
  symbols: S = SYMBOLS as unknown as S,
): Deno.DynamicLibrary<S>["symbols"] {
  if (!fileExists(path)) {
    throw new LibraryError(
      fromEnv
        ? `${LIBRARY_ENV}=${path}: no such file`
        : `capture library not found at ${path} (build it with \`make lib\`, or set ${LIBRARY_ENV})`,
    );
  }
  let first: unknown;
  try {
    Deno.dlopen(path, {});
    return bindOnUse(path, symbols);
  } catch (e) {
    first = e;
  }
  // An embedded file of a compiled binary that dlopen cannot map: open a real copy instead, with
  // every symbol at once (the copy is gone afterwards; the mapping stays valid after unlink).
  try {
    const copy = Deno.makeTempFileSync({ prefix: "pathspider-capture-", suffix: ".so" });
    Deno.writeFileSync(copy, Deno.readFileSync(path));
    const lib = Deno.dlopen(copy, symbols).symbols;
    Deno.removeSync(copy);
    return lib;
  } catch {
    throw new LibraryError(`cannot open capture library ${path}: ${firstLine(first)}`);
  }
}

/**
 * The symbols of the loaded library at `path`, each bound by its own `Deno.dlopen` (of the
 * already loaded file: no second load) the first time it is read, then kept as a plain property.
 */
function bindOnUse<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(out, name, {
      configurable: true,
      enumerable: true,
      get() {
        let fn: unknown;
        try {
          fn = Deno.dlopen(path, { [name]: symbols[name]! }).symbols[name];
        } catch (e) {
          throw new LibraryError(`capture library ${path}: ${firstLine(e)}`);
        }
        Object.defineProperty(out, name, { value: fn, enumerable: true, configurable: false });
        return fn;
      },
    });
  }
  return out as Deno.DynamicLibrary<S>["symbols"];
}

/** The two message functions every symbol set of the library declares (the second optional). */
interface MessageSymbols {
  ps_last_error(buf: Uint8Array, len: number): number;
  ps_handle_error?(handle: bigint, buf: Uint8Array, len: number): number;
}

const messageBuf = new Uint8Array(1024);
const messageDecoder = new TextDecoder();

/**
 * The library's one-line message for a call that failed; "" if it has none. With `handle`, the
 * message kept with that handle: a call on another thread (a live capture's `next`, a reactor's
 * poll) would otherwise have its message replaced by a failure on the main thread meanwhile.
 */
export function libraryMessage(lib: MessageSymbols, handle?: bigint): string {
  const n = handle === undefined || lib.ps_handle_error === undefined
    ? lib.ps_last_error(messageBuf, messageBuf.length)
    : lib.ps_handle_error(handle, messageBuf, messageBuf.length);
  return messageDecoder.decode(messageBuf.subarray(0, Math.max(0, n)));
}

/**
 * Opens the project's library (found as described above) with other `symbols`, for other
 * wrappers in src/ffi/ that declare their own functions of the same library.
 */
export function openProjectLibrary<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const env = Deno.env.get(LIBRARY_ENV);
  return openLibraryAt(resolveLibraryPath(env, import.meta.url), !!env, symbols);
}

let opened: CaptureSymbols | undefined;

/** The library's capture symbols, opened on first use. Throws `LibraryError` (one line). */
export function captureLibrary(): CaptureSymbols {
  opened ??= openProjectLibrary(SYMBOLS);
  return opened;
}

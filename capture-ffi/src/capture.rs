//! The exported capture functions: one handle type for live interfaces and capture files.

use std::ffi::c_char;
use std::sync::Mutex;

use crate::batch::HEADER_LEN;
use crate::error::{c_str_arg, fail, fail_on, forget_handle_error, guard, Error, INVALID_ARGUMENT};
use crate::handles::HandleTable;
use crate::readahead::FileCapture;
use crate::reader::open_file;

/// One capture handle.
enum Capture {
    File(Mutex<FileCapture>),
    Live(crate::live::LiveCapture),
}

static CAPTURES: HandleTable<Capture> = HandleTable::new("capture");

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn store(out: *mut i64, capture: Capture) -> i32 {
    let id = CAPTURES.insert(capture);
    // SAFETY: checked non-null by the caller of `store`; the caller promises it is writable.
    unsafe { *out = id };
    0
}

/// Opens a live capture on `iface`. `snaplen` 0 means 65535, `ring_mib` 0 means 32; `filter`
/// is NULL or "" (everything) or "ip" (IPv4 and IPv6 only). Writes the handle to `*out`.
///
/// # Safety
/// `iface` and `filter` must be NUL-terminated strings (filter may be NULL); `out` must be
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_open_live(
    iface: *const c_char,
    snaplen: u32,
    ring_mib: u32,
    filter: *const c_char,
    out: *mut i64,
) -> i32 {
    guard("ps_capture_open_live", || {
        if out.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null handle pointer"));
        }
        // SAFETY: forwarded caller guarantees.
        let args = unsafe {
            (
                c_str_arg(iface, "interface name"),
                c_str_arg(filter, "filter"),
            )
        };
        let (iface, filter) = match args {
            (Ok(Some(i)), Ok(f)) => (i, f.unwrap_or("")),
            (Ok(None), _) => return fail(Error::new(INVALID_ARGUMENT, "null interface name")),
            (Err(e), _) | (_, Err(e)) => return fail(e),
        };
        match crate::live::LiveCapture::open(iface, snaplen, ring_mib, filter) {
            Ok(c) => store(out, Capture::Live(c)),
            Err(e) => fail(e),
        }
    })
}

/// Opens a pcap or pcapng file. Writes the handle to `*out`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_open_file(path: *const c_char, out: *mut i64) -> i32 {
    guard("ps_capture_open_file", || {
        if out.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null handle pointer"));
        }
        // SAFETY: forwarded caller guarantee.
        let path = match unsafe { c_str_arg(path, "path") } {
            Ok(Some(p)) => p,
            Ok(None) => return fail(Error::new(INVALID_ARGUMENT, "null path")),
            Err(e) => return fail(e),
        };
        match open_file(path) {
            Ok(reader) => store(out, Capture::File(Mutex::new(FileCapture::new(reader)))),
            Err(e) => fail(e),
        }
    })
}

/// Fills `buf` (`len` bytes) with packet records and returns how many it wrote. For a live
/// capture, waits up to `timeout_ms` for the first packet (0 = none arrived); for a file, takes
/// a batch its reader thread has made ready (see `readahead`; every call must pass at least the
/// first call's `len`), waiting up to `timeout_ms` (negative: until there is one; 0 = none ready
/// yet), and returns -1 at the end. A truncated file returns its complete records first,
/// then -7 once, then -1.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_next(h: i64, buf: *mut u8, len: u32, timeout_ms: i32) -> i32 {
    guard("ps_capture_next", || {
        // errors are also kept with the handle: this call may run on another thread (ps_handle_error)
        if buf.is_null() || (len as usize) < HEADER_LEN + 4 {
            return fail_on(h, Error::new(INVALID_ARGUMENT, "batch buffer too small"));
        }
        let cap = match CAPTURES.get(h) {
            Ok(c) => c,
            Err(e) => return fail_on(h, e),
        };
        // SAFETY: the caller promises `len` writable bytes at `buf`, not aliased during the call.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, len as usize) };
        let res = match &*cap {
            Capture::File(f) => lock(f).next(out, timeout_ms),
            Capture::Live(l) => l.next(out, timeout_ms),
        };
        match res {
            Ok(n) => n.min(i32::MAX as u32) as i32,
            Err(e) => fail_on(h, e),
        }
    })
}

/// For a file: takes the next batch without copying it (see `readahead`), writing its address to
/// `*out_ptr`; returns the number of records, 0 if none came within `timeout_ms` (negative: no
/// limit), -1 at the end. The batch has `size` bytes (every call must pass the first one's) and stays
/// readable until the next call on this capture or its close. A live capture refuses (-8).
///
/// # Safety
/// `out_ptr` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_take(
    h: i64,
    size: u32,
    timeout_ms: i32,
    out_ptr: *mut u64,
) -> i32 {
    guard("ps_capture_take", || {
        if out_ptr.is_null() || (size as usize) < HEADER_LEN + 4 {
            return fail_on(h, Error::new(INVALID_ARGUMENT, "batch size too small"));
        }
        let cap = match CAPTURES.get(h) {
            Ok(c) => c,
            Err(e) => return fail_on(h, e),
        };
        let res = match &*cap {
            Capture::File(f) => lock(f).take(size as usize, timeout_ms),
            Capture::Live(_) => Err(Error::new(
                INVALID_ARGUMENT,
                "a live capture has no batches to lend; use ps_capture_next",
            )),
        };
        match res {
            Ok((n, ptr)) => {
                // SAFETY: checked non-null; the caller promises it is writable.
                unsafe { *out_ptr = ptr as u64 };
                n.min(i32::MAX as u32) as i32
            }
            Err(e) => fail_on(h, e),
        }
    })
}

/// Writes three counters to `out3`: live: packets received by the socket (as libpcap counts
/// them: accepted by the filter, including those dropped), kernel drops (ring full), interface
/// drops since open; file: packets read, 0, 0.
///
/// # Safety
/// `out3` must point to three writable u64.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_stats(h: i64, out3: *mut u64) -> i32 {
    guard("ps_capture_stats", || {
        if out3.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null stats pointer"));
        }
        let cap = match CAPTURES.get(h) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let s = match &*cap {
            Capture::File(f) => [lock(f).delivered(), 0, 0],
            Capture::Live(l) => l.stats(),
        };
        // SAFETY: the caller promises three writable u64.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), out3, 3) };
        0
    })
}

/// Closes a capture. A call of `ps_capture_next` in progress on another thread finishes first
/// (the resources are released when it returns). Closing twice returns -9.
#[no_mangle]
pub extern "C" fn ps_capture_close(h: i64) -> i32 {
    guard("ps_capture_close", || {
        forget_handle_error(h);
        match CAPTURES.remove(h) {
            Ok(_) => 0,
            Err(e) => fail(e),
        }
    })
}

//! The exported capture functions: one handle type for live interfaces and capture files.

use std::ffi::c_char;
use std::sync::Mutex;

use crate::batch::HEADER_LEN;
use crate::error::{
    c_str_arg, fail, fail_on, forget_handle_error, Error, Result, EOF, INVALID_ARGUMENT,
};
use crate::handles::HandleTable;
use crate::reader::{open_file, PacketReader};

/// A file being read.
struct FileSource {
    reader: Box<dyn PacketReader>,
    /// An error found after some records of a batch: reported by the next call.
    pending: Option<Error>,
    /// Nothing more to read (end of file, or after an error was reported).
    done: bool,
    packets: u64,
}

impl FileSource {
    fn next(&mut self, out: &mut [u8]) -> Result<u32> {
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Err(e);
        }
        if self.done {
            return Err(Error::new(EOF, "end of capture file"));
        }
        let (mut pos, mut count) = (0usize, 0u32);
        let res = self.reader.fill_batch(out, &mut pos, &mut count);
        self.packets += count as u64;
        match res {
            Ok(eof) => {
                if eof {
                    self.done = true;
                    if count == 0 {
                        return Err(Error::new(EOF, "end of capture file"));
                    }
                }
                Ok(count)
            }
            // Deliver the complete records first; the error comes with the next call.
            Err(e) if count > 0 => {
                self.pending = Some(e);
                Ok(count)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

/// One capture handle.
enum Capture {
    File(Mutex<FileSource>),
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
}

/// Opens a pcap or pcapng file. Writes the handle to `*out`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_open_file(path: *const c_char, out: *mut i64) -> i32 {
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
        Ok(reader) => store(
            out,
            Capture::File(Mutex::new(FileSource {
                reader,
                pending: None,
                done: false,
                packets: 0,
            })),
        ),
        Err(e) => fail(e),
    }
}

/// Fills `buf` (`len` bytes) with packet records and returns how many it wrote. For a live
/// capture, waits up to `timeout_ms` for the first packet (0 = none arrived); for a file, never
/// waits and returns -1 at the end. A truncated file returns its complete records first, then
/// -7 once, then -1.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_next(h: i64, buf: *mut u8, len: u32, timeout_ms: i32) -> i32 {
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
        Capture::File(f) => lock(f).next(out),
        Capture::Live(l) => l.next(out, timeout_ms),
    };
    match res {
        Ok(n) => n.min(i32::MAX as u32) as i32,
        Err(e) => fail_on(h, e),
    }
}

/// Writes three counters to `out3`: live: packets received by the socket (as libpcap counts
/// them: accepted by the filter, including those dropped), kernel drops (ring full), interface
/// drops since open; file: packets read, 0, 0.
///
/// # Safety
/// `out3` must point to three writable u64.
#[no_mangle]
pub unsafe extern "C" fn ps_capture_stats(h: i64, out3: *mut u64) -> i32 {
    if out3.is_null() {
        return fail(Error::new(INVALID_ARGUMENT, "null stats pointer"));
    }
    let cap = match CAPTURES.get(h) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let s = match &*cap {
        Capture::File(f) => [lock(f).packets, 0, 0],
        Capture::Live(l) => l.stats(),
    };
    // SAFETY: the caller promises three writable u64.
    unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), out3, 3) };
    0
}

/// Closes a capture. A call of `ps_capture_next` in progress on another thread finishes first
/// (the resources are released when it returns). Closing twice returns -9.
#[no_mangle]
pub extern "C" fn ps_capture_close(h: i64) -> i32 {
    forget_handle_error(h);
    match CAPTURES.remove(h) {
        Ok(_) => 0,
        Err(e) => fail(e),
    }
}

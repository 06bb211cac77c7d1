//! Status codes and the last-error message.
//!
//! Every exported function returns an `i32` status: `>= 0` is success (often a count), a
//! negative value is one of the codes below. After a negative status, [`ps_last_error`] copies
//! a one-line message describing it. The message is global (not per handle or thread) because
//! TypeScript reads it right after the failing call.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

/// End of a capture file.
pub const EOF: i32 = -1;
/// Any other error (I/O error, corrupt record, unsupported link type, ...).
pub const GENERIC: i32 = -2;
/// The named interface does not exist.
pub const NO_SUCH_INTERFACE: i32 = -3;
/// The interface exists but is not up (or went down while capturing).
pub const INTERFACE_DOWN: i32 = -4;
/// The operation needs a privilege we lack (CAP_NET_RAW / CAP_NET_ADMIN, file permissions).
pub const NOT_PERMITTED: i32 = -5;
/// The file is neither pcap nor pcapng.
pub const NOT_A_CAPTURE_FILE: i32 = -6;
/// The capture file ends in the middle of a record (every complete record was delivered first).
pub const TRUNCATED: i32 = -7;
/// An argument is invalid (null pointer, bad UTF-8, malformed batch, ...).
pub const INVALID_ARGUMENT: i32 = -8;
/// The handle is unknown or already closed.
pub const CLOSED_HANDLE: i32 = -9;
/// The operation would block or timed out where that is an error.
pub const WOULD_BLOCK: i32 = -10;
/// A bug in the library: a panic caught at the boundary (see [`guard`]). The process goes on;
/// the message names the function and the place of the panic.
pub const INTERNAL: i32 = -11;

static LAST_ERROR: Mutex<String> = Mutex::new(String::new());

/// The last error of each handle whose calls may run on another thread (a live capture's next,
/// a reactor's poll): by the time the caller asks for the message, a call on another thread may
/// have replaced the global one.
static HANDLE_ERRORS: Mutex<BTreeMap<i64, String>> = Mutex::new(BTreeMap::new());

/// An error as a value: the status code and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// One of the negative status codes of this module.
    pub code: i32,
    /// One line, no trailing newline.
    pub message: String,
}

impl Error {
    /// Builds an error; newlines in the message are replaced so that it stays one line.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.contains(['\n', '\r']) {
            message = message.replace(['\n', '\r'], " ");
        }
        Error { code, message }
    }

    /// An error from an OS errno, with `what` saying what we were doing.
    pub fn os(code: i32, what: &str, err: &std::io::Error) -> Self {
        Error::new(code, format!("{what}: {err}"))
    }
}

/// Result type of the internal API.
pub type Result<T> = std::result::Result<T, Error>;

/// Records `err` as the last error and returns its code (for `return fail(e)` at the boundary).
pub fn fail(err: Error) -> i32 {
    let code = err.code;
    set_last_error(err.message);
    code
}

/// Replaces the last-error message.
pub fn set_last_error(message: String) {
    // A poisoned mutex only means another thread panicked while holding it, which cannot
    // happen here (no panics), but recover anyway rather than abort.
    let mut guard = LAST_ERROR.lock().unwrap_or_else(|p| p.into_inner());
    *guard = message;
}

/// Returns the last-error message (for tests).
pub fn last_error() -> String {
    LAST_ERROR.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn handle_errors() -> std::sync::MutexGuard<'static, BTreeMap<i64, String>> {
    HANDLE_ERRORS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Like [`fail`], and keeps the message with handle `h` too (see [`ps_handle_error`]).
pub fn fail_on(h: i64, err: Error) -> i32 {
    handle_errors().insert(h, err.message.clone());
    fail(err)
}

/// Forgets the message kept for handle `h` (when it closes).
pub fn forget_handle_error(h: i64) {
    handle_errors().remove(&h);
}

thread_local! {
    /// How many [`guard`] calls this thread is inside: a panic there is reported as a status, so
    /// the panic hook keeps quiet about it.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// What the hook saw of the last guarded panic: its message and place.
    static PANIC_NOTE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once) a panic hook that notes a guarded panic's message and place instead of
/// printing it: the caller gets them as one line with the status. Unguarded panics (none are
/// known) still go to the previous hook. The library's std is its own, so this hook is not the
/// host's (Deno's).
fn install_hook() {
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) == 0 {
                return prev(info);
            }
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            PANIC_NOTE.with(|n| *n.borrow_mut() = Some(format!("{msg}{place}")));
        }));
    });
}

/// Runs `f` with panics caught: a panic becomes the status [`INTERNAL`] with a one-line message
/// naming `what`, instead of unwinding into the C caller (which aborts the process, before an
/// interrupted run could restore its settings). Every exported function runs its body in it;
/// threads of the library wrap their work in [`catch_panic`].
pub fn guard(what: &str, f: impl FnOnce() -> i32) -> i32 {
    match catch_panic(what, f) {
        Ok(status) => status,
        Err(e) => fail(e),
    }
}

/// Runs `f`, turning a panic into an [`INTERNAL`] error naming `what` (for [`guard`] and for the
/// library's own threads, whose panic would otherwise end them without a word).
pub fn catch_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    install_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    let res = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    res.map_err(|_| {
        let note = PANIC_NOTE
            .with(|n| n.borrow_mut().take())
            .unwrap_or_else(|| "panic".to_string());
        Error::new(
            INTERNAL,
            format!("internal error in {what} (a bug, please report it): {note}"),
        )
    })
}

/// Panics on purpose when `code` is 0x7061_6e63 ("panc"), else returns `code`: lets a test of the
/// C boundary see a panic come back as [`INTERNAL`] through the real library rather than abort.
#[no_mangle]
pub extern "C" fn ps_debug_panic(code: i32) -> i32 {
    guard("ps_debug_panic", || {
        if code == 0x7061_6e63 {
            panic!("deliberate panic for a test");
        }
        code
    })
}

/// Copies the last error message (UTF-8, one line, not NUL-terminated) into `buf` and returns its
/// length in bytes; a message longer than `len` is cut at a character boundary.
///
/// # Safety
/// `buf` must be null or point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_last_error(buf: *mut u8, len: u32) -> i32 {
    guard("ps_last_error", || {
        // SAFETY: forwarded from the caller.
        unsafe { copy_message(&last_error(), buf, len) }
    })
}

/// Like [`ps_last_error`] for the last failure of a call on handle `h` that may run on another
/// thread (`ps_capture_next`, `ps_reactor_poll`); the global message when `h` has none.
///
/// # Safety
/// `buf` must be null or point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_handle_error(h: i64, buf: *mut u8, len: u32) -> i32 {
    guard("ps_handle_error", || {
        let msg = handle_errors().get(&h).cloned().unwrap_or_else(last_error);
        // SAFETY: forwarded from the caller.
        unsafe { copy_message(&msg, buf, len) }
    })
}

/// # Safety
/// `buf` must be null or point to `len` writable bytes.
unsafe fn copy_message(msg: &str, buf: *mut u8, len: u32) -> i32 {
    if buf.is_null() {
        return msg.len().min(i32::MAX as usize) as i32;
    }
    let mut n = msg.len().min(len as usize);
    while n > 0 && !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller promises `len` writable bytes at `buf`; n <= len.
    unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), buf, n) };
    n as i32
}

/// Reads a NUL-terminated UTF-8 string argument; `None` for a null pointer.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string.
pub unsafe fn c_str_arg<'a>(p: *const std::ffi::c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(p) };
    s.to_str()
        .map(Some)
        .map_err(|_| Error::new(INVALID_ARGUMENT, format!("{what} is not valid UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message_and_place() {
        assert_eq!(ps_debug_panic(3), 3);
        assert_eq!(ps_debug_panic(0x7061_6e63), INTERNAL);
        let msg = last_error();
        assert!(msg.starts_with("internal error in ps_debug_panic"), "{msg}");
        assert!(
            msg.contains("deliberate panic for a test at src/error.rs:"),
            "{msg}"
        );
        // the thread goes on, guarded or not, and a later panic is reported again
        let r: Result<u8> = catch_panic("slice", || {
            let v: Vec<u8> = Vec::new();
            v[usize::from(v.is_empty())]
        });
        let e = r.unwrap_err();
        assert_eq!(e.code, INTERNAL);
        assert!(e.message.contains("index out of bounds"), "{}", e.message);
    }

    #[test]
    fn messages_stay_on_one_line_and_are_cut_at_char_boundaries() {
        let code = fail(Error::new(GENERIC, "a\nb é"));
        assert_eq!(code, GENERIC);
        let mut buf = [0u8; 5];
        // "a b é" is 6 bytes; 5 would split the é, so 4 bytes come back.
        let n = unsafe { ps_last_error(buf.as_mut_ptr(), buf.len() as u32) };
        assert_eq!(&buf[..n as usize], b"a b ");
    }

    #[test]
    fn a_handle_keeps_its_own_message_whatever_fails_later() {
        let read = |h: i64| {
            let mut buf = [0u8; 64];
            let n = unsafe { ps_handle_error(h, buf.as_mut_ptr(), buf.len() as u32) };
            String::from_utf8(buf[..n as usize].to_vec()).unwrap()
        };
        let t = std::thread::spawn(|| fail_on(-1001, Error::new(GENERIC, "capture: gone down")));
        assert_eq!(t.join().unwrap(), GENERIC);
        // another call fails afterwards, on this thread: the global message is its own
        fail(Error::new(INVALID_ARGUMENT, "connect: bad address"));
        assert_eq!(read(-1001), "capture: gone down");
        forget_handle_error(-1001);
        assert_eq!(read(-1001), last_error());
    }
}

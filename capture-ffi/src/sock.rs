//! C ABI of the socket reactor (`ps_reactor_*`, `ps_sock_*`), see docs/architecture.md.
//!
//! A reactor handle is a positive id into a `HandleTable` (ids unique across all handle kinds); a
//! socket handle packs the reactor id (high 32 bits) and the socket's id in that reactor (low 32
//! bits), so socket calls find their reactor without a second table. Operations complete through `ps_reactor_poll`, in batches.

use crate::error::{
    fail, fail_on, forget_handle_error, guard, Error, CLOSED_HANDLE, GENERIC, INVALID_ARGUMENT,
};
use crate::handles::HandleTable;
use crate::sock_reactor::{Reactor, SubmitError};
use crate::sock_wire::{ConnectOpts, OPTS_LEN};
use std::sync::Arc;

/// Reactors share the one id counter of every handle table: a reactor's id never equals a
/// capture's, so their messages for `ps_handle_error` stay apart.
static REACTORS: HandleTable<Reactor> = HandleTable::new("reactor");

fn reactor(r: i64) -> Result<Arc<Reactor>, i32> {
    REACTORS.get(r).map_err(fail)
}

fn split(h: i64) -> Result<(Arc<Reactor>, u32), i32> {
    if h <= 0 {
        return Err(fail(Error::new(
            CLOSED_HANDLE,
            format!("bad socket handle {h}"),
        )));
    }
    Ok((reactor(h >> 32)?, (h & 0xffff_ffff) as u32))
}

fn submit_status(e: SubmitError, h: i64) -> i32 {
    match e {
        SubmitError::Closed => fail(Error::new(CLOSED_HANDLE, format!("socket {h} is closed"))),
        SubmitError::Invalid(m) => fail(Error::new(INVALID_ARGUMENT, m)),
    }
}

/// Opens a reactor (an epoll instance) and stores its handle in `*out`.
///
/// # Safety
/// `out` must point to a writable i64.
#[no_mangle]
pub unsafe extern "C" fn ps_reactor_open(out: *mut i64) -> i32 {
    guard("ps_reactor_open", || {
        if out.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null output pointer"));
        }
        let r = match Reactor::new() {
            Ok(r) => r,
            Err(e) => {
                let err = std::io::Error::from_raw_os_error(e);
                return fail(Error::os(GENERIC, "cannot create the socket reactor", &err));
            }
        };
        let id = REACTORS.insert(r);
        // a socket handle keeps the reactor id in its high 32 bits, as a positive i64
        if id >= i32::MAX as i64 {
            drop(REACTORS.remove(id));
            return fail(Error::new(GENERIC, "too many handles opened"));
        }
        // SAFETY: checked non-null; the caller promises it is writable.
        unsafe { *out = id };
        0
    })
}

/// Closes a reactor and every socket it still holds (pending operations are dropped). An
/// in-flight poll returns first (it is woken); the fds close when it has.
#[no_mangle]
pub extern "C" fn ps_reactor_close(r: i64) -> i32 {
    guard("ps_reactor_close", || {
        forget_handle_error(r);
        let re = match REACTORS.remove(r) {
            Ok(re) => re,
            Err(e) => return fail(e),
        };
        re.wake();
        0
    })
}

/// Makes an in-flight `ps_reactor_poll` on this reactor return at once.
#[no_mangle]
pub extern "C" fn ps_reactor_wake(r: i64) -> i32 {
    guard("ps_reactor_wake", || match reactor(r) {
        Ok(re) => {
            re.wake();
            0
        }
        Err(c) => c,
    })
}

/// Waits at most `timeout_ms` for completions and writes as many events as fit into `buf`
/// (layout in docs/architecture.md); returns the number written. Declared `nonblocking` in Deno.
///
/// # Safety
/// `buf` must point to `len` writable bytes that nobody else touches during the call.
#[no_mangle]
pub unsafe extern "C" fn ps_reactor_poll(r: i64, buf: *mut u8, len: u32, timeout_ms: i32) -> i32 {
    guard("ps_reactor_poll", || {
        // errors are also kept with the handle: this call runs on another thread (ps_handle_error)
        if buf.is_null() {
            return fail_on(r, Error::new(INVALID_ARGUMENT, "null event buffer"));
        }
        let re = match reactor(r) {
            Ok(re) => re,
            Err(c) => return c,
        };
        // SAFETY: the caller promises `len` writable bytes at `buf`, owned by this call.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, len as usize) };
        match re.poll(out, timeout_ms) {
            Ok(n) => n as i32,
            Err(e) => {
                let err = std::io::Error::from_raw_os_error(e);
                fail_on(r, Error::os(GENERIC, "epoll_wait", &err))
            }
        }
    })
}

/// Number of sockets a reactor holds open (for leak checks).
#[no_mangle]
pub extern "C" fn ps_reactor_open_sockets(r: i64) -> i32 {
    guard("ps_reactor_open_sockets", || match reactor(r) {
        Ok(re) => re.open_count() as i32,
        Err(c) => c,
    })
}

/// Starts a connect described by the 48-byte options record `opts` (layout in
/// docs/architecture.md); `data` is the fast-open initial data (only with the fast-open flag).
/// Stores the socket handle in `*out`. OS errors (refused, unreachable, EMFILE...) complete the
/// connect with `-errno` through the poll rather than failing here.
///
/// # Safety
/// `opts` must point to `opts_len` readable bytes, `data` to `data_len` (or be null when 0),
/// `out` to a writable i64.
#[no_mangle]
pub unsafe extern "C" fn ps_sock_connect(
    r: i64,
    opts: *const u8,
    opts_len: u32,
    data: *const u8,
    data_len: u32,
    token: u64,
    out: *mut i64,
) -> i32 {
    guard("ps_sock_connect", || {
        if opts.is_null() || out.is_null() || (data.is_null() && data_len > 0) {
            return fail(Error::new(INVALID_ARGUMENT, "null pointer argument"));
        }
        if (opts_len as usize) < OPTS_LEN {
            return fail(Error::new(
                INVALID_ARGUMENT,
                "connect options record too short",
            ));
        }
        let re = match reactor(r) {
            Ok(re) => re,
            Err(c) => return c,
        };
        // SAFETY: the caller promises the lengths.
        let o = unsafe { std::slice::from_raw_parts(opts, opts_len as usize) };
        let initial: &[u8] = if data_len == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `data_len` readable bytes.
            unsafe { std::slice::from_raw_parts(data, data_len as usize) }
        };
        let o = match ConnectOpts::parse(o) {
            Ok(o) => o,
            Err(m) => return fail(Error::new(INVALID_ARGUMENT, m)),
        };
        match re.connect(&o, initial, token) {
            Ok(id) => {
                // SAFETY: checked non-null; the caller promises it is writable.
                unsafe { *out = (r << 32) | id as i64 };
                0
            }
            Err(e) => submit_status(e, 0),
        }
    })
}

/// Queues `len` bytes to send; the SEND completion comes when all are written.
///
/// # Safety
/// `buf` must point to `len` readable bytes (copied before returning).
#[no_mangle]
pub unsafe extern "C" fn ps_sock_send(h: i64, buf: *const u8, len: u32, token: u64) -> i32 {
    guard("ps_sock_send", || {
        if buf.is_null() && len > 0 {
            return fail(Error::new(INVALID_ARGUMENT, "null send buffer"));
        }
        let (re, id) = match split(h) {
            Ok(x) => x,
            Err(c) => return c,
        };
        let b: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `len` readable bytes.
            unsafe { std::slice::from_raw_parts(buf, len as usize) }
        };
        match re.send(id, b, token) {
            Ok(()) => 0,
            Err(e) => submit_status(e, h),
        }
    })
}

/// Asks for up to `max` (1..65536) bytes; the RECV completion carries them (0 bytes = end of
/// stream).
#[no_mangle]
pub extern "C" fn ps_sock_recv(h: i64, max: u32, token: u64) -> i32 {
    guard("ps_sock_recv", || {
        let (re, id) = match split(h) {
            Ok(x) => x,
            Err(c) => return c,
        };
        match re.recv(id, max as usize, token) {
            Ok(()) => 0,
            Err(e) => submit_status(e, h),
        }
    })
}

/// Copies the socket's local address (16 bytes, IPv4 in the first 4) to `addr16` and returns
/// `family << 16 | port` (0 when the socket has no local address).
///
/// # Safety
/// `addr16` must point to 16 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_sock_local(h: i64, addr16: *mut u8) -> i32 {
    guard("ps_sock_local", || {
        if addr16.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null address buffer"));
        }
        let (re, id) = match split(h) {
            Ok(x) => x,
            Err(c) => return c,
        };
        let local = match re.local(id) {
            Ok(l) => l,
            Err(e) => return submit_status(e, h),
        };
        // SAFETY: the caller promises 16 writable bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(addr16, 16) };
        out.fill(0);
        match local {
            None => 0,
            Some(a) => match a.ip() {
                std::net::IpAddr::V4(v4) => {
                    out[..4].copy_from_slice(&v4.octets());
                    (4 << 16) | a.port() as i32
                }
                std::net::IpAddr::V6(v6) => {
                    out.copy_from_slice(&v6.octets());
                    (6 << 16) | a.port() as i32
                }
            },
        }
    })
}

/// Closes a socket; its pending operations never complete. `abort` != 0 resets the connection
/// (SO_LINGER 0) instead of the orderly FIN. Closing twice returns -9.
#[no_mangle]
pub extern "C" fn ps_sock_close(h: i64, abort: i32) -> i32 {
    guard("ps_sock_close", || {
        let (re, id) = match split(h) {
            Ok(x) => x,
            Err(c) => return c,
        };
        match re.close(id, abort != 0) {
            Ok(()) => 0,
            Err(e) => submit_status(e, h),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_checked_and_closing_twice_is_harmless() {
        let mut r = 0i64;
        assert_eq!(unsafe { ps_reactor_open(&mut r) }, 0);
        assert!(r > 0);
        assert_eq!(ps_sock_close((r << 32) | 12345, 0), CLOSED_HANDLE);
        assert_eq!(ps_sock_recv(-1, 10, 1), CLOSED_HANDLE);
        let mut opts = [0u8; OPTS_LEN];
        opts[0] = 4;
        opts[1] = 6;
        let mut h = 0i64;
        let st = unsafe {
            ps_sock_connect(
                r,
                opts.as_ptr(),
                OPTS_LEN as u32,
                std::ptr::null(),
                0,
                1,
                &mut h,
            )
        };
        assert_eq!(st, INVALID_ARGUMENT, "port 0 is refused");
        assert_eq!(ps_reactor_open_sockets(r), 0);
        assert_eq!(ps_reactor_close(r), 0);
        assert_eq!(ps_reactor_close(r), CLOSED_HANDLE);
        let mut buf = [0u8; 64];
        assert_eq!(
            unsafe { ps_reactor_poll(r, buf.as_mut_ptr(), 64, 0) },
            CLOSED_HANDLE
        );
    }

    #[test]
    fn reactor_ids_come_from_the_counter_shared_with_captures() {
        // one counter for all kinds: a reactor never has a capture's id, so the messages that
        // `ps_handle_error` keeps per id cannot cross
        static OTHER: HandleTable<u8> = HandleTable::new("other");
        let before = OTHER.insert(0);
        let mut r = 0i64;
        // SAFETY: a writable i64.
        assert_eq!(unsafe { ps_reactor_open(&mut r) }, 0);
        let after = OTHER.insert(0);
        assert!(before < r && r < after, "{before} < {r} < {after}");
        assert_eq!(ps_reactor_close(r), 0);
        assert_eq!(ps_reactor_close(r), CLOSED_HANDLE);
    }
}

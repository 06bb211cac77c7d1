//! Raw send for the forge model (`ps_raw_*`): complete IPv4/IPv6 packets that TypeScript built
//! (headers, checksums, the reserved bit, a zero UDP checksum on purpose) go out unchanged on raw
//! sockets, many per call.
//!
//! One handle holds an IPv4 socket (`AF_INET`, `IPPROTO_RAW`, which implies `IP_HDRINCL`) and an
//! IPv6 one (`AF_INET6`, `IPPROTO_RAW`, which implies `IPV6_HDRINCL` since Linux 4.5). The kernel
//! still fills two IPv4 fields of a header it is given (`IP_HDRINCL`, raw(7)): the total length
//! and the header checksum (always), and the id when it is 0; TypeScript computes the same
//! values, so the bytes on the wire are the bytes built. Nothing in an IPv6 header is rewritten.
//!
//! Batch format (`ps_raw_send`): `count` records, each a little-endian `u32` length followed by
//! that many packet bytes, padded with zeros to a multiple of 4. The destination of each packet
//! is read from its own header. Per-packet outcomes go to a status array (0 sent, else minus
//! errno), so one unreachable target never stops the rest of the batch.

use crate::error::{
    fail, guard, Error, Result, CLOSED_HANDLE, GENERIC, INVALID_ARGUMENT, NOT_PERMITTED,
};
use crate::handles::HandleTable;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Largest batch in one `sendmmsg` call.
const MMSG_BATCH: usize = 64;
/// Send buffer asked for (root may exceed `wmem_max` with `SO_SNDBUFFORCE`).
const SNDBUF: libc::c_int = 4 << 20;

/// The two raw sockets of a handle; a family the system lacks stays `None`.
pub struct RawSender {
    v4: Option<OwnedFd>,
    v6: Option<OwnedFd>,
}

static SENDERS: HandleTable<RawSender> = HandleTable::new("raw sender");

fn open_socket(family: libc::c_int) -> std::result::Result<OwnedFd, std::io::Error> {
    // SAFETY: plain socket(2) call; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = SNDBUF;
    let p = &size as *const libc::c_int as *const libc::c_void;
    let l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid fd and option buffer; failure only leaves the default size.
    unsafe {
        if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, p, l) != 0 {
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, p, l);
        }
    }
    Ok(owned)
}

impl RawSender {
    /// Opens both sockets. Fails with `NOT_PERMITTED` without CAP_NET_RAW; a missing IPv6 (or
    /// IPv4) stack only leaves that family unusable (its packets then fail with EAFNOSUPPORT).
    pub fn open() -> Result<RawSender> {
        let v4 = open_socket(libc::AF_INET);
        let v6 = open_socket(libc::AF_INET6);
        let denied =
            |e: &std::io::Error| matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES));
        match (&v4, &v6) {
            (Err(e), _) | (_, Err(e)) if denied(e) => Err(Error::os(
                NOT_PERMITTED,
                "raw sockets need CAP_NET_RAW (run as root)",
                e,
            )),
            (Err(e), Err(_)) => Err(Error::os(GENERIC, "cannot open a raw socket", e)),
            _ => Ok(RawSender {
                v4: v4.ok(),
                v6: v6.ok(),
            }),
        }
    }

    /// Sends every packet of `pkts`, writing 0 or minus errno per packet into `status`;
    /// returns the number sent.
    pub fn send(&self, pkts: &[&[u8]], status: &mut [i32]) -> usize {
        let mut sent = 0;
        let mut i = 0;
        while i < pkts.len() {
            let v6 = version(pkts[i]) == 6;
            // a run of packets of one family goes out in sendmmsg calls
            let mut end = i + 1;
            while end < pkts.len() && end - i < MMSG_BATCH && (version(pkts[end]) == 6) == v6 {
                end += 1;
            }
            let sock = if v6 { &self.v6 } else { &self.v4 };
            match sock {
                None => {
                    for s in &mut status[i..end] {
                        *s = -libc::EAFNOSUPPORT;
                    }
                    i = end;
                }
                Some(fd) => {
                    let n = send_run(fd.as_raw_fd(), &pkts[i..end], v6, &mut status[i..end]);
                    sent += n.sent;
                    i += n.consumed;
                }
            }
        }
        sent
    }
}

fn version(pkt: &[u8]) -> u8 {
    pkt.first().map_or(0, |b| b >> 4)
}

struct RunOutcome {
    sent: usize,
    consumed: usize,
}

/// One `sendmmsg` over a run of same-family packets. On an error the first unsent packet gets
/// its errno and is skipped; the caller goes on with the rest.
fn send_run(fd: libc::c_int, pkts: &[&[u8]], v6: bool, status: &mut [i32]) -> RunOutcome {
    let n = pkts.len();
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut sa4: [libc::sockaddr_in; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    let mut sa6: [libc::sockaddr_in6; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    let mut iov: [libc::iovec; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    let mut hdr: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    for (k, p) in pkts.iter().enumerate() {
        iov[k].iov_base = p.as_ptr() as *mut libc::c_void;
        iov[k].iov_len = p.len();
        let m = &mut hdr[k].msg_hdr;
        m.msg_iov = &mut iov[k];
        m.msg_iovlen = 1;
        if v6 {
            sa6[k].sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa6[k].sin6_addr.s6_addr.copy_from_slice(&p[24..40]);
            m.msg_name = &mut sa6[k] as *mut _ as *mut libc::c_void;
            m.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        } else {
            sa4[k].sin_family = libc::AF_INET as libc::sa_family_t;
            sa4[k].sin_addr.s_addr = u32::from_ne_bytes([p[16], p[17], p[18], p[19]]);
            m.msg_name = &mut sa4[k] as *mut _ as *mut libc::c_void;
            m.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        }
    }
    // SAFETY: hdr[..n] point at iov/sockaddr entries and packet bytes that outlive the call.
    let r = unsafe { libc::sendmmsg(fd, hdr.as_mut_ptr(), n as libc::c_uint, 0) };
    if r < 0 {
        let e = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        status[0] = -e;
        return RunOutcome {
            sent: 0,
            consumed: 1,
        };
    }
    let r = r as usize;
    for s in &mut status[..r] {
        *s = 0;
    }
    if r == 0 {
        // nothing sent and no errno: count it as a would-block on the first packet
        status[0] = -libc::EAGAIN;
        return RunOutcome {
            sent: 0,
            consumed: 1,
        };
    }
    RunOutcome {
        sent: r,
        consumed: r,
    }
}

/// Splits a batch into packet slices, checking every record. A packet must hold a whole IPv4
/// (20 bytes) or IPv6 (40 bytes) header.
pub fn parse_batch(buf: &[u8], count: usize) -> Result<Vec<&[u8]>> {
    let mut out = Vec::with_capacity(count);
    let mut off = 0usize;
    for k in 0..count {
        if off + 4 > buf.len() {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("raw batch: record {k} is cut"),
            ));
        }
        let len = u32::from_le_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let start = off + 4;
        if start + len > buf.len() {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("raw batch: record {k} says {len} bytes, past the buffer"),
            ));
        }
        let pkt = &buf[start..start + len];
        let need = match version(pkt) {
            4 => 20,
            6 => 40,
            _ => 1usize << 20,
        };
        if len < need || len > 65535 {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("raw batch: record {k} is not an IPv4/IPv6 packet ({len} bytes)"),
            ));
        }
        out.push(pkt);
        off = (start + len + 3) & !3;
    }
    Ok(out)
}

/// Opens a raw sender (IPv4 and IPv6 raw sockets) and stores its handle in `*out`.
///
/// # Safety
/// `out` must point to a writable i64.
#[no_mangle]
pub unsafe extern "C" fn ps_raw_open(out: *mut i64) -> i32 {
    guard("ps_raw_open", || {
        if out.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null output pointer"));
        }
        match RawSender::open() {
            Ok(s) => {
                // SAFETY: checked non-null; the caller promises it is writable.
                unsafe { *out = SENDERS.insert(s) };
                0
            }
            Err(e) => fail(e),
        }
    })
}

/// Sends `count` packets of the batch in `buf` (see the module documentation); writes each
/// packet's outcome (0 or minus errno) into `status[0..count]` and returns the number sent.
///
/// # Safety
/// `buf` must point to `len` readable bytes and `status` to `count` writable i32s.
#[no_mangle]
pub unsafe extern "C" fn ps_raw_send(
    h: i64,
    buf: *const u8,
    len: u32,
    count: u32,
    status: *mut i32,
) -> i32 {
    guard("ps_raw_send", || {
        let sender = match SENDERS.get(h) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        if count == 0 {
            return 0;
        }
        if buf.is_null() || status.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null batch or status pointer"));
        }
        // SAFETY: the caller promises `len` readable bytes and `count` writable statuses.
        let bytes = unsafe { std::slice::from_raw_parts(buf, len as usize) };
        let status = unsafe { std::slice::from_raw_parts_mut(status, count as usize) };
        let pkts = match parse_batch(bytes, count as usize) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        sender.send(&pkts, status) as i32
    })
}

/// Closes a raw sender; closing twice gives `CLOSED_HANDLE` and does nothing else.
#[no_mangle]
pub extern "C" fn ps_raw_close(h: i64) -> i32 {
    guard("ps_raw_close", || match SENDERS.remove(h) {
        Ok(_) => 0,
        Err(e) => {
            debug_assert_eq!(e.code, CLOSED_HANDLE);
            fail(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pkt: &[u8]) -> Vec<u8> {
        let mut v = (pkt.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(pkt);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    #[test]
    fn batches_are_split_on_padded_records() {
        let mut a = vec![0x45u8; 21];
        a[0] = 0x45;
        let mut b = vec![0u8; 40];
        b[0] = 0x60;
        let mut buf = record(&a);
        buf.extend(record(&b));
        let pkts = parse_batch(&buf, 2).unwrap();
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0].len(), 21);
        assert_eq!(pkts[1][0], 0x60);
    }

    #[test]
    fn records_that_are_not_ip_or_run_past_the_buffer_are_refused() {
        let buf = record(&[0x45u8; 10]);
        assert_eq!(parse_batch(&buf, 1).unwrap_err().code, INVALID_ARGUMENT);
        let buf = record(&[0x20u8; 40]);
        assert_eq!(parse_batch(&buf, 1).unwrap_err().code, INVALID_ARGUMENT);
        let mut buf = record(&[0x45u8; 20]);
        buf[0] = 200;
        assert_eq!(parse_batch(&buf, 1).unwrap_err().code, INVALID_ARGUMENT);
        assert_eq!(
            parse_batch(&buf[..0], 1).unwrap_err().code,
            INVALID_ARGUMENT
        );
    }

    #[test]
    fn closing_twice_reports_a_closed_handle() {
        assert_eq!(ps_raw_close(i64::MAX), CLOSED_HANDLE);
    }
}

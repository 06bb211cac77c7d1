//! An interface's flags and addresses from `getifaddrs`, so that a run needs no `ip -j addr`
//! subprocess (and no `ip` binary).
//!
//! The answer is text, one item a line: `flags 0xHEX` (the `IFF_*` bits: 0x1 up, 0x40 running),
//! then `4 ADDRESS/PREFIX` or `6 ADDRESS/PREFIX` per address in the kernel's order (the order of
//! `ip addr`, the primary address first).

use std::ffi::{c_char, CStr};
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{
    c_str_arg, fail, guard, Error, Result, GENERIC, INVALID_ARGUMENT, NO_SUCH_INTERFACE,
};

/// The lines described in the module documentation, or `NO_SUCH_INTERFACE`.
pub fn describe(name: &str) -> Result<String> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head to `ifap`, freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut ifap) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::os(GENERIC, "getifaddrs", &e));
    }
    struct List(*mut libc::ifaddrs);
    impl Drop for List {
        fn drop(&mut self) {
            // SAFETY: the head getifaddrs returned, freed once.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
    let list = List(ifap);
    let (mut flags, mut addrs, mut found) = (0u32, String::new(), false);
    let mut p = list.0;
    while !p.is_null() {
        // SAFETY: a node of the list getifaddrs made, alive until `list` drops.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string of the node.
        if unsafe { CStr::from_ptr(ifa.ifa_name) }.to_bytes() != name.as_bytes() {
            continue;
        }
        found = true;
        flags = ifa.ifa_flags;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose family tells its real type.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
        let prefix = |mask: &[u8]| mask.iter().map(|b| b.count_ones()).sum::<u32>();
        match family {
            libc::AF_INET => {
                // SAFETY: an AF_INET address is a sockaddr_in; so is its netmask, if any.
                let (a, m) = unsafe {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    let m = (!ifa.ifa_netmask.is_null()).then(|| {
                        (*(ifa.ifa_netmask as *const libc::sockaddr_in))
                            .sin_addr
                            .s_addr
                    });
                    (a.sin_addr.s_addr, m)
                };
                let ip = Ipv4Addr::from(u32::from_be(a));
                let len = m.map_or(32, |m| prefix(&m.to_ne_bytes()));
                let _ = writeln!(addrs, "4 {ip}/{len}");
            }
            libc::AF_INET6 => {
                // SAFETY: an AF_INET6 address is a sockaddr_in6; so is its netmask, if any.
                let (a, m) = unsafe {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let m = (!ifa.ifa_netmask.is_null()).then(|| {
                        (*(ifa.ifa_netmask as *const libc::sockaddr_in6))
                            .sin6_addr
                            .s6_addr
                    });
                    (a.sin6_addr.s6_addr, m)
                };
                let ip = Ipv6Addr::from(a);
                let len = m.map_or(128, |m| prefix(&m));
                let _ = writeln!(addrs, "6 {ip}/{len}");
            }
            _ => {}
        }
    }
    if !found {
        return Err(Error::new(
            NO_SUCH_INTERFACE,
            format!("no such interface: {name}"),
        ));
    }
    Ok(format!("flags {flags:#x}\n{addrs}"))
}

/// Writes the description of interface `name` (see the module documentation) into `buf` and
/// returns its full length: when that is more than `len`, only `len` bytes were written and the
/// caller asks again with a larger buffer. `-3` when there is no such interface.
///
/// # Safety
/// `name` must be a NUL-terminated string; `buf` null or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_iface_addrs(name: *const c_char, buf: *mut u8, len: u32) -> i32 {
    guard("ps_iface_addrs", || {
        // SAFETY: forwarded caller guarantee.
        let name = match unsafe { c_str_arg(name, "interface name") } {
            Ok(Some(n)) => n,
            Ok(None) => return fail(Error::new(INVALID_ARGUMENT, "null interface name")),
            Err(e) => return fail(e),
        };
        let text = match describe(name) {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        if !buf.is_null() {
            let n = text.len().min(len as usize);
            // SAFETY: the caller promises `len` writable bytes at `buf`; n <= len.
            unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, n) };
        }
        text.len().min(i32::MAX as usize) as i32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_up_with_its_address_and_a_missing_interface_is_minus_3() {
        let lo = describe("lo").unwrap();
        let mut lines = lo.lines();
        let flags = lines.next().unwrap();
        let bits = u32::from_str_radix(flags.strip_prefix("flags 0x").unwrap(), 16).unwrap();
        assert_eq!(bits & libc::IFF_UP as u32, libc::IFF_UP as u32, "{lo}");
        assert_eq!(bits & libc::IFF_LOOPBACK as u32, libc::IFF_LOOPBACK as u32);
        assert!(lines.any(|l| l == "4 127.0.0.1/8"), "{lo}");
        assert_eq!(
            describe("ps-no-such-if").unwrap_err().code,
            NO_SUCH_INTERFACE
        );
    }

    #[test]
    fn a_short_buffer_gets_the_full_length_to_ask_again() {
        let full = describe("lo").unwrap();
        let mut small = [0u8; 4];
        let name = c"lo";
        // SAFETY: a valid string and 4 writable bytes
        let n = unsafe { ps_iface_addrs(name.as_ptr(), small.as_mut_ptr(), 4) };
        assert_eq!(n as usize, full.len());
        assert_eq!(&small, b"flag");
        // SAFETY: null buffer: only the length
        let m = unsafe { ps_iface_addrs(name.as_ptr(), std::ptr::null_mut(), 0) };
        assert_eq!(m, n);
    }
}

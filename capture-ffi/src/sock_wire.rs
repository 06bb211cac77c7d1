//! Byte layouts shared with TypeScript for the socket reactor: the connect-options record that
//! `ps_sock_connect` reads and the completion events that `ps_reactor_poll` writes.
//!
//! Pure code (no syscalls) so that it can be unit-tested. All integers are little-endian.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Size of the connect-options record.
pub const OPTS_LEN: usize = 48;

/// Named offsets of the connect-options record (smoltcp style: every offset once).
mod opt {
    pub const FAMILY: usize = 0; // u8: 4 or 6
    pub const PROTO: usize = 1; // u8: 6 TCP, 17 UDP
    pub const PORT: usize = 2; // u16 destination port
    pub const FLAGS: usize = 4; // u32, see `flag`
    pub const TOS: usize = 8; // u8 full ToS / traffic class byte
    pub const MSS: usize = 10; // u16 TCP_MAXSEG
    pub const SRC_PORT: usize = 12; // u16 source port to bind (0 = any)
    pub const DST: usize = 16; // 16 bytes; IPv4 in the first 4
    pub const SRC: usize = 32; // 16 bytes; IPv4 in the first 4
}

/// Bits of the options' flags word.
pub mod flag {
    /// Set IP_TOS / IPV6_TCLASS to the `tos` byte.
    pub const TOS: u32 = 1;
    /// Set TCP_MAXSEG to `mss`.
    pub const MSS: u32 = 2;
    /// Bind to the source address (and source port if non-zero) before connecting.
    pub const BIND: u32 = 4;
    /// TCP fast open: TCP_FASTOPEN_CONNECT, the initial data goes out with the SYN if a cookie
    /// is cached (otherwise right after the handshake).
    pub const FASTOPEN: u32 = 8;
    /// TCP_NODELAY.
    pub const NODELAY: u32 = 16;
}

/// Transport protocol of a reactor socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// A decoded connect-options record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOpts {
    pub proto: Proto,
    pub dst: SocketAddr,
    pub tos: Option<u8>,
    pub mss: Option<u16>,
    pub bind: Option<SocketAddr>,
    pub fastopen: bool,
    pub nodelay: bool,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn addr_at(b: &[u8], o: usize, family: u8) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[o..o + 16]);
        IpAddr::V6(Ipv6Addr::from(a))
    }
}

impl ConnectOpts {
    /// Decodes an options record; `Err` carries a one-line reason.
    pub fn parse(b: &[u8]) -> Result<ConnectOpts, &'static str> {
        if b.len() < OPTS_LEN {
            return Err("connect options record too short");
        }
        let family = b[opt::FAMILY];
        if family != 4 && family != 6 {
            return Err("address family must be 4 or 6");
        }
        let proto = match b[opt::PROTO] {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            _ => return Err("protocol must be 6 (TCP) or 17 (UDP)"),
        };
        let port = u16_at(b, opt::PORT);
        if port == 0 {
            return Err("destination port 0");
        }
        let flags = u32_at(b, opt::FLAGS);
        if flags & !(flag::TOS | flag::MSS | flag::BIND | flag::FASTOPEN | flag::NODELAY) != 0 {
            return Err("unknown connect flag");
        }
        if proto == Proto::Udp && flags & (flag::MSS | flag::FASTOPEN | flag::NODELAY) != 0 {
            return Err("MSS, fast open and nodelay are TCP options");
        }
        let mss = u16_at(b, opt::MSS);
        Ok(ConnectOpts {
            proto,
            dst: SocketAddr::new(addr_at(b, opt::DST, family), port),
            tos: (flags & flag::TOS != 0).then_some(b[opt::TOS]),
            mss: (flags & flag::MSS != 0).then_some(mss),
            bind: (flags & flag::BIND != 0)
                .then(|| SocketAddr::new(addr_at(b, opt::SRC, family), u16_at(b, opt::SRC_PORT))),
            fastopen: flags & flag::FASTOPEN != 0,
            nodelay: flags & flag::NODELAY != 0,
        })
    }
}

/// Kinds of completion event.
pub mod kind {
    /// A connect finished (TCP handshake done or failed; UDP: the socket is connected).
    pub const CONNECT: u8 = 1;
    /// A send finished: status = bytes written.
    pub const SEND: u8 = 2;
    /// A receive finished: status = bytes received (0 = end of stream), bytes follow.
    pub const RECV: u8 = 3;
}

/// Size of an event header; the received bytes follow, then zero padding to a multiple of 8.
pub const EVENT_HEADER_LEN: usize = 40;

/// Named offsets of an event record.
mod ev {
    pub const TOKEN: usize = 0; // u64
    pub const KIND: usize = 8; // u8
    pub const FAMILY: usize = 9; // u8: 4, 6, or 0 when no local address is known
    pub const PORT: usize = 10; // u16 local port
    pub const STATUS: usize = 12; // i32: >= 0 success (bytes), < 0 minus errno
    pub const DATA_LEN: usize = 16; // u32
    pub const ADDR: usize = 24; // 16 bytes local address
}

/// A completion waiting to be copied out by the next poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub token: u64,
    pub kind: u8,
    pub status: i32,
    pub local: Option<SocketAddr>,
    pub data: Vec<u8>,
}

impl Event {
    /// A completion that carries only a status (a byte count or `-errno`): no address, no data.
    pub fn status_only(token: u64, kind: u8, status: i32) -> Self {
        Event {
            token,
            kind,
            status,
            local: None,
            data: Vec::new(),
        }
    }

    /// Bytes the event takes in the output buffer.
    pub fn encoded_len(&self) -> usize {
        (EVENT_HEADER_LEN + self.data.len() + 7) & !7
    }

    /// Writes the event at the start of `out`; returns the bytes used, or `None` if it does not fit.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.encoded_len();
        if out.len() < n {
            return None;
        }
        out[..n].fill(0);
        out[ev::TOKEN..ev::TOKEN + 8].copy_from_slice(&self.token.to_le_bytes());
        out[ev::KIND] = self.kind;
        out[ev::STATUS..ev::STATUS + 4].copy_from_slice(&self.status.to_le_bytes());
        out[ev::DATA_LEN..ev::DATA_LEN + 4]
            .copy_from_slice(&(self.data.len() as u32).to_le_bytes());
        if let Some(local) = self.local {
            out[ev::PORT..ev::PORT + 2].copy_from_slice(&local.port().to_le_bytes());
            match local.ip() {
                IpAddr::V4(a) => {
                    out[ev::FAMILY] = 4;
                    out[ev::ADDR..ev::ADDR + 4].copy_from_slice(&a.octets());
                }
                IpAddr::V6(a) => {
                    out[ev::FAMILY] = 6;
                    out[ev::ADDR..ev::ADDR + 16].copy_from_slice(&a.octets());
                }
            }
        }
        out[EVENT_HEADER_LEN..EVENT_HEADER_LEN + self.data.len()].copy_from_slice(&self.data);
        Some(n)
    }
}

/// Converts a socket address to a `sockaddr_storage` and its length.
pub fn to_sockaddr(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match a {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// Converts a `sockaddr_storage` filled by the kernel back to a socket address.
pub fn from_sockaddr(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(family: u8, proto: u8, port: u16, flags: u32) -> [u8; OPTS_LEN] {
        let mut b = [0u8; OPTS_LEN];
        b[0] = family;
        b[1] = proto;
        b[2..4].copy_from_slice(&port.to_le_bytes());
        b[4..8].copy_from_slice(&flags.to_le_bytes());
        b
    }

    #[test]
    fn parses_an_ipv4_tcp_record_with_tos_and_mss() {
        let mut b = record(4, 6, 80, flag::TOS | flag::MSS);
        b[8] = 46 << 2;
        b[10..12].copy_from_slice(&536u16.to_le_bytes());
        b[16..20].copy_from_slice(&[198, 18, 0, 2]);
        let o = ConnectOpts::parse(&b).unwrap();
        assert_eq!(o.proto, Proto::Tcp);
        assert_eq!(o.dst, "198.18.0.2:80".parse().unwrap());
        assert_eq!(o.tos, Some(184));
        assert_eq!(o.mss, Some(536));
        assert_eq!(o.bind, None);
        assert!(!o.fastopen);
    }

    #[test]
    fn parses_an_ipv6_udp_record_with_a_source_address() {
        let mut b = record(6, 17, 53, flag::BIND);
        let dst: Ipv6Addr = "fd00::2".parse().unwrap();
        let src: Ipv6Addr = "fd00::1".parse().unwrap();
        b[16..32].copy_from_slice(&dst.octets());
        b[32..48].copy_from_slice(&src.octets());
        let o = ConnectOpts::parse(&b).unwrap();
        assert_eq!(o.proto, Proto::Udp);
        assert_eq!(o.dst, "[fd00::2]:53".parse().unwrap());
        assert_eq!(o.bind, Some("[fd00::1]:0".parse().unwrap()));
        assert_eq!(o.tos, None);
    }

    #[test]
    fn rejects_bad_records() {
        assert!(ConnectOpts::parse(&[0u8; 10]).is_err());
        assert!(ConnectOpts::parse(&record(5, 6, 80, 0)).is_err());
        assert!(ConnectOpts::parse(&record(4, 1, 80, 0)).is_err());
        assert!(ConnectOpts::parse(&record(4, 6, 0, 0)).is_err());
        assert!(ConnectOpts::parse(&record(4, 6, 80, 1 << 20)).is_err());
        assert!(ConnectOpts::parse(&record(4, 17, 53, flag::FASTOPEN)).is_err());
    }

    #[test]
    fn encodes_an_event_with_data_and_padding() {
        let e = Event {
            token: 0x0102_0304_0506_0708,
            kind: kind::RECV,
            status: 3,
            local: Some("[fd00::1]:40000".parse().unwrap()),
            data: b"abc".to_vec(),
        };
        assert_eq!(e.encoded_len(), 48);
        let mut out = [0xffu8; 64];
        assert_eq!(e.encode(&mut out), Some(48));
        assert_eq!(&out[0..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(out[8], kind::RECV);
        assert_eq!(out[9], 6);
        assert_eq!(u16::from_le_bytes([out[10], out[11]]), 40000);
        assert_eq!(i32::from_le_bytes([out[12], out[13], out[14], out[15]]), 3);
        assert_eq!(u32::from_le_bytes([out[16], out[17], out[18], out[19]]), 3);
        assert_eq!(out[24], 0xfd);
        assert_eq!(out[39], 1);
        assert_eq!(&out[40..43], b"abc");
        assert_eq!(&out[43..48], &[0, 0, 0, 0, 0]);
        assert_eq!(out[48], 0xff);
    }

    #[test]
    fn refuses_to_encode_an_event_that_does_not_fit() {
        let e = Event {
            token: 1,
            kind: kind::CONNECT,
            status: -111,
            local: None,
            data: vec![],
        };
        assert_eq!(e.encode(&mut [0u8; 39]), None);
        let mut out = [0u8; 40];
        assert_eq!(e.encode(&mut out), Some(40));
        assert_eq!(out[9], 0);
        assert_eq!(
            i32::from_le_bytes([out[12], out[13], out[14], out[15]]),
            -111
        );
    }

    #[test]
    fn round_trips_socket_addresses_through_sockaddr_storage() {
        for s in ["198.18.0.1:1234", "[fd00::1:2]:65535"] {
            let a: SocketAddr = s.parse().unwrap();
            let (ss, _) = to_sockaddr(&a);
            assert_eq!(from_sockaddr(&ss), Some(a));
        }
    }
}

//! The forge model's nftables table over netlink, without the `nft` command.
//!
//! A forge run adds a temporary table (family inet) that drops, on output, RSTs from the forge
//! source ports and ICMP/ICMPv6 port-unreachables quoting a datagram to them (see
//! src/host/firewall.ts for why). Running `nft` needs the binary and CAP_NET_ADMIN in the child,
//! which file capabilities on our executable do not pass on; here the process itself speaks
//! nfnetlink. The messages are the ones `nft -f` sends for the rule set of `forgeFirewall`
//! (checked by `nft --debug=netlink`; the test compares `nft list table` of both):
//!
//! ```text
//! table inet NAME {
//!   chain output {
//!     type filter hook output priority filter; policy accept;
//!     tcp sport FIRST-LAST tcp flags & rst == rst drop
//!     icmp type destination-unreachable icmp code port-unreachable @th,240,16 FIRST-LAST drop
//!     icmpv6 type destination-unreachable icmpv6 code port-unreachable @th,400,16 FIRST-LAST drop
//!   }
//! }
//! ```

use std::ffi::c_char;

use crate::error::{
    c_str_arg, fail, guard, Error, Result, GENERIC, INVALID_ARGUMENT, NOT_PERMITTED,
};

// <linux/netlink.h>, <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>
const NETLINK_NETFILTER: libc::c_int = 12;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_INET: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_ACCEPT: u32 = 1;
const NF_DROP: u32 = 0;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFT_META_NFPROTO: u32 = 15;
const NFT_META_L4PROTO: u32 = 16;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_LTE: u32 = 3;
const NFT_CMP_GTE: u32 = 5;

/// The chain of the table.
const CHAIN: &str = "output";

/// A netlink message stream under construction.
struct Msgs {
    buf: Vec<u8>,
    seq: u32,
    /// Sequence numbers that asked for an acknowledgement.
    acked: Vec<u32>,
}

fn put_attr(b: &mut Vec<u8>, ty: u16, data: &[u8]) {
    b.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(data);
    b.resize(b.len().next_multiple_of(4), 0);
}

fn put_str(b: &mut Vec<u8>, ty: u16, s: &str) {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    put_attr(b, ty, &v);
}

fn put_u32(b: &mut Vec<u8>, ty: u16, v: u32) {
    put_attr(b, ty, &v.to_be_bytes());
}

/// Writes a nested attribute whose content `f` appends.
fn nest(b: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let start = b.len();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    f(b);
    let len = (b.len() - start) as u16;
    b[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

impl Msgs {
    fn new() -> Self {
        Msgs {
            buf: Vec::new(),
            seq: 1,
            acked: Vec::new(),
        }
    }

    /// Appends one message (`nlmsghdr` + `nfgenmsg` + attributes from `f`).
    fn msg(&mut self, ty: u16, flags: u16, family: u8, res_id: u16, f: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        let seq = self.seq;
        self.seq += 1;
        if flags & NLM_F_ACK != 0 {
            self.acked.push(seq);
        }
        let b = &mut self.buf;
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&[family, 0]);
        b.extend_from_slice(&res_id.to_be_bytes());
        f(b);
        let len = (b.len() - start) as u32;
        b[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// A batch of nf_tables messages: `f` adds them between the begin and end markers.
    fn batch(f: impl FnOnce(&mut Msgs)) -> Self {
        let mut m = Msgs::new();
        let sub = NFNL_SUBSYS_NFTABLES;
        m.msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, sub, |_| {});
        f(&mut m);
        m.msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, sub, |_| {});
        m
    }

    fn nft(&mut self, cmd: u16, flags: u16, f: impl FnOnce(&mut Vec<u8>)) {
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | cmd;
        self.msg(ty, NLM_F_REQUEST | NLM_F_ACK | flags, NFPROTO_INET, 0, f);
    }
}

/// One expression of a rule.
fn expr(b: &mut Vec<u8>, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    nest(b, NFTA_LIST_ELEM, |b| {
        put_str(b, NFTA_EXPR_NAME, name);
        nest(b, NFTA_EXPR_DATA, f);
    });
}

fn meta(b: &mut Vec<u8>, key: u32) {
    expr(b, "meta", |b| {
        put_u32(b, 2, key); // NFTA_META_KEY
        put_u32(b, 1, NFT_REG_1); // NFTA_META_DREG
    });
}

fn cmp(b: &mut Vec<u8>, op: u32, data: &[u8]) {
    expr(b, "cmp", |b| {
        put_u32(b, 1, NFT_REG_1); // NFTA_CMP_SREG
        put_u32(b, 2, op); // NFTA_CMP_OP
        nest(b, 3, |b| put_attr(b, NFTA_DATA_VALUE, data)); // NFTA_CMP_DATA
    });
}

fn transport(b: &mut Vec<u8>, offset: u32, len: u32) {
    expr(b, "payload", |b| {
        put_u32(b, 1, NFT_REG_1); // NFTA_PAYLOAD_DREG
        put_u32(b, 2, NFT_PAYLOAD_TRANSPORT_HEADER); // NFTA_PAYLOAD_BASE
        put_u32(b, 3, offset); // NFTA_PAYLOAD_OFFSET
        put_u32(b, 4, len); // NFTA_PAYLOAD_LEN
    });
}

fn port_range(b: &mut Vec<u8>, offset: u32, first: u16, last: u16) {
    transport(b, offset, 2);
    cmp(b, NFT_CMP_GTE, &first.to_be_bytes());
    cmp(b, NFT_CMP_LTE, &last.to_be_bytes());
}

fn drop_verdict(b: &mut Vec<u8>) {
    expr(b, "immediate", |b| {
        put_u32(b, 1, NFT_REG_VERDICT); // NFTA_IMMEDIATE_DREG
        nest(b, 2, |b| {
            // NFTA_IMMEDIATE_DATA
            nest(b, NFTA_DATA_VERDICT, |b| {
                put_u32(b, NFTA_VERDICT_CODE, NF_DROP)
            });
        });
    });
}

fn rule(m: &mut Msgs, table: &str, f: impl FnOnce(&mut Vec<u8>)) {
    m.nft(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, |b| {
        put_str(b, NFTA_RULE_TABLE, table);
        put_str(b, NFTA_RULE_CHAIN, CHAIN);
        nest(b, NFTA_RULE_EXPRESSIONS, f);
    });
}

/// The batch adding the forge table `table` for source ports `first..=last`.
fn forge_batch(table: &str, first: u16, last: u16) -> Msgs {
    Msgs::batch(|m| {
        m.nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, |b| {
            put_str(b, NFTA_TABLE_NAME, table)
        });
        m.nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, |b| {
            put_str(b, NFTA_CHAIN_TABLE, table);
            put_str(b, NFTA_CHAIN_NAME, CHAIN);
            nest(b, NFTA_CHAIN_HOOK, |b| {
                put_u32(b, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
                put_u32(b, NFTA_HOOK_PRIORITY, 0);
            });
            put_u32(b, NFTA_CHAIN_POLICY, NF_ACCEPT);
            put_str(b, NFTA_CHAIN_TYPE, "filter");
        });
        // tcp sport FIRST-LAST tcp flags & rst == rst drop
        rule(m, table, |b| {
            meta(b, NFT_META_L4PROTO);
            cmp(b, NFT_CMP_EQ, &[libc::IPPROTO_TCP as u8]);
            port_range(b, 0, first, last);
            transport(b, 13, 1);
            expr(b, "bitwise", |b| {
                put_u32(b, 1, NFT_REG_1); // NFTA_BITWISE_SREG
                put_u32(b, 2, NFT_REG_1); // NFTA_BITWISE_DREG
                put_u32(b, 3, 1); // NFTA_BITWISE_LEN
                nest(b, 4, |b| put_attr(b, NFTA_DATA_VALUE, &[0x04])); // NFTA_BITWISE_MASK
                nest(b, 5, |b| put_attr(b, NFTA_DATA_VALUE, &[0x00])); // NFTA_BITWISE_XOR
            });
            cmp(b, NFT_CMP_EQ, &[0x04]);
            drop_verdict(b);
        });
        // ICMP port unreachable (type 3 code 3) quoting a datagram to a forge port: ICMP header
        // 8 bytes + quoted IPv4 header 20, then the quoted destination port at 2 (@th,240,16)
        rule(m, table, |b| {
            meta(b, NFT_META_NFPROTO);
            cmp(b, NFT_CMP_EQ, &[NFPROTO_IPV4]);
            meta(b, NFT_META_L4PROTO);
            cmp(b, NFT_CMP_EQ, &[libc::IPPROTO_ICMP as u8]);
            transport(b, 0, 2);
            cmp(b, NFT_CMP_EQ, &[3, 3]);
            port_range(b, 30, first, last);
            drop_verdict(b);
        });
        // ICMPv6 port unreachable (type 1 code 4): quoted IPv6 header 40 bytes (@th,400,16)
        rule(m, table, |b| {
            meta(b, NFT_META_NFPROTO);
            cmp(b, NFT_CMP_EQ, &[NFPROTO_IPV6]);
            meta(b, NFT_META_L4PROTO);
            cmp(b, NFT_CMP_EQ, &[libc::IPPROTO_ICMPV6 as u8]);
            transport(b, 0, 2);
            cmp(b, NFT_CMP_EQ, &[1, 4]);
            port_range(b, 50, first, last);
            drop_verdict(b);
        });
    })
}

/// A netlink socket of the netfilter family, closed on drop.
struct Sock(libc::c_int);

impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// Sends `m` and waits for the acknowledgement of each message that asked for one; the first
/// error (a negative errno) is returned as `Err(errno)`.
fn transact(m: &Msgs) -> Result<std::result::Result<(), i32>> {
    let os = |what: &str| Error::os(GENERIC, what, &std::io::Error::last_os_error());
    // SAFETY: plain syscall.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(os("netlink socket"));
    }
    let sock = Sock(fd);
    // the kernel answers at once; a bound on the wait keeps a surprise from hanging the run
    let tv = libc::timeval {
        tv_sec: 5,
        tv_usec: 0,
    };
    // SAFETY: tv is a valid timeval for the duration of the call.
    unsafe {
        libc::setsockopt(
            sock.0,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    // SAFETY: zeroed sockaddr_nl is valid (pid 0: the kernel).
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: m.buf is valid for its length; sa is a valid sockaddr_nl.
    let sent = unsafe {
        libc::sendto(
            sock.0,
            m.buf.as_ptr() as *const libc::c_void,
            m.buf.len(),
            0,
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        return Err(os("netlink send"));
    }
    let mut waiting = m.acked.clone();
    let mut buf = vec![0u8; 1 << 16];
    while !waiting.is_empty() {
        // SAFETY: buf is valid for writing its length.
        let n = unsafe { libc::recv(sock.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            return Err(os("netlink receive"));
        }
        let mut o = 0usize;
        let n = n as usize;
        while o + 16 <= n {
            let len = u32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]) as usize;
            let ty = u16::from_ne_bytes([buf[o + 4], buf[o + 5]]);
            let seq = u32::from_ne_bytes([buf[o + 8], buf[o + 9], buf[o + 10], buf[o + 11]]);
            if len < 16 || o + len > n {
                break;
            }
            if ty == NLMSG_ERROR && len >= 20 {
                let err = i32::from_ne_bytes([buf[o + 16], buf[o + 17], buf[o + 18], buf[o + 19]]);
                if err != 0 {
                    return Ok(Err(-err));
                }
                waiting.retain(|&s| s != seq);
            }
            o += len.next_multiple_of(4);
        }
    }
    Ok(Ok(()))
}

fn errno_error(what: &str, errno: i32) -> Error {
    let e = std::io::Error::from_raw_os_error(errno);
    let code = if errno == libc::EPERM || errno == libc::EACCES {
        NOT_PERMITTED
    } else {
        GENERIC
    };
    let hint = if code == NOT_PERMITTED {
        " (needs CAP_NET_ADMIN)"
    } else {
        ""
    };
    Error::new(code, format!("{what}: {e}{hint}"))
}

fn check_name(table: &str) -> Result<()> {
    let ok = !table.is_empty()
        && table.len() < 256
        && table
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            INVALID_ARGUMENT,
            format!("bad nftables table name {table:?}"),
        ))
    }
}

/// Adds the forge table `table` (family inet) for source ports `first..=last`, in one
/// transaction: all of it or nothing. Adding it again changes nothing but appends the rules again
/// (as `nft -f` would); a run adds it once.
pub fn add_forge_table(table: &str, first: u16, last: u16) -> Result<()> {
    check_name(table)?;
    if first > last {
        return Err(Error::new(
            INVALID_ARGUMENT,
            format!("empty port range {first}-{last}"),
        ));
    }
    transact(&forge_batch(table, first, last))?
        .map_err(|e| errno_error(&format!("adding nftables table inet {table}"), e))
}

/// Deletes table `table` (family inet); `Ok(false)` if it was not there.
pub fn delete_table(table: &str) -> Result<bool> {
    check_name(table)?;
    let m = Msgs::batch(|m| {
        m.nft(NFT_MSG_DELTABLE, 0, |b| put_str(b, NFTA_TABLE_NAME, table));
    });
    match transact(&m)? {
        Ok(()) => Ok(true),
        Err(libc::ENOENT) => Ok(false),
        Err(e) => Err(errno_error(
            &format!("deleting nftables table inet {table}"),
            e,
        )),
    }
}

/// Adds the forge table `table` (family inet) dropping, on output, RSTs from source ports
/// `first..=last` and ICMP/ICMPv6 port-unreachables quoting a datagram to them. 0 on success; -5
/// without CAP_NET_ADMIN; -8 for a bad name or range.
///
/// # Safety
/// `table` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ps_nft_add_forge_table(
    table: *const c_char,
    first: u32,
    last: u32,
) -> i32 {
    guard("ps_nft_add_forge_table", || {
        // SAFETY: forwarded caller guarantee.
        let table = match unsafe { c_str_arg(table, "table name") } {
            Ok(Some(t)) => t,
            Ok(None) => return fail(Error::new(INVALID_ARGUMENT, "null table name")),
            Err(e) => return fail(e),
        };
        let (Ok(first), Ok(last)) = (u16::try_from(first), u16::try_from(last)) else {
            return fail(Error::new(INVALID_ARGUMENT, "port beyond 65535"));
        };
        match add_forge_table(table, first, last) {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}

/// Deletes nftables table `table` (family inet): 1 if it was deleted, 0 if it was not there; -5
/// without CAP_NET_ADMIN.
///
/// # Safety
/// `table` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ps_nft_delete_table(table: *const c_char) -> i32 {
    guard("ps_nft_delete_table", || {
        // SAFETY: forwarded caller guarantee.
        let table = match unsafe { c_str_arg(table, "table name") } {
            Ok(Some(t)) => t,
            Ok(None) => return fail(Error::new(INVALID_ARGUMENT, "null table name")),
            Err(e) => return fail(e),
        };
        match delete_table(table) {
            Ok(deleted) => i32::from(deleted),
            Err(e) => fail(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the messages of a stream: (type, flags, length) each.
    fn walk(b: &[u8]) -> Vec<(u16, u16, usize)> {
        let mut out = vec![];
        let mut o = 0;
        while o < b.len() {
            let len = u32::from_ne_bytes(b[o..o + 4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(b[o + 4..o + 6].try_into().unwrap());
            let fl = u16::from_ne_bytes(b[o + 6..o + 8].try_into().unwrap());
            assert!(len >= 20 && len.is_multiple_of(4) && o + len <= b.len());
            out.push((ty, fl, len));
            o += len;
        }
        out
    }

    #[test]
    fn the_batch_is_begin_table_chain_three_rules_end_each_acked() {
        let m = forge_batch("pathspider_forge_1", 61000, 65535);
        let msgs = walk(&m.buf);
        let types: Vec<u16> = msgs.iter().map(|x| x.0).collect();
        let t = |c: u16| (NFNL_SUBSYS_NFTABLES << 8) | c;
        assert_eq!(
            types,
            [
                NFNL_MSG_BATCH_BEGIN,
                t(NFT_MSG_NEWTABLE),
                t(NFT_MSG_NEWCHAIN),
                t(NFT_MSG_NEWRULE),
                t(NFT_MSG_NEWRULE),
                t(NFT_MSG_NEWRULE),
                NFNL_MSG_BATCH_END
            ]
        );
        assert_eq!(m.acked.len(), 5);
        assert!(msgs[1..6].iter().all(|x| x.1 & NLM_F_ACK != 0));
        // the port bounds are in network order in the rules
        let w = m.buf.windows(2);
        assert!(w.clone().any(|x| x == [0xee, 0x48]));
    }

    #[test]
    fn bad_names_and_ranges_are_refused_before_any_socket() {
        for name in ["", "a b", "x;y", &"n".repeat(300)] {
            assert_eq!(
                add_forge_table(name, 1, 2).unwrap_err().code,
                INVALID_ARGUMENT
            );
        }
        assert_eq!(
            add_forge_table("ok", 9, 8).unwrap_err().code,
            INVALID_ARGUMENT
        );
    }
}

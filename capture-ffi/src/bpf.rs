//! The live capture's kernel filter: classic BPF programs built from a filter spec.
//!
//! A spec is `""` (every packet), `"ip"` (IPv4 and IPv6) or a list of `;`-separated clauses
//! that keeps only a measurement run's own traffic:
//!
//! - `tcp`, `udp` or `tcp,udp`: the transport protocols whose ports are tested (default: both);
//! - `ports=P,P,...` with each `P` a port `80` or a range `61000-65535`: a TCP or UDP packet
//!   passes when its source **or** destination port is in the set (the run's own ephemeral
//!   ports are not known in advance, so the remote or forge port decides, in either direction);
//!   without `ports=`, every packet of the listed protocols passes;
//! - `icmp-errors`: ICMP destination unreachable, time exceeded and parameter problem, and
//!   ICMPv6 destination unreachable, packet too big, time exceeded and parameter problem pass
//!   (whatever packet they quote).
//!
//! Beyond the spec, since a filter cannot see ports there: IPv4 fragments with a non-zero offset
//! of a listed protocol (or of ICMP with `icmp-errors`) pass, and so does every IPv6 packet whose
//! first next header is an extension header (hop-by-hop, routing, fragment, destination options,
//! AH, mobility, HIP, shim6, experimental). Anything else (ARP, other protocols, ICMP echo, other
//! ports) is dropped in the kernel before it costs a copy into the ring.
//!
//! Example: `tcp,udp;ports=80,443,53,61000-65535;icmp-errors`.
//!
//! The link-layer header is 14 bytes (Ethernet, loopback) or none (raw IP: TUN, WireGuard); the
//! network protocol comes from `skb->protocol` (an ancillary load), as in the `"ip"` filter, so
//! the same spec serves every device type.

use crate::error::{Error, Result, INVALID_ARGUMENT};

/// `SKF_AD_OFF + SKF_AD_PROTOCOL`: BPF load of `skb->protocol` (host order), whatever the link
/// header looks like.
pub const SKF_AD_PROTOCOL: u32 = 0xffff_f000;

// Classic BPF opcodes (<linux/filter.h>).
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_H_IND: u16 = 0x48;
const LD_B_IND: u16 = 0x50;
const LDX_B_MSH: u16 = 0xb1;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

const ETH_P_IP: u32 = 0x0800;
const ETH_P_IPV6: u32 = 0x86dd;
const IPPROTO_ICMP: u32 = 1;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const IPPROTO_ICMPV6: u32 = 58;
/// IPv6 extension headers (IANA "IPv6 Extension Header Types"); ESP (50) is left out: its
/// payload is encrypted, nothing behind it could be ours to see.
const IPV6_EXTENSIONS: [u32; 10] = [0, 43, 44, 51, 60, 135, 139, 140, 253, 254];
const ICMP4_ERRORS: [u32; 3] = [3, 11, 12];
const ICMP6_ERRORS: [u32; 4] = [1, 2, 3, 4];

/// At most this many ports or ranges: the port tests must stay within reach of a conditional
/// jump (255 instructions).
pub const MAX_PORT_ITEMS: usize = 48;

/// A parsed filter spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spec {
    /// Keep everything (`""`).
    pub all: bool,
    /// Keep IPv4 and IPv6 only (`"ip"`).
    pub ip_only: bool,
    /// Port tests apply to TCP.
    pub tcp: bool,
    /// Port tests apply to UDP.
    pub udp: bool,
    /// Inclusive port ranges; empty: any port.
    pub ports: Vec<(u16, u16)>,
    /// ICMP/ICMPv6 error messages pass.
    pub icmp_errors: bool,
}

fn bad(spec: &str, why: &str) -> Error {
    Error::new(
        INVALID_ARGUMENT,
        format!("capture filter {spec:?}: {why} (e.g. \"tcp,udp;ports=80,61000-65535;icmp-errors\", \"ip\" or \"\")"),
    )
}

fn port(spec: &str, s: &str) -> Result<u16> {
    s.trim()
        .parse::<u16>()
        .map_err(|_| bad(spec, &format!("bad port {s:?}")))
}

/// Parses a filter spec (see the module documentation).
pub fn parse(spec: &str) -> Result<Spec> {
    let s = spec.trim();
    if s.is_empty() {
        return Ok(Spec {
            all: true,
            ..Spec::default()
        });
    }
    if s == "ip" {
        return Ok(Spec {
            ip_only: true,
            ..Spec::default()
        });
    }
    let mut out = Spec::default();
    let mut ports_given = false;
    for clause in s.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        if let Some(list) = clause.strip_prefix("ports=") {
            if ports_given {
                return Err(bad(spec, "ports= given twice"));
            }
            ports_given = true;
            for item in list.split(',') {
                let range = match item.split_once('-') {
                    Some((a, b)) => (port(spec, a)?, port(spec, b)?),
                    None => {
                        let p = port(spec, item)?;
                        (p, p)
                    }
                };
                if range.0 > range.1 {
                    return Err(bad(spec, &format!("empty port range {item:?}")));
                }
                out.ports.push(range);
            }
            if out.ports.len() > MAX_PORT_ITEMS {
                return Err(bad(
                    spec,
                    &format!("more than {MAX_PORT_ITEMS} ports or ranges"),
                ));
            }
        } else if clause == "icmp-errors" {
            out.icmp_errors = true;
        } else {
            for p in clause.split(',').map(str::trim) {
                match p {
                    "tcp" => out.tcp = true,
                    "udp" => out.udp = true,
                    _ => return Err(bad(spec, &format!("unknown clause {p:?}"))),
                }
            }
        }
    }
    if ports_given && !out.tcp && !out.udp {
        out.tcp = true;
        out.udp = true;
    }
    if !out.tcp && !out.udp && !out.icmp_errors {
        return Err(bad(spec, "it keeps nothing"));
    }
    Ok(out)
}

/// A jump target while the program is assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Label(usize),
    /// Over this many instructions.
    Skip(u8),
}

/// A tiny assembler with forward labels.
struct Asm {
    ins: Vec<(u16, To, To, u32)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn new() -> Self {
        Asm {
            ins: Vec::new(),
            labels: Vec::new(),
        }
    }
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn here(&mut self, l: usize) {
        self.labels[l] = Some(self.ins.len());
    }
    fn op(&mut self, code: u16, k: u32) {
        self.ins.push((code, To::Next, To::Next, k));
    }
    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.ins.push((code, jt, jf, k));
    }
    /// Resolves the labels; a jump must go forward, at most 255 instructions.
    fn finish(self) -> Result<Vec<libc::sock_filter>> {
        let off = |at: usize, t: To| -> Result<u8> {
            let dest = match t {
                To::Next => return Ok(0),
                To::Skip(n) => return Ok(n),
                To::Label(l) => self.labels.get(l).copied().flatten().unwrap_or(usize::MAX),
            };
            dest.checked_sub(at + 1)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| Error::new(INVALID_ARGUMENT, "capture filter too long"))
        };
        let mut out = Vec::with_capacity(self.ins.len());
        for (i, &(code, jt, jf, k)) in self.ins.iter().enumerate() {
            out.push(if code == JA {
                // an unconditional jump's offset is k (32 bits); its target is kept in jt
                libc::sock_filter {
                    code,
                    jt: 0,
                    jf: 0,
                    k: off(i, jt)? as u32,
                }
            } else {
                libc::sock_filter {
                    code,
                    jt: off(i, jt)?,
                    jf: off(i, jf)?,
                    k,
                }
            });
        }
        Ok(out)
    }
}

/// Builds the program for `spec` on a device whose network header starts `link` bytes into the
/// frame (14 Ethernet/loopback, 0 raw IP); an accepted packet keeps `snaplen` bytes.
pub fn program(spec: &Spec, link: u32, snaplen: u32) -> Result<Vec<libc::sock_filter>> {
    let mut a = Asm::new();
    if spec.all {
        a.op(RET_K, snaplen);
        return a.finish();
    }
    if spec.ip_only {
        a.op(LD_H_ABS, SKF_AD_PROTOCOL);
        a.jump(JEQ_K, ETH_P_IP, To::Skip(1), To::Next);
        a.jump(JEQ_K, ETH_P_IPV6, To::Next, To::Skip(1));
        a.op(RET_K, snaplen);
        a.op(RET_K, 0);
        return a.finish();
    }
    // A conditional jump reaches 255 instructions: every block ends in its own pair of returns
    // (see `end_block`), and the IPv6 part, past all of IPv4, is reached by an unconditional jump.
    let v6 = a.label();
    a.op(LD_H_ABS, SKF_AD_PROTOCOL);
    a.jump(JEQ_K, ETH_P_IPV6, To::Next, To::Skip(1));
    a.jump(JA, 0, To::Label(v6), To::Next);
    a.jump(JEQ_K, ETH_P_IP, To::Skip(1), To::Next);
    a.op(RET_K, 0);
    let transports: Vec<u32> = [(spec.tcp, IPPROTO_TCP), (spec.udp, IPPROTO_UDP)]
        .iter()
        .filter(|t| t.0)
        .map(|t| t.1)
        .collect();

    // IPv4: a fragment past the first has no ports to test
    let (v4first, v4ports, v4icmp) = (a.label(), a.label(), a.label());
    a.op(LD_H_ABS, link + 6);
    a.jump(JSET_K, 0x1fff, To::Next, To::Label(v4first));
    let acc = a.label();
    a.op(LD_B_ABS, link + 9);
    for &p in &transports {
        a.jump(JEQ_K, p, To::Label(acc), To::Next);
    }
    if spec.icmp_errors {
        a.jump(JEQ_K, IPPROTO_ICMP, To::Label(acc), To::Next);
    }
    end_block(&mut a, acc, snaplen);
    a.here(v4first);
    let acc = a.label();
    a.op(LD_B_ABS, link + 9);
    let to_ports = if spec.ports.is_empty() { acc } else { v4ports };
    for &p in &transports {
        a.jump(JEQ_K, p, To::Label(to_ports), To::Next);
    }
    if spec.icmp_errors {
        a.jump(JEQ_K, IPPROTO_ICMP, To::Label(v4icmp), To::Next);
    }
    end_block(&mut a, acc, snaplen);
    if spec.icmp_errors {
        a.here(v4icmp);
        let acc = a.label();
        a.op(LDX_B_MSH, link);
        a.op(LD_B_IND, link);
        for t in ICMP4_ERRORS {
            a.jump(JEQ_K, t, To::Label(acc), To::Next);
        }
        end_block(&mut a, acc, snaplen);
    }
    if !spec.ports.is_empty() {
        a.here(v4ports);
        let acc = a.label();
        // X = the IPv4 header length, from IHL
        a.op(LDX_B_MSH, link);
        a.op(LD_H_IND, link);
        port_tests(&mut a, &spec.ports, acc);
        a.op(LD_H_IND, link + 2);
        port_tests(&mut a, &spec.ports, acc);
        end_block(&mut a, acc, snaplen);
    }

    // IPv6: only a transport header right after the fixed header can be tested
    let (v6ports, v6icmp) = (a.label(), a.label());
    a.here(v6);
    let acc = a.label();
    a.op(LD_B_ABS, link + 6);
    let to_ports = if spec.ports.is_empty() { acc } else { v6ports };
    for &p in &transports {
        a.jump(JEQ_K, p, To::Label(to_ports), To::Next);
    }
    if spec.icmp_errors {
        a.jump(JEQ_K, IPPROTO_ICMPV6, To::Label(v6icmp), To::Next);
    }
    for e in IPV6_EXTENSIONS {
        a.jump(JEQ_K, e, To::Label(acc), To::Next);
    }
    end_block(&mut a, acc, snaplen);
    if spec.icmp_errors {
        a.here(v6icmp);
        let acc = a.label();
        a.op(LD_B_ABS, link + 40);
        for t in ICMP6_ERRORS {
            a.jump(JEQ_K, t, To::Label(acc), To::Next);
        }
        end_block(&mut a, acc, snaplen);
    }
    if !spec.ports.is_empty() {
        a.here(v6ports);
        let acc = a.label();
        a.op(LD_H_ABS, link + 40);
        port_tests(&mut a, &spec.ports, acc);
        a.op(LD_H_ABS, link + 42);
        port_tests(&mut a, &spec.ports, acc);
        end_block(&mut a, acc, snaplen);
    }
    a.finish()
}

/// Ends a block: falling through drops the packet, its label `acc` keeps it.
fn end_block(a: &mut Asm, acc: usize, snaplen: u32) {
    a.op(RET_K, 0);
    a.here(acc);
    a.op(RET_K, snaplen);
}

/// Jumps to `accept` when A (a port) is in one of `ports`; falls through otherwise.
fn port_tests(a: &mut Asm, ports: &[(u16, u16)], accept: usize) {
    for &(lo, hi) in ports {
        if lo == hi {
            a.jump(JEQ_K, lo as u32, To::Label(accept), To::Next);
        } else {
            // A < lo: skip the upper test and go on; A > hi: go on; else accept
            a.jump(JGE_K, lo as u32, To::Next, To::Skip(1));
            a.jump(JGT_K, hi as u32, To::Next, To::Label(accept));
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Runs a classic BPF program over `pkt` (a frame whose `skb->protocol` is `proto`) as the
    /// kernel would: the value of the first `ret`, 0 for a load past the end.
    pub fn run(prog: &[libc::sock_filter], pkt: &[u8], proto: u16) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |off: u32, size: usize| -> Option<u32> {
            if off == SKF_AD_PROTOCOL {
                return Some(proto as u32);
            }
            let o = off as usize;
            let b = pkt.get(o..o.checked_add(size)?)?;
            Some(b.iter().fold(0u32, |v, &x| (v << 8) | x as u32))
        };
        loop {
            let i = prog[pc];
            pc += 1;
            let k = i.k;
            let got = match i.code {
                LD_H_ABS => load(k, 2),
                LD_B_ABS => load(k, 1),
                LD_H_IND => load(x.wrapping_add(k), 2),
                LD_B_IND => load(x.wrapping_add(k), 1),
                LDX_B_MSH => {
                    let Some(v) = load(k, 1) else { return 0 };
                    x = (v & 0xf) * 4;
                    continue;
                }
                JA => {
                    pc += k as usize;
                    continue;
                }
                JEQ_K | JGT_K | JGE_K | JSET_K => {
                    let c = match i.code {
                        JEQ_K => a == k,
                        JGT_K => a > k,
                        JGE_K => a >= k,
                        _ => a & k != 0,
                    };
                    pc += if c { i.jt } else { i.jf } as usize;
                    continue;
                }
                RET_K => return k,
                c => panic!("opcode {c:#x} not in the test interpreter"),
            };
            match got {
                Some(v) => a = v,
                None => return 0,
            }
        }
    }

    const SNAP: u32 = 1500;
    const RUN: &str = "tcp,udp;ports=80,443,53,61000-65535;icmp-errors";

    fn tcp(sport: u16, dport: u16) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[12] = 5 << 4;
        h[13] = 0x02;
        h
    }

    fn udp(sport: u16, dport: u16) -> Vec<u8> {
        let mut h = vec![0u8; 8];
        h[0..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[4..6].copy_from_slice(&8u16.to_be_bytes());
        h
    }

    /// IPv4 with `opts` bytes of options (a multiple of 4) and a fragment field.
    fn ip4(proto: u8, frag: u16, opts: usize, l4: &[u8]) -> Vec<u8> {
        let hl = 20 + opts;
        let mut h = vec![0u8; hl];
        h[0] = 0x40 | (hl / 4) as u8;
        h[2..4].copy_from_slice(&((hl + l4.len()) as u16).to_be_bytes());
        h[6..8].copy_from_slice(&frag.to_be_bytes());
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&[198, 18, 0, 1]);
        h[16..20].copy_from_slice(&[198, 18, 0, 2]);
        for b in &mut h[20..] {
            *b = 1; // NOP options
        }
        h.extend_from_slice(l4);
        h
    }

    fn ip6(nh: u8, l4: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
        h[6] = nh;
        h[7] = 64;
        h[8] = 0xfd;
        h[24] = 0xfd;
        h[39] = 2;
        h.extend_from_slice(l4);
        h
    }

    fn icmp(t: u8, quoted: &[u8]) -> Vec<u8> {
        let mut h = vec![t, 0, 0, 0, 0, 0, 0, 0];
        h.extend_from_slice(quoted);
        h
    }

    /// Runs `spec` over the IP packet `ip` on Ethernet (14-byte header) and raw IP; both must
    /// agree; returns whether it passed.
    fn passes(spec: &str, ip: &[u8]) -> bool {
        let sp = parse(spec).unwrap();
        let proto: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&proto.to_be_bytes());
        frame.extend_from_slice(ip);
        let eth = run(&program(&sp, 14, SNAP).unwrap(), &frame, proto);
        let raw = run(&program(&sp, 0, SNAP).unwrap(), ip, proto);
        assert_eq!(eth, raw, "Ethernet and raw IP disagree on {ip:02x?}");
        assert!(eth == 0 || eth == SNAP);
        eth == SNAP
    }

    /// What a spec means, written plainly over the IP packet `ip` (network protocol `proto`), a
    /// missing byte rejecting as a load past the end does in the kernel.
    fn reference(sp: &Spec, ip: &[u8], proto: u16) -> Option<bool> {
        let in_ports = |p: u16| sp.ports.iter().any(|&(lo, hi)| lo <= p && p <= hi);
        let is_transport = |p: u8| (p == 6 && sp.tcp) || (p == 17 && sp.udp);
        let port_at =
            |o: usize| -> Option<u16> { Some(u16::from_be_bytes([*ip.get(o)?, *ip.get(o + 1)?])) };
        let ports_match = |l4: usize| -> Option<bool> {
            if sp.ports.is_empty() || in_ports(port_at(l4)?) {
                return Some(true);
            }
            Some(in_ports(port_at(l4 + 2)?))
        };
        match proto {
            0x0800 => {
                let frag = port_at(6)? & 0x1fff;
                let p = *ip.get(9)?;
                if frag != 0 {
                    return Some(is_transport(p) || (sp.icmp_errors && p == 1));
                }
                let l4 = (*ip.first()? as usize & 15) * 4;
                if is_transport(p) {
                    ports_match(l4)
                } else if sp.icmp_errors && p == 1 {
                    Some(ICMP4_ERRORS.contains(&(*ip.get(l4)? as u32)))
                } else {
                    Some(false)
                }
            }
            0x86dd => {
                let nh = *ip.get(6)?;
                if is_transport(nh) {
                    ports_match(40)
                } else if sp.icmp_errors && nh == 58 {
                    Some(ICMP6_ERRORS.contains(&(*ip.get(40)? as u32)))
                } else {
                    Some(IPV6_EXTENSIONS.contains(&(nh as u32)))
                }
            }
            _ => Some(false),
        }
    }

    #[test]
    fn programs_agree_with_the_plain_meaning_on_random_packets() {
        let mut seed = 0x0bad_5eed_u64;
        let mut rnd = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        // ports at and around the edges of the specs' ranges
        let ports = [
            0u16, 1, 2, 52, 53, 54, 79, 80, 81, 443, 60999, 61000, 61001, 65534, 65535,
        ];
        let specs = [
            RUN,
            "udp;ports=53",
            "tcp",
            "icmp-errors",
            "ports=0-0,65535",
            "tcp;ports=1-2,80;icmp-errors",
        ];
        let (mut checked, mut kept) = (0, 0);
        for spec in specs {
            let sp = parse(spec).unwrap();
            let (eth, raw) = (
                program(&sp, 14, SNAP).unwrap(),
                program(&sp, 0, SNAP).unwrap(),
            );
            for _ in 0..20_000 {
                let (sport, dport) = (ports[rnd(ports.len())], ports[rnd(ports.len())]);
                let l4 = match rnd(4) {
                    0 => tcp(sport, dport),
                    1 => udp(sport, dport),
                    2 => icmp(rnd(16) as u8, &tcp(sport, dport)),
                    _ => icmp([1, 2, 3, 4, 128, 135][rnd(6)], &udp(sport, dport)),
                };
                let protos = [6u8, 17, 1, 58, 0, 43, 44, 47, 60, 50];
                let p = protos[rnd(protos.len())];
                let (mut ip, proto) = if rnd(2) == 0 {
                    let frag = [0u16, 0x4000, 0x2000, 1, 0x2000 | 185, 0x1fff][rnd(6)];
                    (ip4(p, frag, 4 * rnd(11), &l4), 0x0800)
                } else {
                    (ip6(p, &l4), 0x86dd)
                };
                if rnd(4) == 0 {
                    let n = ip.len();
                    ip.truncate(rnd(n + 1));
                }
                if rnd(8) == 0 && !ip.is_empty() {
                    let i = rnd(ip.len().min(64));
                    ip[i] = rnd(256) as u8;
                }
                let proto = if rnd(50) == 0 { 0x0806 } else { proto };
                let want = reference(&sp, &ip, proto).unwrap_or(false);
                let mut frame = vec![0u8; 12];
                frame.extend_from_slice(&proto.to_be_bytes());
                frame.extend_from_slice(&ip);
                assert_eq!(run(&raw, &ip, proto) == SNAP, want, "{spec} raw {ip:02x?}");
                assert_eq!(
                    run(&eth, &frame, proto) == SNAP,
                    want,
                    "{spec} eth {ip:02x?}"
                );
                checked += 1;
                kept += usize::from(want);
            }
        }
        // both outcomes are common: the packets test something
        assert!(
            kept > checked / 10 && kept < checked * 9 / 10,
            "{kept} of {checked}"
        );
    }

    #[test]
    fn the_run_ports_pass_in_either_direction_and_others_do_not() {
        for ip in [
            ip4(6, 0x4000, 0, &tcp(40000, 80)),
            ip4(6, 0, 0, &tcp(80, 40000)),
            ip4(17, 0, 0, &udp(53, 33333)),
            ip4(17, 0, 0, &udp(33333, 443)),
            ip4(6, 0, 0, &tcp(61000, 9)),
            ip4(6, 0, 0, &tcp(9, 65535)),
            ip4(6, 0, 0, &tcp(62000, 62001)),
            ip6(6, &tcp(40000, 443)),
            ip6(17, &udp(61500, 12345)),
            ip6(17, &udp(53, 1)),
        ] {
            assert!(passes(RUN, &ip), "{ip:02x?}");
        }
        for ip in [
            ip4(6, 0, 0, &tcp(40000, 81)),
            ip4(6, 0, 0, &tcp(60999, 22)),
            ip4(17, 0, 0, &udp(5353, 5353)),
            ip4(17, 0, 0, &udp(79, 444)),
            ip6(6, &tcp(22, 40000)),
            ip6(17, &udp(60999, 52)),
        ] {
            assert!(!passes(RUN, &ip), "{ip:02x?}");
        }
    }

    #[test]
    fn ports_are_found_behind_ipv4_options() {
        let opt = ip4(6, 0, 12, &tcp(40000, 443));
        assert!(passes(RUN, &opt));
        assert!(passes(RUN, &ip4(17, 0, 40, &udp(61001, 7))));
        // the same ports at the offset of a header without options would be misread
        assert!(!passes(RUN, &ip4(6, 0, 8, &tcp(22, 23))));
    }

    #[test]
    fn icmp_errors_pass_and_other_icmp_does_not() {
        let quoted = ip4(6, 0, 0, &tcp(40000, 80));
        for t in [3, 11, 12] {
            assert!(
                passes(RUN, &ip4(1, 0, 0, &icmp(t, &quoted))),
                "ICMP type {t}"
            );
        }
        for t in [0, 8, 5, 13] {
            assert!(
                !passes(RUN, &ip4(1, 0, 0, &icmp(t, &quoted))),
                "ICMP type {t}"
            );
        }
        let quoted6 = ip6(17, &udp(40000, 53));
        for t in [1, 2, 3, 4] {
            assert!(passes(RUN, &ip6(58, &icmp(t, &quoted6))), "ICMPv6 type {t}");
        }
        for t in [128, 129, 133, 134, 135, 136] {
            assert!(
                !passes(RUN, &ip6(58, &icmp(t, &quoted6))),
                "ICMPv6 type {t}"
            );
        }
        // without icmp-errors, an error quoting our packet is dropped too
        assert!(!passes("tcp;ports=80", &ip4(1, 0, 0, &icmp(3, &quoted))));
        // behind IPv4 options
        assert!(passes(RUN, &ip4(1, 0, 8, &icmp(11, &quoted))));
    }

    #[test]
    fn later_fragments_and_ipv6_extension_headers_pass_without_ports() {
        // offset 185 (x8 bytes), whatever bytes stand where ports would be
        assert!(passes(RUN, &ip4(17, 185, 0, &udp(1, 2))));
        assert!(passes(RUN, &ip4(6, 0x2000 | 1, 0, &[0; 8])));
        assert!(!passes(RUN, &ip4(47, 185, 0, &[0; 8])), "GRE fragment");
        assert!(
            !passes("udp;ports=53", &ip4(6, 185, 0, &[0; 8])),
            "not a listed protocol"
        );
        // a first fragment (more fragments, offset 0) has its ports
        assert!(passes(RUN, &ip4(17, 0x2000, 0, &udp(1, 53))));
        assert!(!passes(RUN, &ip4(17, 0x2000, 0, &udp(1, 2))));
        for nh in [0, 43, 44, 60] {
            assert!(
                passes(RUN, &ip6(nh, &[6, 0, 0, 0, 0, 0, 0, 0])),
                "next header {nh}"
            );
        }
        assert!(!passes(RUN, &ip6(47, &[0; 8])));
    }

    #[test]
    fn other_network_protocols_and_short_packets_are_dropped() {
        let sp = parse(RUN).unwrap();
        let prog = program(&sp, 14, SNAP).unwrap();
        assert_eq!(run(&prog, &[0u8; 42], 0x0806), 0, "ARP");
        // a TCP header cut before its ports
        let ip = ip4(6, 0, 0, &tcp(40000, 80));
        assert!(!passes(RUN, &ip[..21]));
        assert!(passes(RUN, &ip[..24]));
    }

    #[test]
    fn protocols_restrict_the_port_tests() {
        assert!(passes("udp;ports=53", &ip4(17, 0, 0, &udp(1, 53))));
        assert!(!passes("udp;ports=53", &ip4(6, 0, 0, &tcp(1, 53))));
        assert!(passes("tcp", &ip4(6, 0, 0, &tcp(1, 2))));
        assert!(!passes("tcp", &ip4(17, 0, 0, &udp(1, 2))));
        assert!(passes("icmp-errors", &ip6(58, &icmp(2, &[]))));
        assert!(!passes("icmp-errors", &ip6(6, &tcp(1, 80))));
    }

    #[test]
    fn the_simple_filters_keep_their_meaning() {
        let all = program(&parse("").unwrap(), 14, 100).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(run(&all, &[0; 20], 0x0806), 100);
        let ip = program(&parse("ip").unwrap(), 14, 100).unwrap();
        assert_eq!(run(&ip, &[0; 20], 0x0806), 0);
        assert_eq!(run(&ip, &[0; 20], 0x0800), 100);
        assert_eq!(run(&ip, &[0; 20], 0x86dd), 100);
    }

    #[test]
    fn bad_specs_are_one_line_errors() {
        for bad in [
            "tcp;ports=80-70",
            "ports=99999",
            "ports=",
            "sctp",
            "ports=80;ports=81",
            ";",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, INVALID_ARGUMENT, "{bad}");
            assert!(e.message.contains(&format!("{bad:?}")), "{}", e.message);
        }
        let many: Vec<String> = (1..=MAX_PORT_ITEMS as u16 + 1)
            .map(|p| p.to_string())
            .collect();
        assert!(parse(&format!("ports={}", many.join(","))).is_err());
        // the most ports allowed, all ranges, still assembles (jumps within reach)
        let most: Vec<String> = (0..MAX_PORT_ITEMS as u16)
            .map(|p| format!("{}-{}", p * 100 + 1, p * 100 + 50))
            .collect();
        let sp = parse(&format!("ports={};icmp-errors", most.join(","))).unwrap();
        let prog = program(&sp, 14, SNAP).unwrap();
        assert!(passes(
            &format!("ports={}", most.join(",")),
            &ip4(6, 0, 0, &tcp(1, 4725))
        ));
        assert!(prog.len() < 4096);
    }
}

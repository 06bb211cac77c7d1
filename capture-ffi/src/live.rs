//! Live capture on an interface: an AF_PACKET socket with a TPACKET_V3 memory-mapped RX ring, a
//! classic BPF filter attached with `SO_ATTACH_FILTER` (which also applies the snap length), and
//! the kernel's drop counters.
//!
//! pnet's datalink channel does one `poll` + `recvfrom` per packet and has no ring, filter or drop
//! counter, so we use pnet only to find the interface and its flags, and drive the socket with
//! `libc`. One `next` call copies every packet of every ready ring block into the caller's batch.

use std::sync::atomic::{fence, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::batch::{put_record, put_record_tagged, PacketMeta};
use crate::error::NO_SUCH_INTERFACE;
use crate::error::{Error, Result, GENERIC, INTERFACE_DOWN, INVALID_ARGUMENT, NOT_PERMITTED};

// <linux/if_packet.h> and friends (not all in the libc crate).
const SOL_PACKET: libc::c_int = 263;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const TPACKET_V3: libc::c_int = 2;
const ETH_P_ALL: u16 = 0x0003;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
/// tpacket3_hdr status bits: the frame's VLAN tag was taken out into `hv1` (and its TPID too).
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// LINKTYPE_ETHERNET: the only link type whose VLAN tag goes back into the frame.
const LINKTYPE_ETHERNET: u16 = 1;
/// `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`: where the `sockaddr_ll` follows the header.
const TPACKET3_HDRLEN: usize = 48;

/// Each ring block is 128 KiB: a power-of-two number of pages, larger than any packet (65535
/// bytes of snap length plus headers). A block is handed over when full or after
/// `BLOCK_TIMEOUT_MS`, so at low rates every block holds at least that long a stretch of traffic:
/// many small blocks tolerate a longer stall of the reader than a few large ones of the same
/// total size.
const BLOCK_SIZE: usize = 128 << 10;
/// Blocks per MiB of ring.
const BLOCKS_PER_MIB: usize = (1 << 20) / BLOCK_SIZE;
/// Frame size for the V3 ring bookkeeping (V3 packs packets tightly; this only sets frame_nr).
const FRAME_SIZE: usize = 2048;
/// A partly filled block is handed to us after this long (ms), bounding latency at low rates.
const BLOCK_TIMEOUT_MS: u32 = 10;

#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

/// Maps a device's ARPHRD type to the pcap link type of what an AF_PACKET SOCK_RAW socket sees.
pub fn linktype_for_arphrd(hatype: u16) -> Option<u16> {
    match hatype {
        // Ethernet; loopback carries a (zero-address) Ethernet header too.
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => Some(1),
        // No link header at all: TUN, WireGuard (NONE), IP-in-IP, SIT, PPP.
        libc::ARPHRD_NONE
        | libc::ARPHRD_TUNNEL
        | libc::ARPHRD_TUNNEL6
        | libc::ARPHRD_SIT
        | libc::ARPHRD_PPP => Some(101),
        _ => None,
    }
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn setsockopt<T>(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> std::io::Result<()> {
    // SAFETY: `val` is a valid T for the duration of the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            val as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as u32,
        )
    };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Reads the interface drop counter ("rx drop" column of /proc/net/dev, which shows the
/// network namespace of the calling thread).
fn interface_drops(ifname: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/net/dev") else {
        return 0;
    };
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == ifname {
            return rest
                .split_whitespace()
                .nth(3)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// The mmap'ed ring and our position in it.
struct Ring {
    base: *mut u8,
    size: usize,
    block_nr: usize,
    /// Block we are reading.
    cur: usize,
    /// Whether `pkt_off`/`pkt_left` describe the current block (it was seen user-owned).
    in_block: bool,
    pkt_off: usize,
    pkt_left: u32,
}

// SAFETY: the ring is plain shared memory; all access goes through the capture's mutex.
unsafe impl Send for Ring {}

impl Ring {
    fn block(&self, i: usize) -> *mut u8 {
        // SAFETY: i < block_nr, so the offset stays inside the mapping.
        unsafe { self.base.add(i * BLOCK_SIZE) }
    }

    fn block_status(&self, i: usize) -> u32 {
        // SAFETY: block_status is the u32 at offset 8 of the block descriptor, aligned; the kernel
        // writes it concurrently, hence the volatile read.
        let s = unsafe { std::ptr::read_volatile(self.block(i).add(8) as *const u32) };
        fence(Ordering::Acquire);
        s
    }

    fn release_block(&mut self, i: usize) {
        fence(Ordering::Release);
        // SAFETY: as in block_status; handing the block back to the kernel.
        unsafe { std::ptr::write_volatile(self.block(i).add(8) as *mut u32, TP_STATUS_KERNEL) };
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/size come from a successful mmap.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size) };
    }
}

/// Accumulated counters: the kernel resets PACKET_STATISTICS on every read.
struct Counters {
    received: u64,
    dropped: u64,
    if_drops_at_open: u64,
}

/// A live capture on one interface.
pub struct LiveCapture {
    fd: libc::c_int,
    ifname: String,
    linktype: u16,
    ring: Mutex<Ring>,
    counters: Mutex<Counters>,
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor. The ring (a field) is unmapped after this, which is fine:
        // a mapping outlives the descriptor it came from.
        unsafe { libc::close(self.fd) };
    }
}

impl LiveCapture {
    /// Opens a capture on `iface`: `snaplen` 0 = 65535, `ring_mib` 0 = 32 (1 to 4096), `filter`
    /// a spec of [`crate::bpf`] ("", "ip", or ports, protocols and ICMP errors to keep).
    pub fn open(iface: &str, snaplen: u32, ring_mib: u32, filter: &str) -> Result<Self> {
        let snaplen = if snaplen == 0 {
            65535
        } else {
            snaplen.min(65535)
        };
        let ring_mib = if ring_mib == 0 {
            32
        } else {
            ring_mib.min(4096)
        } as usize;
        let spec = crate::bpf::parse(filter)?;

        let Some(info) = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == iface)
        else {
            return Err(Error::new(
                NO_SUCH_INTERFACE,
                format!("no such interface: {iface}"),
            ));
        };
        if !info.is_up() {
            return Err(Error::new(
                INTERFACE_DOWN,
                format!("interface {iface} is down"),
            ));
        }
        if iface.len() >= libc::IFNAMSIZ {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("interface name too long: {iface}"),
            ));
        }

        // Protocol 0: the socket receives nothing until bind, so nothing unfiltered slips in.
        // SAFETY: plain syscall.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            let e = errno();
            let code = match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => NOT_PERMITTED,
                _ => GENERIC,
            };
            return Err(Error::new(
                code,
                format!("cannot capture on {iface} (needs CAP_NET_RAW): {e}"),
            ));
        }
        // From here on, `guard` closes fd on error.
        struct FdGuard(libc::c_int);
        impl Drop for FdGuard {
            fn drop(&mut self) {
                if self.0 >= 0 {
                    // SAFETY: we own the descriptor.
                    unsafe { libc::close(self.0) };
                }
            }
        }
        let mut guard = FdGuard(fd);
        let fail =
            |what: &str| Error::new(GENERIC, format!("capture on {iface}: {what}: {}", errno()));

        // Link type from the device's hardware type (struct ifreq: name, then sockaddr).
        let mut ifr = [0u8; 40];
        ifr[..iface.len()].copy_from_slice(iface.as_bytes());
        // SAFETY: ifr is large enough for struct ifreq.
        if unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, ifr.as_mut_ptr()) } < 0 {
            return Err(fail("SIOCGIFHWADDR"));
        }
        let hatype = u16::from_ne_bytes([ifr[16], ifr[17]]);
        let Some(linktype) = linktype_for_arphrd(hatype) else {
            return Err(Error::new(
                GENERIC,
                format!("capture on {iface}: unsupported link type (ARPHRD {hatype})"),
            ));
        };

        // where the IP header starts: after the Ethernet header, or at once on a raw-IP device
        let link = if linktype == LINKTYPE_ETHERNET { 14 } else { 0 };
        let program = crate::bpf::program(&spec, link, snaplen)?;

        setsockopt(fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V3).map_err(|_| fail("TPACKET_V3"))?;
        // Attached before bind: the socket (protocol 0) receives nothing until bind, so no packet
        // queued before the filter can reach the ring, and nothing needs draining.
        let prog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_ptr() as *mut _,
        };
        setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
            .map_err(|_| fail("attaching the filter"))?;
        let block_nr = ring_mib * BLOCKS_PER_MIB;
        let req = TpacketReq3 {
            block_size: BLOCK_SIZE as u32,
            block_nr: block_nr as u32,
            frame_size: FRAME_SIZE as u32,
            frame_nr: (BLOCK_SIZE / FRAME_SIZE * block_nr) as u32,
            retire_blk_tov: BLOCK_TIMEOUT_MS,
            sizeof_priv: 0,
            feature_req_word: 0,
        };
        setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req).map_err(|_| fail("PACKET_RX_RING"))?;
        let size = BLOCK_SIZE * block_nr;
        // SAFETY: mapping the ring the kernel just allocated for this socket.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(fail("mmap of the ring"));
        }
        let ring = Ring {
            base: base as *mut u8,
            size,
            block_nr,
            cur: 0,
            in_block: false,
            pkt_off: 0,
            pkt_left: 0,
        };

        // SAFETY: zeroed sockaddr_ll is valid; then filled in.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = info.index as i32;
        // SAFETY: sll is a valid sockaddr_ll.
        let rc = unsafe {
            libc::bind(
                fd,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            let e = errno();
            if e.raw_os_error() == Some(libc::ENETDOWN) {
                return Err(Error::new(
                    INTERFACE_DOWN,
                    format!("interface {iface} is down"),
                ));
            }
            if e.raw_os_error() == Some(libc::ENODEV) {
                return Err(Error::new(
                    NO_SUCH_INTERFACE,
                    format!("no such interface: {iface}"),
                ));
            }
            return Err(Error::new(
                GENERIC,
                format!("capture on {iface}: bind: {e}"),
            ));
        }
        guard.0 = -1;
        Ok(LiveCapture {
            fd,
            ifname: iface.to_string(),
            linktype,
            ring: Mutex::new(ring),
            counters: Mutex::new(Counters {
                received: 0,
                dropped: 0,
                if_drops_at_open: interface_drops(iface),
            }),
        })
    }

    /// Copies ready packets into `out`; waits up to `timeout_ms` (negative: 0) for the first.
    pub fn next(&self, out: &mut [u8], timeout_ms: i32) -> Result<u32> {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + Duration::from_millis(timeout_ms.max(0) as u64);
        let (mut pos, mut count) = (0usize, 0u32);
        loop {
            let cur = ring.cur;
            if ring.in_block || ring.block_status(cur) & TP_STATUS_USER != 0 {
                let blk = ring.block(cur);
                let rd = |off: usize| -> u32 {
                    // SAFETY: callers keep off + 4 <= BLOCK_SIZE (checked below).
                    unsafe { std::ptr::read_unaligned(blk.add(off) as *const u32) }
                };
                if !ring.in_block {
                    ring.in_block = true;
                    ring.pkt_left = rd(12);
                    ring.pkt_off = rd(16) as usize;
                }
                while ring.pkt_left > 0 {
                    let p = ring.pkt_off;
                    if p + TPACKET3_HDRLEN + 12 > BLOCK_SIZE {
                        ring.pkt_left = 0; // corrupt offset: give up on this block
                        break;
                    }
                    let next_off = rd(p) as usize;
                    let caplen = rd(p + 12) as usize;
                    // SAFETY: p + 26 + 2 <= BLOCK_SIZE (checked above).
                    let mac =
                        unsafe { std::ptr::read_unaligned(blk.add(p + 24) as *const u16) } as usize;
                    // SAFETY: within the header area checked above.
                    let pkttype = unsafe { *blk.add(p + TPACKET3_HDRLEN + 10) };
                    let start = p + mac;
                    if start + caplen <= BLOCK_SIZE {
                        let mut meta = PacketMeta {
                            ts_sec: rd(p + 4),
                            ts_nsec: rd(p + 8),
                            wire_len: rd(p + 16),
                            linktype: self.linktype,
                            direction: pkttype.saturating_add(1),
                        };
                        // SAFETY: start + caplen <= BLOCK_SIZE: inside this block.
                        let data = unsafe { std::slice::from_raw_parts(blk.add(start), caplen) };
                        // The kernel hands a VLAN tag over beside the frame (hv1.tp_vlan_tci at
                        // 32, tp_vlan_tpid at 36): put it back, as tcpdump does, so that the
                        // observer and `--write` see the frame as it was on the wire.
                        let status = rd(p + 20);
                        let put = if status & TP_STATUS_VLAN_VALID != 0
                            && self.linktype == LINKTYPE_ETHERNET
                        {
                            let tci = rd(p + 32) as u16;
                            let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
                                (rd(p + 36) & 0xffff) as u16
                            } else {
                                0x8100
                            };
                            let [t0, t1] = tpid.to_be_bytes();
                            let [c0, c1] = tci.to_be_bytes();
                            meta.wire_len += 4;
                            put_record_tagged(out, pos, &meta, data, [t0, t1, c0, c1])
                        } else {
                            put_record(out, pos, &meta, data)
                        };
                        match put {
                            Some(np) => {
                                pos = np;
                                count += 1;
                            }
                            None => return Ok(count), // resume here next call
                        }
                    }
                    ring.pkt_left -= 1;
                    ring.pkt_off = p + next_off;
                }
                ring.release_block(cur);
                ring.in_block = false;
                ring.cur = (cur + 1) % ring.block_nr;
                continue;
            }
            if count > 0 {
                return Ok(count);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            let wait = (deadline - now).as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, wait) };
            if rc < 0 {
                let e = errno();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Error::new(
                    GENERIC,
                    format!("capture on {}: poll: {e}", self.ifname),
                ));
            }
            if pfd.revents & libc::POLLERR != 0 {
                return Err(self.socket_error());
            }
        }
    }

    /// Reads and clears the socket's pending error (ENETDOWN when the interface went down).
    fn socket_error(&self) -> Error {
        let mut err: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: err/len are valid for writing.
        unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                &mut err as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        if err == libc::ENETDOWN {
            return Error::new(
                INTERFACE_DOWN,
                format!("interface {} went down", self.ifname),
            );
        }
        let e = std::io::Error::from_raw_os_error(err);
        Error::new(GENERIC, format!("capture on {}: {e}", self.ifname))
    }

    /// [received, kernel drops, interface drops since open].
    pub fn stats(&self) -> [u64; 3] {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = TpacketStatsV3::default();
        let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: st/len are valid for writing.
        let rc = unsafe {
            libc::getsockopt(
                self.fd,
                SOL_PACKET,
                PACKET_STATISTICS,
                &mut st as *mut TpacketStatsV3 as *mut libc::c_void,
                &mut len,
            )
        };
        if rc == 0 {
            c.received += st.packets as u64;
            c.dropped += st.drops as u64;
        }
        let ifd = interface_drops(&self.ifname).saturating_sub(c.if_drops_at_open);
        [c.received, c.dropped, ifd]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_types_follow_the_device_type() {
        assert_eq!(linktype_for_arphrd(libc::ARPHRD_ETHER), Some(1));
        assert_eq!(linktype_for_arphrd(libc::ARPHRD_LOOPBACK), Some(1));
        assert_eq!(linktype_for_arphrd(libc::ARPHRD_NONE), Some(101));
        assert_eq!(linktype_for_arphrd(libc::ARPHRD_IEEE80211_RADIOTAP), None);
    }

    #[test]
    fn unknown_interfaces_are_reported_before_any_privilege_check() {
        let e = LiveCapture::open("ps-h1-nonexistent", 0, 1, "")
            .err()
            .unwrap();
        assert_eq!(e.code, NO_SUCH_INTERFACE);
    }
}

//! pcapng reading: section headers in either byte order, interface descriptions with
//! `if_tsresol` / `if_tsoffset`, enhanced, simple and obsolete packet blocks; other blocks are
//! skipped. Each interface keeps its own link type, so one file may mix link types.

use std::io::Read;

use crate::batch::{put_record, PacketMeta, DIR_UNKNOWN};
use crate::chunks::ChunkReader;
use crate::error::{Error, Result, GENERIC, TRUNCATED};
use crate::pcapfile::{rd16, rd32, truncated};
use crate::reader::{fill_for_batch, PacketReader, MAX_RECORD};

/// Section Header Block type (a byte-order palindrome).
pub const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 1;
const BLOCK_OPB: u32 = 2;
const BLOCK_SPB: u32 = 3;
const BLOCK_EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;
/// `epb_flags` / `pack_flags`: direction and reception type.
const OPT_FLAGS: u16 = 2;

/// Timestamp resolution of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// Units of 10^-k seconds.
    Decimal(u32),
    /// Units of 2^-k seconds.
    Binary(u32),
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u16,
    snaplen: u32,
    res: Resolution,
    offset_sec: i64,
}

impl Interface {
    /// Splits a raw timestamp into seconds and nanoseconds.
    #[inline]
    fn timestamp(&self, ts: u64) -> (u32, u32) {
        let (sec, ns) = match self.res {
            Resolution::Decimal(6) => (ts / 1_000_000, (ts % 1_000_000) * 1000),
            Resolution::Decimal(9) => (ts / 1_000_000_000, ts % 1_000_000_000),
            Resolution::Decimal(k) => {
                let unit = 10u64.pow(k);
                let frac = ts % unit;
                let ns = if k <= 9 {
                    frac * 10u64.pow(9 - k)
                } else {
                    frac / 10u64.pow(k - 9)
                };
                (ts / unit, ns)
            }
            Resolution::Binary(k) => {
                let frac = ts & ((1u64 << k) - 1);
                (ts >> k, ((frac as u128 * 1_000_000_000) >> k) as u64)
            }
        };
        let sec = (sec as i64)
            .saturating_add(self.offset_sec)
            .clamp(0, u32::MAX as i64);
        (sec as u32, ns as u32)
    }
}

/// A pcapng stream.
pub struct PcapngReader<R> {
    r: ChunkReader<R>,
    big: bool,
    ifaces: Vec<Interface>,
}

impl<R: Read> PcapngReader<R> {
    /// Starts reading at a section header block.
    pub fn new(r: ChunkReader<R>) -> Result<Self> {
        Ok(PcapngReader {
            r,
            big: false,
            ifaces: Vec::new(),
        })
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::new(
            GENERIC,
            format!("corrupt pcapng block at byte {}: {what}", self.r.offset()),
        )
    }
}

/// Walks the options of a block body from `o`; calls `f(code, value)` for each.
fn options(b: &[u8], mut o: usize, big: bool, mut f: impl FnMut(u16, &[u8])) {
    while o + 4 <= b.len() {
        let code = rd16(b, o, big);
        let len = rd16(b, o + 2, big) as usize;
        if code == OPT_END {
            return;
        }
        let Some(v) = b.get(o + 4..o + 4 + len) else {
            return;
        };
        f(code, v);
        o += 4 + ((len + 3) & !3);
    }
}

/// Maps `epb_flags` to our direction code (AF_PACKET pkttype + 1).
fn direction_from_flags(flags: u32) -> u8 {
    match flags & 3 {
        2 => 5, // outbound: PACKET_OUTGOING
        1 => match (flags >> 2) & 7 {
            2 => 3, // multicast: PACKET_MULTICAST
            3 => 2, // broadcast: PACKET_BROADCAST
            4 => 4, // promiscuous: PACKET_OTHERHOST
            _ => 1, // unicast or unspecified: PACKET_HOST
        },
        _ => DIR_UNKNOWN,
    }
}

fn parse_idb(b: &[u8], big: bool) -> Option<Interface> {
    // body: linktype u16, reserved u16, snaplen u32, options
    if b.len() < 20 {
        return None;
    }
    let mut iface = Interface {
        linktype: rd16(b, 8, big),
        snaplen: rd32(b, 12, big),
        res: Resolution::Decimal(6),
        offset_sec: 0,
    };
    options(&b[..b.len() - 4], 16, big, |code, v| {
        match (code, v.len()) {
            (OPT_IF_TSRESOL, 1) => {
                let k = (v[0] & 0x7f) as u32;
                iface.res = if v[0] & 0x80 != 0 {
                    Resolution::Binary(k.min(63))
                } else {
                    Resolution::Decimal(k.min(19))
                };
            }
            (OPT_IF_TSOFFSET, 8) => {
                let a: [u8; 8] = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                iface.offset_sec = if big {
                    i64::from_be_bytes(a)
                } else {
                    i64::from_le_bytes(a)
                };
            }
            _ => {}
        }
    });
    Some(iface)
}

impl<R: Read + Send> PacketReader for PcapngReader<R> {
    fn fill_batch(&mut self, out: &mut [u8], pos: &mut usize, count: &mut u32) -> Result<bool> {
        loop {
            let Some(full) = fill_for_batch(&mut self.r, 12, *count)? else {
                return Ok(false);
            };
            if !full {
                if self.r.avail().is_empty() {
                    return Ok(true);
                }
                return Err(truncated(self.r.offset(), self.r.avail().len(), 12));
            }
            let h = self.r.avail();
            let btype = rd32(h, 0, self.big);
            if btype == BLOCK_SHB {
                let m = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
                self.big = match m {
                    BYTE_ORDER_MAGIC => false,
                    m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                    _ => return Err(self.corrupt("bad byte-order magic in section header")),
                };
                self.ifaces.clear();
            }
            let big = self.big;
            let blen = rd32(self.r.avail(), 4, big) as usize;
            if blen < 12 || !blen.is_multiple_of(4) || blen > MAX_RECORD {
                return Err(self.corrupt(&format!("block length {blen}")));
            }
            let Some(full) = fill_for_batch(&mut self.r, blen, *count)? else {
                return Ok(false);
            };
            if !full {
                if btype == BLOCK_SHB && *count == 0 && self.r.offset() == 0 {
                    return Err(Error::new(
                        TRUNCATED,
                        "truncated capture file: pcapng section header cut short",
                    ));
                }
                return Err(truncated(self.r.offset(), self.r.avail().len(), blen));
            }
            let b = &self.r.avail()[..blen];
            // (iface index, ts, caplen, wire_len, data offset, options offset) of a packet block
            let pkt = match btype {
                BLOCK_EPB if blen >= 32 => {
                    let caplen = rd32(b, 20, big) as usize;
                    Some((
                        rd32(b, 8, big),
                        ts64(b, 12, big),
                        caplen,
                        rd32(b, 24, big),
                        28,
                    ))
                }
                BLOCK_OPB if blen >= 32 => {
                    let caplen = rd32(b, 20, big) as usize;
                    Some((
                        rd16(b, 8, big) as u32,
                        ts64(b, 12, big),
                        caplen,
                        rd32(b, 24, big),
                        28,
                    ))
                }
                BLOCK_SPB if blen >= 16 => {
                    let wire = rd32(b, 8, big);
                    let snap = self.ifaces.first().map_or(0, |i| i.snaplen);
                    let mut caplen = (wire as usize).min(blen - 16);
                    if snap != 0 {
                        caplen = caplen.min(snap as usize);
                    }
                    Some((0, 0, caplen, wire, 12))
                }
                BLOCK_IDB => {
                    match parse_idb(b, big) {
                        Some(i) => self.ifaces.push(i),
                        None => return Err(self.corrupt("short interface description")),
                    }
                    None
                }
                BLOCK_EPB | BLOCK_OPB | BLOCK_SPB => return Err(self.corrupt("short packet block")),
                _ => None,
            };
            if let Some((ifid, ts, caplen, wire_len, data_off)) = pkt {
                let Some(iface) = self.ifaces.get(ifid as usize) else {
                    return Err(self.corrupt(&format!("packet of undefined interface {ifid}")));
                };
                if data_off + caplen > blen - 4 {
                    return Err(self.corrupt(&format!("captured length {caplen}")));
                }
                let (ts_sec, ts_nsec) = if btype == BLOCK_SPB {
                    (0, 0)
                } else {
                    iface.timestamp(ts)
                };
                let mut direction = DIR_UNKNOWN;
                let opt_off = data_off + ((caplen + 3) & !3);
                if btype != BLOCK_SPB && opt_off + 4 < blen - 4 {
                    options(&b[..blen - 4], opt_off, big, |code, v| {
                        if code == OPT_FLAGS && v.len() == 4 {
                            direction = direction_from_flags(rd32(v, 0, big));
                        }
                    });
                }
                let meta = PacketMeta {
                    ts_sec,
                    ts_nsec,
                    wire_len,
                    linktype: iface.linktype,
                    direction,
                };
                match put_record(out, *pos, &meta, &b[data_off..data_off + caplen]) {
                    Some(p) => {
                        *pos = p;
                        *count += 1;
                    }
                    None => return Ok(false),
                }
            }
            self.r.consume(blen);
        }
    }
}

#[inline]
fn ts64(b: &[u8], o: usize, big: bool) -> u64 {
    ((rd32(b, o, big) as u64) << 32) | rd32(b, o + 4, big) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_split_timestamps_into_seconds_and_nanoseconds() {
        let mut i = Interface {
            linktype: 1,
            snaplen: 0,
            res: Resolution::Decimal(6),
            offset_sec: 0,
        };
        assert_eq!(i.timestamp(1_500_000_123), (1500, 123_000));
        i.res = Resolution::Decimal(9);
        assert_eq!(i.timestamp(1_500_000_000_123), (1500, 123));
        i.res = Resolution::Decimal(3);
        assert_eq!(i.timestamp(1_500_123), (1500, 123_000_000));
        i.res = Resolution::Binary(10);
        assert_eq!(i.timestamp((7 << 10) | 512), (7, 500_000_000));
        i.offset_sec = 100;
        assert_eq!(i.timestamp(7 << 10), (107, 0));
    }

    #[test]
    fn flags_map_to_packet_types() {
        assert_eq!(direction_from_flags(2), 5);
        assert_eq!(direction_from_flags(1), 1);
        assert_eq!(direction_from_flags(1 | (3 << 2)), 2);
        assert_eq!(direction_from_flags(0), 0);
    }
}

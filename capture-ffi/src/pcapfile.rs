//! Classic pcap reading: both byte orders, microsecond and nanosecond magic.
//!
//! File header (24 bytes): magic, version 2.4, thiszone, sigfigs, snaplen, linktype (low 16 bits;
//! the high bits may carry FCS information, ignored). Record header (16 bytes): seconds,
//! sub-second (µs or ns by magic), captured length, wire length.

use std::io::Read;

use crate::batch::{put_record, PacketMeta, DIR_UNKNOWN};
use crate::chunks::ChunkReader;
use crate::error::{Error, Result, GENERIC, TRUNCATED};
use crate::reader::{fill_for_batch, io_error, PacketReader, MAX_RECORD};

/// Magic of a microsecond pcap, as read in the file's own byte order.
pub const MAGIC_US: u32 = 0xa1b2_c3d4;
/// Magic of a nanosecond pcap.
pub const MAGIC_NS: u32 = 0xa1b2_3c4d;

/// Reads u32 in the file's byte order.
#[inline]
pub fn rd32(b: &[u8], o: usize, big: bool) -> u32 {
    let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Reads u16 in the file's byte order.
#[inline]
pub fn rd16(b: &[u8], o: usize, big: bool) -> u16 {
    let a = [b[o], b[o + 1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

/// A classic pcap stream positioned after its file header.
pub struct PcapReader<R> {
    r: ChunkReader<R>,
    big: bool,
    nanos: bool,
    linktype: u16,
}

impl<R: Read> PcapReader<R> {
    /// Parses the file header (whose first 4 bytes the caller has already recognised as a pcap
    /// magic, so a short header is a truncated file).
    pub fn new(mut r: ChunkReader<R>) -> Result<Self> {
        if !r.fill(24).map_err(io_error)? {
            return Err(Error::new(
                TRUNCATED,
                "truncated capture file: pcap file header cut short",
            ));
        }
        let h = r.avail();
        let le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let (big, nanos) = match le {
            MAGIC_US => (false, false),
            MAGIC_NS => (false, true),
            m if m.swap_bytes() == MAGIC_US => (true, false),
            m if m.swap_bytes() == MAGIC_NS => (true, true),
            m => return Err(Error::new(GENERIC, format!("bad pcap magic {m:#010x}"))),
        };
        let linktype = (rd32(h, 20, big) & 0xffff) as u16;
        r.consume(24);
        Ok(PcapReader {
            r,
            big,
            nanos,
            linktype,
        })
    }

    /// The file's link type.
    pub fn linktype(&self) -> u16 {
        self.linktype
    }
}

impl<R: Read + Send> PacketReader for PcapReader<R> {
    fn fill_batch(&mut self, out: &mut [u8], pos: &mut usize, count: &mut u32) -> Result<bool> {
        let big = self.big;
        loop {
            let Some(full) = fill_for_batch(&mut self.r, 16, *count)? else {
                return Ok(false);
            };
            if !full {
                if self.r.avail().is_empty() {
                    return Ok(true);
                }
                return Err(truncated(self.r.offset(), self.r.avail().len(), 16));
            }
            let h = self.r.avail();
            let caplen = rd32(h, 8, big) as usize;
            if caplen > MAX_RECORD {
                return Err(Error::new(
                    GENERIC,
                    format!(
                        "corrupt pcap record at byte {}: captured length {caplen}",
                        self.r.offset()
                    ),
                ));
            }
            let mut ts_sec = rd32(h, 0, big);
            let mut frac = rd32(h, 4, big);
            let wire_len = rd32(h, 12, big);
            let Some(full) = fill_for_batch(&mut self.r, 16 + caplen, *count)? else {
                return Ok(false);
            };
            if !full {
                return Err(truncated(
                    self.r.offset(),
                    self.r.avail().len(),
                    16 + caplen,
                ));
            }
            let ns = if self.nanos {
                if frac >= 1_000_000_000 {
                    ts_sec = ts_sec.wrapping_add(frac / 1_000_000_000);
                    frac %= 1_000_000_000;
                }
                frac
            } else {
                if frac >= 1_000_000 {
                    ts_sec = ts_sec.wrapping_add(frac / 1_000_000);
                    frac %= 1_000_000;
                }
                frac * 1000
            };
            let meta = PacketMeta {
                ts_sec,
                ts_nsec: ns,
                wire_len,
                linktype: self.linktype,
                direction: DIR_UNKNOWN,
            };
            match put_record(out, *pos, &meta, &self.r.avail()[16..16 + caplen]) {
                Some(p) => {
                    *pos = p;
                    *count += 1;
                    self.r.consume(16 + caplen);
                }
                None => return Ok(false),
            }
        }
    }
}

/// The error for a record cut short by the end of the file.
pub fn truncated(offset: u64, have: usize, need: usize) -> Error {
    Error::new(
        TRUNCATED,
        format!("truncated capture file: last record at byte {offset} has {have} of {need} bytes"),
    )
}

//! The packet batch: the record format shared with TypeScript (see docs/architecture.md; the
//! TypeScript side names the same offsets in src/wire/capture_record.ts: change both together).
//!
//! Each record is a 20-byte little-endian header followed by the frame bytes, padded with zeros
//! to a multiple of 4:
//! `ts_sec u32, ts_nsec u32, caplen u32, wirelen u32, linktype u16, direction u8, 0u8, bytes`.

/// Size of a record header.
pub const HEADER_LEN: usize = 20;

/// Direction values: 0 unknown, else AF_PACKET pkttype + 1.
pub const DIR_UNKNOWN: u8 = 0;
/// Direction: addressed to this host (PACKET_HOST + 1).
pub const DIR_INBOUND: u8 = 1;
/// Direction: sent by this host (PACKET_OUTGOING + 1).
pub const DIR_OUTBOUND: u8 = 5;

/// Metadata of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketMeta {
    /// Timestamp, seconds.
    pub ts_sec: u32,
    /// Timestamp, nanoseconds within the second.
    pub ts_nsec: u32,
    /// Length on the wire.
    pub wire_len: u32,
    /// pcap LINKTYPE_* number.
    pub linktype: u16,
    /// Direction code (see `DIR_*`).
    pub direction: u8,
}

/// Size of a record holding `caplen` bytes.
#[inline]
pub fn record_len(caplen: usize) -> usize {
    (HEADER_LEN + caplen + 3) & !3
}

/// Writes a record header for `caplen` stored bytes into `h` (`HEADER_LEN` bytes).
#[inline]
fn write_header(h: &mut [u8], meta: &PacketMeta, caplen: usize) {
    h[0..4].copy_from_slice(&meta.ts_sec.to_le_bytes());
    h[4..8].copy_from_slice(&meta.ts_nsec.to_le_bytes());
    h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
    h[12..16].copy_from_slice(&meta.wire_len.to_le_bytes());
    h[16..18].copy_from_slice(&meta.linktype.to_le_bytes());
    h[18] = meta.direction;
    h[19] = 0;
}

/// The captured length a packet of `len` bytes gets at `pos` of a buffer of `out_len` bytes: all
/// of it when it fits; cut to the buffer when it comes first in the batch, so that progress is
/// always possible (not below `min` bytes: `None` then, as when it must wait for the next batch).
fn fitted_len(out_len: usize, pos: usize, len: usize, min: usize) -> Option<usize> {
    if pos + record_len(len) <= out_len {
        return Some(len);
    }
    if pos != 0 || out_len < HEADER_LEN + min {
        return None;
    }
    Some((out_len - HEADER_LEN) & !3)
}

/// Writes one record at `pos` of `out` and returns the position after it, or `None` if it does
/// not fit. A packet that cannot fit even into an empty buffer is cut to fit when `pos == 0`
/// (its wire length still tells how long it was), so progress is always possible as long as the
/// buffer holds a header.
#[inline]
pub fn put_record(out: &mut [u8], pos: usize, meta: &PacketMeta, data: &[u8]) -> Option<usize> {
    let caplen = fitted_len(out.len(), pos, data.len(), 0)?;
    let end = pos + record_len(caplen);
    write_header(&mut out[pos..pos + HEADER_LEN], meta, caplen);
    let body = pos + HEADER_LEN;
    out[body..body + caplen].copy_from_slice(&data[..caplen]);
    out[body + caplen..end].fill(0);
    Some(end)
}

/// Like [`put_record`] for an Ethernet frame whose 802.1Q/802.1ad tag the kernel took out (live
/// capture hands it over separately): the 4 tag bytes go back after the two MAC addresses, as
/// they were on the wire. `meta.wire_len` must already count them.
pub fn put_record_tagged(
    out: &mut [u8],
    pos: usize,
    meta: &PacketMeta,
    data: &[u8],
    tag: [u8; 4],
) -> Option<usize> {
    if data.len() < 12 {
        return put_record(out, pos, meta, data);
    }
    // a cut record still holds the MAC addresses and the tag
    let caplen = fitted_len(out.len(), pos, data.len() + 4, 16)?;
    let end = pos + record_len(caplen);
    write_header(&mut out[pos..pos + HEADER_LEN], meta, caplen);
    let body = pos + HEADER_LEN;
    out[body..body + 12].copy_from_slice(&data[..12]);
    out[body + 12..body + 16].copy_from_slice(&tag);
    let rest = caplen - 16;
    out[body + 16..body + 16 + rest].copy_from_slice(&data[12..12 + rest]);
    out[body + caplen..end].fill(0);
    Some(end)
}

/// One record read back from a batch (used by the pcap writer).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Header fields.
    pub meta: PacketMeta,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Iterates over the first `count` records of `buf`; yields `Err(offset)` for a record that runs
/// past the end of the buffer (a malformed batch), then stops.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u32,
}

impl<'a> Records<'a> {
    /// Records of `buf`, at most `count`.
    pub fn new(buf: &'a [u8], count: u32) -> Self {
        Records {
            buf,
            pos: 0,
            left: count,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, usize>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let pos = self.pos;
        let Some(h) = self.buf.get(pos..pos + HEADER_LEN) else {
            self.left = 0;
            return Some(Err(pos));
        };
        let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let caplen = u32_at(8) as usize;
        let body = pos + HEADER_LEN;
        let Some(data) = self.buf.get(body..body + caplen) else {
            self.left = 0;
            return Some(Err(pos));
        };
        self.pos = pos + record_len(caplen);
        let meta = PacketMeta {
            ts_sec: u32_at(0),
            ts_nsec: u32_at(4),
            wire_len: u32_at(12),
            linktype: u16::from_le_bytes([h[16], h[17]]),
            direction: h[18],
        };
        Some(Ok(Record { meta, data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vlan_tag_goes_back_after_the_mac_addresses() {
        let frame: Vec<u8> = (0u8..30).collect();
        let m = PacketMeta {
            wire_len: 34,
            linktype: 1,
            ..Default::default()
        };
        let mut buf = [0u8; 128];
        let end = put_record_tagged(&mut buf, 0, &m, &frame, [0x81, 0x00, 0x00, 42]).unwrap();
        assert_eq!(end, record_len(34));
        assert_eq!(u32::from_le_bytes(buf[8..12].try_into().unwrap()), 34);
        let body = &buf[HEADER_LEN..HEADER_LEN + 34];
        assert_eq!(&body[..12], &frame[..12]);
        assert_eq!(&body[12..16], &[0x81, 0x00, 0x00, 42]);
        assert_eq!(&body[16..], &frame[12..]);
        // cut to fit an empty buffer that is too small, like any other record
        let mut small = [0u8; HEADER_LEN + 24];
        let end = put_record_tagged(&mut small, 0, &m, &frame, [0x81, 0x00, 0x00, 42]).unwrap();
        assert_eq!(end, HEADER_LEN + 24);
        assert_eq!(
            &small[HEADER_LEN + 12..HEADER_LEN + 16],
            &[0x81, 0x00, 0x00, 42]
        );
        assert_eq!(&small[HEADER_LEN + 16..], &frame[12..20]);
        // and refused when it does not fit behind other records
        assert_eq!(put_record_tagged(&mut small, 4, &m, &frame, [0; 4]), None);
    }

    #[test]
    fn records_are_padded_to_four_bytes_and_read_back() {
        let mut buf = [0xffu8; 64];
        let m = PacketMeta {
            ts_sec: 1,
            ts_nsec: 2,
            wire_len: 5,
            linktype: 101,
            direction: 5,
        };
        let p = put_record(&mut buf, 0, &m, &[1, 2, 3, 4, 5]).unwrap();
        assert_eq!(p, 28);
        assert_eq!(&buf[20..28], &[1, 2, 3, 4, 5, 0, 0, 0]);
        let p2 = put_record(&mut buf, p, &m, &[9; 16]).unwrap();
        assert_eq!(p2, 64);
        assert!(put_record(&mut buf, p2, &m, &[]).is_none());
        let recs: Vec<_> = Records::new(&buf, 2).map(|r| r.unwrap()).collect();
        assert_eq!(recs[0].meta, m);
        assert_eq!(recs[0].data, &[1, 2, 3, 4, 5]);
        assert_eq!(recs[1].data, &[9; 16]);
    }

    #[test]
    fn a_packet_larger_than_the_buffer_is_cut_to_fit() {
        let mut buf = [0u8; 30];
        let m = PacketMeta {
            wire_len: 100,
            ..Default::default()
        };
        assert_eq!(put_record(&mut buf, 0, &m, &[7; 100]), Some(28));
        assert_eq!(u32::from_le_bytes(buf[8..12].try_into().unwrap()), 8);
        assert_eq!(u32::from_le_bytes(buf[12..16].try_into().unwrap()), 100);
    }

    #[test]
    fn a_malformed_batch_is_reported_not_overrun() {
        let mut buf = [0u8; 24];
        buf[8] = 200; // caplen 200 in a 24-byte buffer
        let r: Vec<_> = Records::new(&buf, 3).collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_err());
    }
}

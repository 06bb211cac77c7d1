//! pcap / pcapng reading on crafted byte arrays, and pcap write-then-read round trips.

use std::io::Cursor;

use pathspider_capture::batch::{PacketMeta, Records};
use pathspider_capture::error::{Error, GENERIC, NOT_A_CAPTURE_FILE, TRUNCATED};
use pathspider_capture::pcapwrite::PcapWriter;
use pathspider_capture::reader::{open_stream, PacketReader};

/// Everything a reader yields: (meta, bytes) per packet, and the final error if any.
fn read_all(bytes: Vec<u8>, batch: usize) -> (Vec<(PacketMeta, Vec<u8>)>, Option<Error>) {
    let mut r: Box<dyn PacketReader> = match open_stream(Cursor::new(bytes), "test") {
        Ok(r) => r,
        Err(e) => return (vec![], Some(e)),
    };
    let mut out = vec![0u8; batch];
    let mut pkts = vec![];
    loop {
        let (mut pos, mut count) = (0, 0);
        let res = r.fill_batch(&mut out, &mut pos, &mut count);
        for rec in Records::new(&out[..pos], count) {
            let rec = rec.expect("well-formed batch");
            pkts.push((rec.meta, rec.data.to_vec()));
        }
        match res {
            Ok(true) => return (pkts, None),
            Ok(false) => assert!(count > 0, "no progress with a {batch}-byte batch"),
            Err(e) => return (pkts, Some(e)),
        }
    }
}

/// A classic pcap file: `big` byte order, `ns` magic, link type, packets (sec, frac, data, wire).
fn pcap(big: bool, ns: bool, linktype: u32, pkts: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let mut v = vec![];
    w32(&mut v, if ns { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 65535);
    w32(&mut v, linktype);
    for &(s, f, d, wire) in pkts {
        w32(&mut v, s);
        w32(&mut v, f);
        w32(&mut v, d.len() as u32);
        w32(&mut v, wire);
        v.extend_from_slice(d);
    }
    v
}

const P1: &[u8] = &[0x45, 0, 0, 20, 1, 2, 3];
const P2: &[u8] = &[0x60, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

#[test]
fn pcap_in_both_byte_orders_and_resolutions_reads_the_same() {
    for big in [false, true] {
        for ns in [false, true] {
            let frac = |us: u32| if ns { us * 1000 } else { us };
            let f = pcap(
                big,
                ns,
                101,
                &[(10, frac(5), P1, 7), (11, frac(999_999), P2, 60)],
            );
            let (pkts, err) = read_all(f, 4096);
            assert_eq!(err, None, "big={big} ns={ns}");
            assert_eq!(pkts.len(), 2);
            assert_eq!(
                pkts[0].0,
                PacketMeta {
                    ts_sec: 10,
                    ts_nsec: 5000,
                    wire_len: 7,
                    linktype: 101,
                    direction: 0
                }
            );
            assert_eq!(pkts[0].1, P1);
            assert_eq!(
                (pkts[1].0.ts_sec, pkts[1].0.ts_nsec, pkts[1].0.wire_len),
                (11, 999_999_000, 60)
            );
            assert_eq!(pkts[1].1, P2);
        }
    }
}

#[test]
fn link_types_pass_through_and_fcs_bits_are_ignored() {
    for lt in [1u32, 101, 113, 228, 229, 276] {
        let (pkts, _) = read_all(pcap(false, false, lt | 0x1000_0000, &[(1, 0, P1, 7)]), 4096);
        assert_eq!(pkts[0].0.linktype as u32, lt);
    }
}

#[test]
fn a_truncated_last_record_comes_after_every_complete_one() {
    let full = pcap(
        false,
        false,
        1,
        &[(1, 0, P1, 7), (2, 0, P2, 11), (3, 0, P2, 11)],
    );
    for cut in [1, 5, 11, 16 + 10] {
        let (pkts, err) = read_all(full[..full.len() - cut].to_vec(), 4096);
        assert_eq!(pkts.len(), 2, "cut {cut}");
        let err = err.expect("truncation error");
        assert_eq!(err.code, TRUNCATED);
        assert!(
            err.message.starts_with("truncated capture file"),
            "{}",
            err.message
        );
    }
    // A file header cut short is truncated too.
    assert_eq!(
        read_all(full[..10].to_vec(), 4096).1.unwrap().code,
        TRUNCATED
    );
}

#[test]
fn files_that_are_not_captures_are_rejected() {
    for bytes in [
        &b""[..],
        b"ab",
        b"hello world, not a pcap",
        &[0xa1, 0xb2, 0xc3, 0xd5, 0, 0],
    ] {
        assert_eq!(
            read_all(bytes.to_vec(), 4096).1.unwrap().code,
            NOT_A_CAPTURE_FILE
        );
    }
}

#[test]
fn an_absurd_captured_length_is_a_corrupt_record() {
    let mut f = pcap(false, false, 1, &[(1, 0, P1, 7)]);
    f[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert_eq!(read_all(f, 4096).1.unwrap().code, GENERIC);
}

#[test]
fn small_batches_split_a_file_without_loss_and_cut_oversized_packets() {
    let big_pkt = vec![0xabu8; 300];
    let f = pcap(
        false,
        false,
        1,
        &[(1, 0, P1, 7), (2, 0, &big_pkt, 300), (3, 0, P2, 11)],
    );
    let (pkts, err) = read_all(f.clone(), 40);
    assert_eq!(err, None);
    assert_eq!(pkts.len(), 3);
    assert_eq!(pkts[1].1.len(), 20, "cut to the 40-byte batch");
    assert_eq!(pkts[1].0.wire_len, 300);
    assert_eq!(read_all(f, 4096).0[1].1, big_pkt);
}

/// pcapng writer for tests, in either byte order.
struct Ng {
    v: Vec<u8>,
    big: bool,
}

impl Ng {
    fn new(big: bool) -> Self {
        let mut n = Ng { v: vec![], big };
        n.shb();
        n
    }
    fn u32b(&self, x: u32) -> [u8; 4] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn u16b(&self, x: u16) -> [u8; 2] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn block(&mut self, btype: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let (t, l) = (self.u32b(btype), self.u32b(len));
        self.v.extend_from_slice(&t);
        self.v.extend_from_slice(&l);
        self.v.extend_from_slice(&body);
        self.v.extend_from_slice(&l);
    }
    fn opt(&self, code: u16, val: &[u8]) -> Vec<u8> {
        let mut o = self.u16b(code).to_vec();
        o.extend_from_slice(&self.u16b(val.len() as u16));
        o.extend_from_slice(val);
        while !o.len().is_multiple_of(4) {
            o.push(0);
        }
        o
    }
    fn shb(&mut self) {
        let mut b = self.u32b(0x1a2b_3c4d).to_vec();
        b.extend_from_slice(&self.u16b(1));
        b.extend_from_slice(&self.u16b(0));
        b.extend_from_slice(&[0xff; 8]); // section length unknown
        self.block(0x0a0d_0d0a, &b);
    }
    fn idb(&mut self, linktype: u16, tsresol: Option<u8>) {
        let mut b = self.u16b(linktype).to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.u32b(0));
        if let Some(r) = tsresol {
            b.extend_from_slice(&self.opt(9, &[r]));
            b.extend_from_slice(&self.opt(0, &[]));
        }
        self.block(1, &b);
    }
    fn epb(&mut self, ifid: u32, ts: u64, data: &[u8], wire: u32, flags: Option<u32>) {
        let mut b = self.u32b(ifid).to_vec();
        b.extend_from_slice(&self.u32b((ts >> 32) as u32));
        b.extend_from_slice(&self.u32b(ts as u32));
        b.extend_from_slice(&self.u32b(data.len() as u32));
        b.extend_from_slice(&self.u32b(wire));
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        if let Some(f) = flags {
            b.extend_from_slice(&self.opt(2, &self.u32b(f)));
            b.extend_from_slice(&self.opt(0, &[]));
        }
        self.block(6, &b);
    }
    fn opb(&mut self, ifid: u16, ts: u64, data: &[u8]) {
        let mut b = self.u16b(ifid).to_vec();
        b.extend_from_slice(&self.u16b(0));
        b.extend_from_slice(&self.u32b((ts >> 32) as u32));
        b.extend_from_slice(&self.u32b(ts as u32));
        b.extend_from_slice(&self.u32b(data.len() as u32));
        b.extend_from_slice(&self.u32b(data.len() as u32));
        b.extend_from_slice(data);
        self.block(2, &b);
    }
    fn spb(&mut self, data: &[u8]) {
        let mut b = self.u32b(data.len() as u32).to_vec();
        b.extend_from_slice(data);
        self.block(3, &b);
    }
}

#[test]
fn pcapng_with_two_interfaces_keeps_their_link_types_and_resolutions() {
    for big in [false, true] {
        let mut n = Ng::new(big);
        n.idb(1, None); // µs
        n.block(0x0000_0bad, b"custom block to skip");
        n.idb(101, Some(9)); // ns
        n.epb(0, 1_700_000_000_123_456, P1, 7, None);
        n.epb(1, 1_700_000_000_123_456_789, P2, 11, Some(2));
        n.block(5, &[1, 2, 3, 4]); // interface statistics: skipped
        n.opb(0, 1_700_000_001_000_001, P2);
        n.spb(P1);
        let (pkts, err) = read_all(n.v, 4096);
        assert_eq!(err, None, "big={big}");
        assert_eq!(pkts.len(), 4);
        assert_eq!(
            pkts[0].0,
            PacketMeta {
                ts_sec: 1_700_000_000,
                ts_nsec: 123_456_000,
                wire_len: 7,
                linktype: 1,
                direction: 0
            }
        );
        assert_eq!(
            pkts[1].0,
            PacketMeta {
                ts_sec: 1_700_000_000,
                ts_nsec: 123_456_789,
                wire_len: 11,
                linktype: 101,
                direction: 5
            }
        );
        assert_eq!(pkts[1].1, P2);
        assert_eq!(
            (pkts[2].0.ts_sec, pkts[2].0.ts_nsec, pkts[2].0.linktype),
            (1_700_000_001, 1000, 1)
        );
        assert_eq!(pkts[3].1, P1);
        assert_eq!(
            pkts[3].0.linktype, 1,
            "simple packets belong to interface 0"
        );
    }
}

#[test]
fn pcapng_binary_resolution_and_a_second_section_in_the_other_byte_order() {
    let mut n = Ng::new(false);
    n.idb(1, Some(0x80 | 10)); // 2^-10 s
    n.epb(0, (5 << 10) | 256, P1, 7, None);
    let mut second = Ng::new(true);
    second.idb(228, None);
    second.epb(0, 2_000_000, P1, 7, Some(1));
    n.v.extend_from_slice(&second.v);
    let (pkts, err) = read_all(n.v, 4096);
    assert_eq!(err, None);
    assert_eq!((pkts[0].0.ts_sec, pkts[0].0.ts_nsec), (5, 250_000_000));
    assert_eq!(
        (pkts[1].0.ts_sec, pkts[1].0.linktype, pkts[1].0.direction),
        (2, 228, 1)
    );
}

#[test]
fn pcapng_truncation_and_corruption_are_reported_after_the_complete_packets() {
    let mut n = Ng::new(false);
    n.idb(1, None);
    n.epb(0, 1, P1, 7, None);
    n.epb(0, 2, P2, 11, None);
    let (pkts, err) = read_all(n.v[..n.v.len() - 3].to_vec(), 4096);
    assert_eq!(pkts.len(), 1);
    assert_eq!(err.unwrap().code, TRUNCATED);
    let mut bad = Ng::new(false);
    bad.idb(1, None);
    bad.epb(3, 1, P1, 7, None); // undefined interface
    let (_, err) = read_all(bad.v, 4096);
    let err = err.unwrap();
    assert_eq!(err.code, GENERIC);
    assert!(
        err.message.contains("undefined interface 3"),
        "{}",
        err.message
    );
}

#[test]
fn written_pcap_reads_back_identically_with_nanoseconds() {
    let f = pcap(false, true, 1, &[(1, 123_456_789, P1, 7), (2, 5, P2, 1500)]);
    let (pkts, _) = read_all(f.clone(), 4096);
    // Re-create the batch and write it.
    let mut batch = vec![0u8; 4096];
    let mut pos = 0;
    for (m, d) in &pkts {
        pos = pathspider_capture::batch::put_record(&mut batch, pos, m, d).unwrap();
    }
    let mut w = PcapWriter::new(Vec::new(), 0, 0).unwrap();
    assert_eq!(w.write_batch(&batch, 2).unwrap(), 2);
    let written = w.finish().unwrap();
    assert_eq!(&written[..4], &0xa1b2_3c4du32.to_le_bytes());
    let (again, err) = read_all(written, 4096);
    assert_eq!(err, None);
    assert_eq!(again, pkts);
}

#[test]
fn the_writer_keeps_one_link_type_and_counts_the_others() {
    let mut batch = vec![0u8; 4096];
    let mut pos = 0;
    for lt in [101u16, 1, 101] {
        let m = PacketMeta {
            linktype: lt,
            wire_len: 7,
            ..Default::default()
        };
        pos = pathspider_capture::batch::put_record(&mut batch, pos, &m, P1).unwrap();
    }
    let mut w = PcapWriter::new(Vec::new(), 0, 4).unwrap();
    assert_eq!(w.write_batch(&batch, 3).unwrap(), 2);
    assert_eq!(w.skipped, 1);
    let (pkts, _) = read_all(w.finish().unwrap(), 4096);
    assert_eq!(pkts.len(), 2);
    assert!(pkts
        .iter()
        .all(|p| p.0.linktype == 101 && p.1 == P1[..4] && p.0.wire_len == 7));
    // An empty writer still produces a valid (Ethernet) file.
    let (pkts, err) = read_all(
        PcapWriter::new(Vec::new(), 0, 0).unwrap().finish().unwrap(),
        64,
    );
    assert_eq!((pkts.len(), err), (0, None));
}

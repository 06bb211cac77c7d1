//! Corrupted and cut capture files never panic (the release library aborts on panic): every
//! outcome is records, then end of file or an error value.

use std::io::Cursor;

use pathspider_capture::batch::Records;
use pathspider_capture::reader::open_stream;

const DATA: &str = "/usr/lib/python3/dist-packages/pathspider/tests/data";

/// Reads to the end or the first error; returns the number of records.
fn drain(bytes: Vec<u8>, batch: usize) -> usize {
    let Ok(mut r) = open_stream(Cursor::new(bytes), "fuzz") else {
        return 0;
    };
    let mut out = vec![0u8; batch];
    let mut n = 0;
    for _ in 0..100_000 {
        let (mut pos, mut count) = (0, 0);
        let res = r.fill_batch(&mut out, &mut pos, &mut count);
        // Whatever was written is a well-formed batch.
        assert!(Records::new(&out[..pos], count).all(|r| r.is_ok()));
        n += count as usize;
        match res {
            Ok(false) if count > 0 => {}
            _ => return n,
        }
    }
    panic!("no end after 100000 batches");
}

/// xorshift64: deterministic mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn samples() -> Vec<Vec<u8>> {
    let got: Vec<Vec<u8>> = [
        "tcp_http.pcap",
        "icmp_ttl.pcap",
        "mss_none.pcap",
        "basic_ipv6_udp.pcap",
    ]
    .iter()
    .filter_map(|f| std::fs::read(format!("{DATA}/{f}")).ok())
    .map(|mut b| {
        b.truncate(64 << 10);
        b
    })
    .collect();
    // a missing sample would make these tests pass on nothing
    assert_eq!(
        got.len(),
        4,
        "the original's sample captures are missing from {DATA}"
    );
    got
}

#[test]
fn every_cut_of_a_capture_reads_without_panicking() {
    for s in samples() {
        let full = drain(s.clone(), 4096);
        for cut in (0..s.len()).step_by(7) {
            assert!(drain(s[..cut].to_vec(), 4096) <= full);
        }
    }
}

#[test]
fn random_byte_corruption_reads_without_panicking() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for s in samples() {
        for _ in 0..300 {
            let mut m = s.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            // Corrupt a length field now and then: offsets 8..16 of a record header.
            if rng.below(2) == 0 && m.len() > 40 {
                let i = 24 + rng.below(m.len() - 40);
                m[i..i + 4].copy_from_slice(&(rng.next() as u32).to_le_bytes());
            }
            drain(m, 64 + rng.below(4096));
        }
    }
}

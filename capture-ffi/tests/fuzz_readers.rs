//! Mutation fuzzing of the pcap and pcapng readers, run by `cargo test`: thousands of mutants of
//! each seed capture in `tests/seeds/` (bit flips, cuts, length fields set to extremes, blocks
//! spliced in from other seeds, deleted or repeated), each read to its end with a deterministic
//! PRNG. Every mutant must read without a panic, without an allocation beyond a cap (a counting
//! global allocator in this test binary measures the reading thread), and every batch must hold
//! well-formed records that account for no more bytes than the file has. The seeds are made by
//! `tests/seeds/make_seeds.py`; without them the test fails.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::path::PathBuf;

use pathspider_capture::batch::{record_len, HEADER_LEN};
use pathspider_capture::error::{EOF, TRUNCATED};
use pathspider_capture::readahead::FileCapture;
use pathspider_capture::reader::{open_stream, MAX_RECORD};

/// Counts the allocations of each thread: the largest single request and the peak of live bytes.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(n: usize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get().wrapping_add(n);
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
    let _ = LARGEST.try_with(|m| m.set(m.get().max(n)));
}

fn note_free(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().wrapping_sub(n)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note_alloc(l.size());
        // SAFETY: forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note_alloc(l.size());
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note_free(l.size());
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note_free(l.size());
        note_alloc(new);
        // SAFETY: forwarded.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with (largest single allocation, peak growth of live bytes)
/// on this thread meanwhile.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let start = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(start));
    LARGEST.with(|m| m.set(0));
    let out = f();
    let peak = PEAK.with(|p| p.get()).wrapping_sub(start);
    (out, LARGEST.with(|m| m.get()), peak)
}

/// The reader's read buffer is one chunk (1 MiB) for any file smaller than that; the batch is
/// the caller's. Nothing else may come near: a length field must never size an allocation.
const ALLOC_CAP: usize = 2 << 20;

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Not a capture file, or its header could not be read (the open failed with this code).
    Refused(i32),
    /// The end of the stream.
    Eof,
    /// An error after the records, with its code.
    Failed(i32),
}

/// Reads `bytes` to the end with batches of `batch` bytes, checking every batch; returns the
/// records read and how it ended.
fn drain(bytes: &[u8], batch: usize) -> (usize, End) {
    let mut r = match open_stream(Cursor::new(bytes.to_vec()), "fuzz") {
        Ok(r) => r,
        Err(e) => {
            assert!(e.code < 0 && e.code != EOF, "open failed with {}", e.code);
            assert!(!e.message.contains('\n'));
            return (0, End::Refused(e.code));
        }
    };
    let mut out = vec![0u8; batch];
    let (mut records, mut captured) = (0usize, 0usize);
    for _ in 0..100_000 {
        let (mut pos, mut count) = (0usize, 0u32);
        let res = r.fill_batch(&mut out, &mut pos, &mut count);
        assert!(pos <= out.len(), "batch end {pos} past the buffer");
        captured += check_batch(&out[..pos], count, bytes.len());
        assert!(
            captured <= bytes.len(),
            "{captured} captured bytes from a file of {}",
            bytes.len()
        );
        records += count as usize;
        match res {
            Ok(false) => assert!(count > 0, "no progress: an empty batch that is not the end"),
            Ok(true) => return (records, End::Eof),
            Err(e) => {
                assert!(e.code < 0 && e.code != EOF);
                assert!(!e.message.is_empty() && !e.message.contains('\n'));
                return (records, End::Failed(e.code));
            }
        }
    }
    panic!("no end after 100000 batches");
}

/// Reads `bytes` like `drain`, through the read-ahead thread (`ps_capture_next`'s path).
fn ahead(bytes: &[u8], batch: usize) -> (usize, End) {
    let r = match open_stream(Cursor::new(bytes.to_vec()), "fuzz") {
        Ok(r) => r,
        Err(e) => return (0, End::Refused(e.code)),
    };
    let mut cap = FileCapture::new(r);
    let mut out = vec![0u8; batch];
    let (mut records, mut end) = (0usize, End::Eof);
    loop {
        match cap.next(&mut out, -1) {
            Ok(n) => records += n as usize,
            Err(e) if e.code == EOF => return (records, end),
            Err(e) => {
                assert_eq!(end, End::Eof, "a second error");
                end = End::Failed(e.code);
            }
        }
    }
}

/// Walks `count` records that must fill `b` exactly; returns the bytes they captured.
fn check_batch(b: &[u8], count: u32, file_len: usize) -> usize {
    let (mut pos, mut captured) = (0usize, 0usize);
    for i in 0..count {
        let h = b
            .get(pos..pos + HEADER_LEN)
            .unwrap_or_else(|| panic!("record {i} header at {pos} past the batch end {}", b.len()));
        let caplen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        assert_eq!(h[19], 0, "reserved byte");
        assert!(h[18] <= 8, "direction {}", h[18]);
        assert!(
            caplen <= file_len,
            "caplen {caplen} from a file of {file_len} bytes"
        );
        let end = pos + record_len(caplen);
        assert!(
            end <= b.len(),
            "record {i} ends at {end}, batch at {}",
            b.len()
        );
        assert!(
            b[pos + HEADER_LEN + caplen..end].iter().all(|&x| x == 0),
            "padding"
        );
        captured += caplen;
        pos = end;
    }
    assert_eq!(
        pos,
        b.len(),
        "the records do not fill what the reader said it wrote"
    );
    captured
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One seed: its bytes and its blocks (pcap: file header and records; pcapng: blocks).
struct Seed {
    name: String,
    bytes: Vec<u8>,
    blocks: Vec<(usize, usize)>,
}

fn seeds() -> Vec<Seed> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/seeds");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed directory {} is missing: {e}", dir.display()));
    let mut out: Vec<Seed> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let blocks = blocks(&bytes);
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            Seed {
                name,
                bytes,
                blocks,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let pcaps = out.iter().filter(|s| s.name.ends_with(".pcap")).count();
    let pcapngs = out.len() - pcaps;
    assert!(
        pcaps >= 3 && pcapngs >= 2,
        "too few seeds in {} ({pcaps} pcap, {pcapngs} pcapng): run tests/seeds/make_seeds.py",
        dir.display()
    );
    out
}

/// The block boundaries of a seed, as far as they can be walked.
fn blocks(b: &[u8]) -> Vec<(usize, usize)> {
    let rd = |o: usize, big: bool| -> Option<u32> {
        let a: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let mut out = vec![];
    if b.len() < 24 {
        return out;
    }
    if b[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let (mut o, mut big) = (0usize, false);
        while o + 12 <= b.len() {
            if b[o..o + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                big = b[o + 8..o + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            }
            let Some(n) = rd(o + 4, big) else { break };
            let n = n as usize;
            if n < 12 || o + n > b.len() {
                break;
            }
            out.push((o, n));
            o += n;
        }
    } else {
        let big = b[..4] == [0xa1, 0xb2, 0xc3, 0xd4] || b[..4] == [0xa1, 0xb2, 0x3c, 0x4d];
        out.push((0, 24));
        let mut o = 24;
        while let Some(cap) = rd(o + 8, big) {
            let n = 16 + cap as usize;
            if o + n > b.len() {
                break;
            }
            out.push((o, n));
            o += n;
        }
    }
    out
}

/// Values a length field is set to: the edges of every check a reader makes.
fn extreme(rng: &mut Rng, file_len: usize) -> u32 {
    const V: [u32; 16] = [
        0,
        1,
        3,
        11,
        12,
        16,
        28,
        32,
        65535,
        65536,
        262_144,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffc,
        0xffff_ffff,
        MAX_RECORD as u32,
    ];
    match rng.below(5) {
        0 => MAX_RECORD as u32 + 4 * rng.below(3) as u32,
        1 => (file_len + rng.below(64)).saturating_sub(32) as u32,
        _ => V[rng.below(V.len())],
    }
}

/// Applies one random mutation to `m` (a copy of `seed`), with `other` to splice from.
fn mutate(rng: &mut Rng, m: &mut Vec<u8>, seed: &Seed, other: &Seed) {
    let len = m.len();
    match rng.below(9) {
        // bit flips
        0 => {
            for _ in 0..1 + rng.below(4) {
                if !m.is_empty() {
                    let i = rng.below(m.len());
                    m[i] ^= 1 << rng.below(8);
                }
            }
        }
        // a random byte
        1 => {
            if !m.is_empty() {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
        }
        // cut short
        2 => m.truncate(rng.below(len + 1)),
        // a length field of a block or record, in either byte order, set to an extreme
        3 | 4 => {
            let Some(&(start, n)) = seed.blocks.get(rng.below(seed.blocks.len())) else {
                return;
            };
            let field = match rng.below(5) {
                0 => start + 4,     // pcapng block length
                1 => start + n - 4, // pcapng trailing length
                2 => start + 8,     // pcap caplen (pcap records), pcapng interface id
                3 => start + 20,    // pcapng EPB caplen, pcap file link type
                _ => start + 4 * rng.below(n / 4 + 1),
            };
            let v = extreme(rng, len);
            let bytes = if rng.below(2) == 0 {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            if field + 4 <= m.len() {
                m[field..field + 4].copy_from_slice(&bytes);
            }
        }
        // a 16-bit option length or code at a random even place set to an extreme
        5 => {
            if m.len() >= 2 {
                let i = rng.below(m.len() / 2) * 2;
                let v = [0u16, 1, 4, 8, 0x7fff, 0xffff][rng.below(6)];
                m[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
        }
        // a block of another seed (another format or byte order, perhaps) spliced in
        6 => {
            let Some(&(s, n)) = other.blocks.get(rng.below(other.blocks.len())) else {
                return;
            };
            let at = match seed.blocks.get(rng.below(seed.blocks.len() + 1)) {
                Some(&(start, _)) if rng.below(4) != 0 => start.min(m.len()),
                _ => rng.below(m.len() + 1),
            };
            let piece = other.bytes[s..s + n].to_vec();
            m.splice(at..at, piece);
        }
        // a range deleted
        7 => {
            if !m.is_empty() {
                let a = rng.below(m.len());
                let b = (a + 1 + rng.below(64)).min(m.len());
                m.drain(a..b);
            }
        }
        // a block repeated
        _ => {
            if let Some(&(s, n)) = seed.blocks.get(rng.below(seed.blocks.len())) {
                if s + n <= m.len() {
                    let piece = m[s..s + n].to_vec();
                    m.splice(s..s, piece);
                }
            }
        }
    }
}

/// Mutants of each seed; `cargo test --release` runs all of them in a few seconds.
const ROUNDS: usize = 20_000;

#[test]
fn every_mutant_of_every_seed_reads_within_bounds() {
    let seeds = seeds();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let (mut mutants, mut records, mut ends) = (0usize, 0usize, [0usize; 3]);
    let mut worst = (0usize, 0usize);
    let start = std::time::Instant::now();
    for (k, seed) in seeds.iter().enumerate() {
        for _ in 0..ROUNDS {
            let mut m = seed.bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let other = &seeds[(k + 1 + rng.below(seeds.len())) % seeds.len()];
                mutate(&mut rng, &mut m, seed, other);
            }
            let batch = [HEADER_LEN + 4, 64, 200, 4096, 1 << 16][rng.below(5)];
            let ((n, end), largest, peak) = measured(|| drain(&m, batch));
            assert!(
                largest <= ALLOC_CAP.max(batch) && peak <= 2 * ALLOC_CAP + batch,
                "{}: a mutant of {} bytes allocated {largest} bytes at once, {peak} in all",
                seed.name,
                m.len()
            );
            worst = (worst.0.max(largest), worst.1.max(peak));
            // now and then through the read-ahead thread too: the same records and the same end
            if mutants % 16 == 0 {
                assert_eq!(ahead(&m, batch), (n, end), "{}: read ahead", seed.name);
            }
            mutants += 1;
            records += n;
            ends[match end {
                End::Refused(_) => 0,
                End::Eof => 1,
                End::Failed(_) => 2,
            }] += 1;
        }
    }
    // the mutants reach every outcome: a fuzz run that only ever fails at the header tests little
    assert!(ends.iter().all(|&e| e > mutants / 50), "outcomes {ends:?}");
    eprintln!(
        "{mutants} mutants of {} seeds in {:?}: {records} records, refused/eof/error {ends:?}, \
         largest allocation {} bytes, peak {} bytes",
        seeds.len(),
        start.elapsed(),
        worst.0,
        worst.1
    );
}

#[test]
fn the_seeds_read_as_they_were_written() {
    let seeds = seeds();
    let get = |name: &str| {
        let s = seeds.iter().find(|s| s.name == name);
        drain(
            &s.unwrap_or_else(|| panic!("seed {name} missing")).bytes,
            4096,
        )
    };
    assert_eq!(get("pcapng_two_sections.pcapng"), (9, End::Eof));
    assert_eq!(get("pcapng_be_only.pcapng"), (4, End::Eof));
    assert_eq!(get("pcapng_truncated.pcapng"), (5, End::Failed(TRUNCATED)));
    assert_eq!(get("pcap_truncated.pcap").1, End::Failed(TRUNCATED));
    assert_eq!(get("pcap_be.pcap"), (6, End::Eof));
}

#[test]
fn a_40_byte_file_claiming_a_64_mib_record_is_one_error_and_no_big_allocation() {
    let b = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/seeds/pcap_claims_64mib.pcap"
    ))
    .unwrap();
    assert_eq!(b.len(), 40);
    let ((n, end), largest, peak) = measured(|| drain(&b, 4096));
    assert_eq!((n, end), (0, End::Failed(TRUNCATED)));
    // it used to be 128 MiB: the claimed length rounded up to a power of two
    assert!(largest <= ALLOC_CAP, "largest allocation {largest} bytes");
    assert!(peak <= ALLOC_CAP + 4096, "peak {peak} bytes");
}

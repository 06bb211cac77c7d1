//! Capture files read ahead on a thread of their own.
//!
//! `observe` spends its main thread on the observer; any time that thread waits for the file is
//! lost. So the first call starts a reader thread that keeps up to `DEPTH` batches filled ahead of
//! the caller. `next` copies a ready batch into the caller's buffer; `take` lends it instead (the
//! caller reads it in place until its next call). The caller sees exactly what reading in its own
//! thread would give: the same records in the same batches, a truncation error after the complete
//! records, then the end.

use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crate::error::{catch_panic, Error, Result, EOF, GENERIC, INVALID_ARGUMENT};
use crate::reader::PacketReader;

/// Batches filled ahead of the caller.
const DEPTH: usize = 3;

/// A file being read, batch by batch, in whichever thread calls `next`.
struct FileSource {
    reader: Box<dyn PacketReader>,
    /// An error found after some records of a batch: reported by the next call.
    pending: Option<Error>,
    /// Nothing more to read (end of file, or after an error was reported).
    done: bool,
}

impl FileSource {
    /// Fills `out`; returns the number of records and the bytes they take.
    fn next(&mut self, out: &mut [u8]) -> Result<(u32, usize)> {
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Err(e);
        }
        if self.done {
            return Err(Error::new(EOF, "end of capture file"));
        }
        let (mut pos, mut count) = (0usize, 0u32);
        match self.reader.fill_batch(out, &mut pos, &mut count) {
            Ok(eof) => {
                if eof {
                    self.done = true;
                    if count == 0 {
                        return Err(Error::new(EOF, "end of capture file"));
                    }
                }
                Ok((count, pos))
            }
            // Deliver the complete records first; the error comes with the next call.
            Err(e) if count > 0 => {
                self.pending = Some(e);
                Ok((count, pos))
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

/// One filled batch (or the error in its place), handed from the reader thread.
struct Filled {
    buf: Vec<u8>,
    res: Result<(u32, usize)>,
}

/// The reader thread's ends of the two queues.
struct Running {
    filled: Receiver<Filled>,
    free: Sender<Vec<u8>>,
    /// Batch size of the thread's buffers (the first caller's).
    size: usize,
}

enum State {
    /// Opened, not read yet: the thread starts with the first call, which sets the batch size.
    Idle(FileSource),
    Running(Running),
    /// The thread has delivered its last result.
    Ended,
}

/// A capture file with read-ahead.
pub struct FileCapture {
    state: State,
    /// Records handed to the caller so far.
    delivered: u64,
    /// The batch `take` lent to the caller, until its next call.
    lent: Option<Vec<u8>>,
}

impl FileCapture {
    /// Wraps an opened reader; nothing is read until the first `next`.
    pub fn new(reader: Box<dyn PacketReader>) -> Self {
        FileCapture {
            state: State::Idle(FileSource {
                reader,
                pending: None,
                done: false,
            }),
            delivered: 0,
            lent: None,
        }
    }

    /// Records handed to the caller so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Fills `out` with the next batch of records and returns their number, or 0 when none is
    /// ready within `timeout_ms` (negative: wait as long as it takes; a file on disk is never
    /// slow, a pipe can be). Every call must pass a buffer at least as large as the first call's,
    /// since batches are cut to that size.
    pub fn next(&mut self, out: &mut [u8], timeout_ms: i32) -> Result<u32> {
        let size = self.running(out.len())?;
        if out.len() < size {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!(
                    "batch buffer of {} bytes is smaller than the first one ({size} bytes)",
                    out.len()
                ),
            ));
        }
        let Some(Filled { buf, res }) = self.receive(timeout_ms)? else {
            return Ok(0);
        };
        let res = res.map(|(count, used)| {
            out[..used].copy_from_slice(&buf[..used]);
            count
        });
        self.give_back(buf);
        res
    }

    /// Like `next`, but lends the batch instead of copying it: returns the number of records and
    /// the batch's address. The batch (`size` bytes, the size of the first call) stays the
    /// caller's to read until its next call on this capture or its close. A quarter of the cost
    /// of `observe` on a 1 MiB batch went into the copy (`bench/observe.sh`).
    pub fn take(&mut self, size: usize, timeout_ms: i32) -> Result<(u32, *const u8)> {
        let first = self.running(size)?;
        if size != first {
            // the caller reads `size` bytes at the address: never more than the batch has
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("batch size {size} differs from the first one ({first} bytes)"),
            ));
        }
        let Some(Filled { buf, res }) = self.receive(timeout_ms)? else {
            return Ok((0, std::ptr::null()));
        };
        match res {
            Ok((count, _)) => {
                let ptr = buf.as_ptr();
                self.lent = Some(buf);
                Ok((count, ptr))
            }
            Err(e) => {
                self.give_back(buf);
                Err(e)
            }
        }
    }

    /// Starts the thread on the first call (with batches of `size` bytes); returns their size.
    fn running(&mut self, size: usize) -> Result<usize> {
        if let State::Idle(_) = self.state {
            let State::Idle(src) = std::mem::replace(&mut self.state, State::Ended) else {
                unreachable!()
            };
            self.state = State::Running(start(src, size)?);
        }
        // a batch lent by `take` goes back first: the caller is done with it
        if let Some(buf) = self.lent.take() {
            self.give_back(buf);
        }
        match &self.state {
            State::Running(run) => Ok(run.size),
            _ => Err(Error::new(EOF, "end of capture file")),
        }
    }

    /// The next filled batch, `None` if none came within `timeout_ms` (negative: no limit).
    fn receive(&mut self, timeout_ms: i32) -> Result<Option<Filled>> {
        let State::Running(run) = &self.state else {
            return Err(Error::new(EOF, "end of capture file"));
        };
        let got = if timeout_ms < 0 {
            run.filled
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            run.filled
                .recv_timeout(Duration::from_millis(timeout_ms as u64))
        };
        match got {
            Ok(f) => {
                if let Ok((count, _)) = f.res {
                    self.delivered += count as u64;
                }
                Ok(Some(f))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                // the thread has ended after its last result
                self.state = State::Ended;
                Err(Error::new(EOF, "end of capture file"))
            }
        }
    }

    /// Returns a batch to the thread; one that has stopped drops it.
    fn give_back(&mut self, buf: Vec<u8>) {
        if let State::Running(run) = &self.state {
            let _ = run.free.send(buf);
        }
    }
}

/// Starts the reader thread with `DEPTH` buffers of `size` bytes.
fn start(mut src: FileSource, size: usize) -> Result<Running> {
    let (filled_tx, filled) = sync_channel::<Filled>(DEPTH);
    let (free, free_rx) = channel::<Vec<u8>>();
    for _ in 0..DEPTH {
        let _ = free.send(vec![0u8; size]);
    }
    std::thread::Builder::new()
        .name("ps-readahead".into())
        .spawn(move || {
            // ends at the end of the file, or when the capture is closed (its queue ends drop)
            while let Ok(mut buf) = free_rx.recv() {
                // a panic of the reader (a bug) ends the file with an error, not in silence
                let res = match catch_panic("the file reader thread", || src.next(&mut buf)) {
                    Ok(res) => res,
                    Err(e) => {
                        src.done = true;
                        src.pending = None;
                        Err(e)
                    }
                };
                let last = matches!(&res, Err(e) if e.code == EOF);
                if filled_tx.send(Filled { buf, res }).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| Error::new(GENERIC, format!("cannot start the file reader thread: {e}")))?;
    Ok(Running { filled, free, size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::open_stream;
    use std::io::Cursor;

    /// A pcap (µs, Ethernet) with `n` packets of `len` bytes; `cut` bytes taken off its end.
    fn pcap(n: u32, len: u32, cut: usize) -> Vec<u8> {
        let mut v = vec![];
        for x in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for i in 0..n {
            for x in [i, 0, len, len] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend(std::iter::repeat_n(i as u8, len as usize));
        }
        v.truncate(v.len() - cut);
        v
    }

    fn reader(bytes: Vec<u8>) -> Box<dyn PacketReader> {
        open_stream(Cursor::new(bytes), "test").unwrap()
    }

    /// (records per call, or the error code) until the end, reading in the caller's thread.
    fn direct(bytes: Vec<u8>, size: usize) -> Vec<std::result::Result<(u32, Vec<u8>), i32>> {
        let mut src = FileSource {
            reader: reader(bytes),
            pending: None,
            done: false,
        };
        let mut out = vec![0u8; size];
        let mut got = vec![];
        loop {
            match src.next(&mut out) {
                Ok((n, used)) => got.push(Ok((n, out[..used].to_vec()))),
                Err(e) if e.code == EOF => return got,
                Err(e) => got.push(Err(e.code)),
            }
        }
    }

    fn ahead(bytes: Vec<u8>, size: usize) -> Vec<std::result::Result<(u32, Vec<u8>), i32>> {
        let mut cap = FileCapture::new(reader(bytes));
        let mut out = vec![0u8; size];
        let mut got = vec![];
        loop {
            let before = cap.delivered();
            match cap.next(&mut out, -1) {
                Ok(n) => {
                    assert_eq!(cap.delivered(), before + n as u64);
                    // the records' bytes: as many as the direct read used (checked by comparison)
                    got.push(Ok((n, out.clone())));
                }
                Err(e) if e.code == EOF => {
                    assert_eq!(cap.next(&mut out, -1).unwrap_err().code, EOF, "EOF again");
                    return got;
                }
                Err(e) => got.push(Err(e.code)),
            }
        }
    }

    fn same(bytes: Vec<u8>, size: usize) {
        let d = direct(bytes.clone(), size);
        let a = ahead(bytes, size);
        assert_eq!(d.len(), a.len());
        for (x, y) in d.iter().zip(&a) {
            match (x, y) {
                (Ok((n, b)), Ok((m, c))) => {
                    assert_eq!(n, m);
                    assert_eq!(&b[..], &c[..b.len()]);
                }
                (Err(p), Err(q)) => assert_eq!(p, q),
                _ => panic!("{x:?} vs {y:?}"),
            }
        }
    }

    #[test]
    fn read_ahead_gives_the_batches_of_a_direct_read() {
        same(pcap(1000, 100, 0), 4096);
        same(pcap(10, 60, 0), 1 << 20);
        same(pcap(0, 60, 0), 4096);
    }

    #[test]
    fn taken_batches_are_the_copied_ones_and_stay_put_until_the_next_call() {
        let bytes = pcap(3000, 100, 10);
        let copied = ahead(bytes.clone(), 4096);
        let mut cap = FileCapture::new(reader(bytes));
        let mut seen = vec![];
        loop {
            match cap.take(4096, -1) {
                Ok((n, ptr)) => {
                    // SAFETY: lent until the next call on `cap`
                    let b = unsafe { std::slice::from_raw_parts(ptr, 4096) }.to_vec();
                    std::thread::sleep(Duration::from_micros(200)); // the thread reads on
                    let again = unsafe { std::slice::from_raw_parts(ptr, 4096) };
                    assert_eq!(&b[..], again, "a lent batch was overwritten");
                    seen.push(Ok((n, b)));
                }
                Err(e) if e.code == EOF => break,
                Err(e) => seen.push(Err(e.code)),
            }
        }
        assert_eq!(seen.len(), copied.len());
        for (x, y) in seen.iter().zip(&copied) {
            match (x, y) {
                (Ok((n, b)), Ok((m, c))) => {
                    assert_eq!(n, m);
                    let used: usize = records_len(c, *m);
                    assert_eq!(&b[..used], &c[..used]);
                }
                (Err(p), Err(q)) => assert_eq!(p, q),
                _ => panic!("{x:?} vs {y:?}"),
            }
        }
        assert_eq!(cap.delivered(), 2999);
    }

    /// Bytes taken by the first `n` records of a batch.
    fn records_len(b: &[u8], n: u32) -> usize {
        let mut off = 0;
        for _ in 0..n {
            let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
            off += (crate::batch::HEADER_LEN + caplen + 3) & !3;
        }
        off
    }

    #[test]
    fn a_truncation_comes_once_after_the_complete_records() {
        let got = ahead(pcap(500, 100, 10), 4096);
        assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
        assert!(got.last().unwrap().is_err());
        let records: u32 = got
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| r.0)
            .sum();
        assert_eq!(records, 499);
        same(pcap(500, 100, 10), 4096);
    }

    #[test]
    fn a_smaller_buffer_than_the_first_is_refused() {
        let mut cap = FileCapture::new(reader(pcap(100, 100, 0)));
        assert!(cap.next(&mut [0u8; 4096], -1).unwrap() > 0);
        assert_eq!(
            cap.next(&mut [0u8; 1024], -1).unwrap_err().code,
            INVALID_ARGUMENT
        );
        assert!(cap.next(&mut [0u8; 8192], -1).unwrap() > 0);
        // a lent batch is never taken as larger or smaller than it is
        assert_eq!(cap.take(8192, -1).unwrap_err().code, INVALID_ARGUMENT);
        assert!(cap.take(4096, -1).unwrap().0 > 0);
    }

    /// A reader with a bug: one good batch, then a panic.
    struct Buggy(u32);

    impl PacketReader for Buggy {
        fn fill_batch(&mut self, out: &mut [u8], pos: &mut usize, count: &mut u32) -> Result<bool> {
            self.0 += 1;
            if self.0 > 1 {
                panic!("reader bug");
            }
            let meta = crate::batch::PacketMeta::default();
            *pos = crate::batch::put_record(out, 0, &meta, &[1, 2, 3]).unwrap();
            *count = 1;
            Ok(false)
        }
    }

    #[test]
    fn a_panic_of_the_reader_thread_is_an_internal_error_then_the_end() {
        let mut cap = FileCapture::new(Box::new(Buggy(0)));
        let mut out = vec![0u8; 4096];
        assert_eq!(cap.next(&mut out, -1).unwrap(), 1);
        let e = cap.next(&mut out, -1).unwrap_err();
        assert_eq!(e.code, crate::error::INTERNAL);
        assert!(
            e.message.contains("the file reader thread"),
            "{}",
            e.message
        );
        assert!(e.message.contains("reader bug"), "{}", e.message);
        assert_eq!(cap.next(&mut out, -1).unwrap_err().code, EOF);
    }

    #[test]
    fn dropping_a_capture_mid_file_stops_its_thread() {
        let mut cap = FileCapture::new(reader(pcap(100_000, 100, 0)));
        assert!(cap.next(&mut [0u8; 4096], -1).unwrap() > 0);
        drop(cap); // must not hang: the thread sees its queues closed
    }

    /// A reader that has nothing for a while (a quiet pipe).
    struct Slow(Cursor<Vec<u8>>, Option<std::time::Instant>);

    impl std::io::Read for Slow {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            if self.0.position() > 0 {
                let t = *self.1.get_or_insert_with(std::time::Instant::now);
                while t.elapsed() < Duration::from_millis(300) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            self.0.read(b)
        }
    }

    /// A pipe whose writer pauses once, after `at` bytes (`QuietPipe` then fails a read with
    /// `WouldBlock`).
    struct Pausing {
        data: Cursor<Vec<u8>>,
        at: u64,
        paused: bool,
    }

    impl std::io::Read for Pausing {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let pos = self.data.position();
            if pos == self.at && !self.paused {
                self.paused = true;
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            let n = b
                .len()
                .min((if pos < self.at { self.at } else { u64::MAX }) as usize - pos as usize);
            self.data.read(&mut b[..n])
        }
    }

    #[test]
    fn records_read_before_a_pause_of_the_writer_go_out_at_once() {
        // 24-byte header and 5 records of 16 + 100 bytes, then a pause in the middle of the 6th
        let at = 24 + 5 * 116 + 50;
        let r = open_stream(
            Pausing {
                data: Cursor::new(pcap(10, 100, 0)),
                at,
                paused: false,
            },
            "pipe",
        )
        .unwrap();
        let mut cap = FileCapture::new(r);
        let mut out = vec![0u8; 1 << 16];
        assert_eq!(cap.next(&mut out, -1).unwrap(), 5);
        assert_eq!(cap.next(&mut out, -1).unwrap(), 5);
        assert_eq!(cap.next(&mut out, -1).unwrap_err().code, EOF);
    }

    #[test]
    fn a_quiet_source_gives_zero_within_the_timeout_and_its_packets_later() {
        let r = open_stream(Slow(Cursor::new(pcap(10, 100, 0)), None), "slow").unwrap();
        let mut cap = FileCapture::new(r);
        let mut out = vec![0u8; 1 << 16];
        let t = std::time::Instant::now();
        assert_eq!(cap.next(&mut out, 20).unwrap(), 0);
        assert!(t.elapsed() < Duration::from_millis(250));
        assert_eq!(cap.next(&mut out, -1).unwrap(), 10);
        assert_eq!(cap.next(&mut out, -1).unwrap_err().code, EOF);
    }
}

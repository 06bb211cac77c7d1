//! Buffered reading in big chunks, so that file parsing costs one `read` per few MiB rather than
//! one per packet; records are parsed straight out of the chunk buffer.

use std::io::Read;

/// Default chunk size: large enough that syscalls vanish in the profile, small enough to stay
/// in L2/L3 cache on refill.
const CHUNK: usize = 1 << 20;

/// Size of the first read: opening a file reads only its header, on the caller's thread (the
/// main one, in `observe`); the chunk-sized reads come later, on the read-ahead thread.
const FIRST: usize = 4096;

/// A read buffer over any reader, with a window `[start, end)` of unconsumed bytes.
pub struct ChunkReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Offset in the stream of `buf[start]` (for error messages).
    offset: u64,
}

impl<R: Read> ChunkReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        ChunkReader {
            inner,
            buf: vec![0; FIRST],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
        }
    }

    /// The unconsumed bytes currently buffered.
    #[inline]
    pub fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Marks `n` buffered bytes as consumed (`n <= avail().len()`).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// Makes at least `need` bytes available; `Ok(false)` if the stream ends first (then
    /// `avail()` holds whatever was left).
    #[inline]
    pub fn fill(&mut self, need: usize) -> std::io::Result<bool> {
        self.fill_or_pause(need, false)
    }

    /// Like `fill`, but when `pause` is set and the source has had nothing for a while (it then
    /// fails a read with `WouldBlock`, see `reader::QuietPipe`), returns that error instead of
    /// waiting on; the bytes read so far stay buffered for the next call.
    #[inline]
    pub fn fill_or_pause(&mut self, need: usize, pause: bool) -> std::io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.refill(need, pause)
    }

    #[cold]
    fn refill(&mut self, need: usize, pause: bool) -> std::io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // the first refill after the opening read (something was read: the stream offset of the
        // buffer's end is past 0) grows the buffer to a whole chunk
        let opened = self.offset + self.end as u64 > 0;
        if opened && self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        while self.end < need && !self.eof {
            if self.end == self.buf.len() {
                // A record larger than the buffer: grow as its bytes arrive (doubling), never on
                // the word of its length field alone. A 40-byte pcap whose one record header
                // claims 64 MiB used to allocate (and zero) 128 MiB before finding the file ends.
                let grown = (self.buf.len() * 2)
                    .min(need.next_power_of_two())
                    .max(need.min(CHUNK));
                self.buf.resize(grown, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && !pause => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= need)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader returning at most 3 bytes per read, to exercise refills.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(3).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_gathers_across_short_reads_and_reports_the_end() {
        let data: Vec<u8> = (0..20).collect();
        let mut r = ChunkReader::new(Trickle(&data));
        assert!(r.fill(10).unwrap());
        assert_eq!(&r.avail()[..10], &data[..10]);
        r.consume(8);
        assert_eq!(r.offset(), 8);
        assert!(r.fill(12).unwrap());
        assert!(!r.fill(13).unwrap());
        assert_eq!(r.avail(), &data[8..]);
    }

    /// Records the room each read was offered.
    struct Offered<'a>(&'a [u8], Vec<usize>);
    impl Read for Offered<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.1.push(out.len());
            let n = self.0.len().min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_claimed_length_grows_the_buffer_only_as_far_as_the_bytes_that_came() {
        let data = vec![1u8; 3 * CHUNK + 5];
        let mut r = ChunkReader::new(Offered(&data, Vec::new()));
        assert!(r.fill(16).unwrap());
        r.consume(16);
        // a header claims 64 MiB; the stream holds 3 MiB
        assert!(!r.fill(64 << 20).unwrap());
        assert_eq!(r.avail().len(), data.len() - 16);
        assert!(r.buf.len() <= 4 * CHUNK, "buffer of {} bytes", r.buf.len());
        // and a record that is really there arrives whole
        let mut r = ChunkReader::new(&data[..]);
        assert!(r.fill(3 * CHUNK + 5).unwrap());
        assert_eq!(r.avail(), &data[..]);
        assert!(r.buf.len() <= 4 * CHUNK);
    }

    #[test]
    fn the_opening_read_is_small_and_later_ones_take_a_chunk() {
        let data = vec![7u8; 3 * CHUNK];
        let mut r = ChunkReader::new(Offered(&data, Vec::new()));
        assert!(r.fill(24).unwrap());
        assert_eq!(r.inner.1, vec![FIRST]);
        r.consume(r.avail().len());
        assert!(r.fill(16).unwrap());
        assert_eq!(r.inner.1, vec![FIRST, CHUNK]);
        assert_eq!(r.offset(), FIRST as u64);
    }
}

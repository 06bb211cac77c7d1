//! Writing pcap files from packet batches (`observe --write`).
//!
//! We write the nanosecond pcap format (magic 0xa1b23c4d, little-endian) because batch timestamps
//! are nanoseconds. A pcap file has one link type: records of another link type are skipped and
//! counted (the count is returned by each write). Link type 0 at open means "the link type of the
//! first record written"; the file header is then written with the first record (or as Ethernet
//! at close if nothing was written).

use std::ffi::c_char;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

use crate::batch::{Record, Records};
use crate::error::{
    c_str_arg, fail, guard, Error, Result, GENERIC, INVALID_ARGUMENT, NOT_PERMITTED,
};
use crate::handles::HandleTable;
use crate::pcapfile::MAGIC_NS;

/// Snap length written when the caller passes 0 (libpcap's maximum).
const DEFAULT_SNAPLEN: u32 = 262_144;

/// A pcap file being written to any sink.
pub struct PcapWriter<W: Write> {
    out: W,
    linktype: u32,
    snaplen: u32,
    header_written: bool,
    /// Records skipped because their link type differs from the file's.
    pub skipped: u64,
}

fn write_error(e: std::io::Error) -> Error {
    Error::new(GENERIC, format!("pcap write error: {e}"))
}

impl<W: Write> PcapWriter<W> {
    /// A writer; `linktype` 0 takes the first record's, `snaplen` 0 means 262144.
    pub fn new(out: W, linktype: u32, snaplen: u32) -> Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        if linktype > 0xffff {
            return Err(Error::new(
                INVALID_ARGUMENT,
                format!("link type {linktype} out of range"),
            ));
        }
        let mut w = PcapWriter {
            out,
            linktype,
            snaplen,
            header_written: false,
            skipped: 0,
        };
        if linktype != 0 {
            w.write_header()?;
        }
        Ok(w)
    }

    fn write_header(&mut self) -> Result<()> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NS.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&self.snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&self.linktype.to_le_bytes());
        self.out.write_all(&h).map_err(write_error)?;
        self.header_written = true;
        Ok(())
    }

    fn write_record(&mut self, r: &Record) -> Result<bool> {
        if !self.header_written {
            self.linktype = r.meta.linktype as u32;
            self.write_header()?;
        }
        if r.meta.linktype as u32 != self.linktype {
            self.skipped += 1;
            return Ok(false);
        }
        let caplen = r.data.len().min(self.snaplen as usize);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&r.meta.ts_sec.to_le_bytes());
        h[4..8].copy_from_slice(&r.meta.ts_nsec.to_le_bytes());
        h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        h[12..16].copy_from_slice(&r.meta.wire_len.max(caplen as u32).to_le_bytes());
        self.out.write_all(&h).map_err(write_error)?;
        self.out.write_all(&r.data[..caplen]).map_err(write_error)?;
        Ok(true)
    }

    /// Writes the first `count` records of a batch; returns how many were written (the rest
    /// were skipped for their link type). A malformed batch is an invalid-argument error.
    pub fn write_batch(&mut self, buf: &[u8], count: u32) -> Result<u32> {
        let mut written = 0;
        for r in Records::new(buf, count) {
            let r = r.map_err(|off| {
                Error::new(
                    INVALID_ARGUMENT,
                    format!("malformed batch: record at byte {off} overruns it"),
                )
            })?;
            if self.write_record(&r)? {
                written += 1;
            }
        }
        Ok(written)
    }

    /// Writes the header if still pending and flushes; returns the sink.
    pub fn finish(mut self) -> Result<W> {
        if !self.header_written {
            self.linktype = 1;
            self.write_header()?;
        }
        self.out.flush().map_err(write_error)?;
        Ok(self.out)
    }
}

static WRITERS: HandleTable<Mutex<Option<PcapWriter<BufWriter<File>>>>> =
    HandleTable::new("pcap writer");

/// Creates (or truncates) a pcap file. `linktype` 0 = the first record's; `snaplen` 0 = 262144.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ps_pcap_writer_open(
    path: *const c_char,
    linktype: u32,
    snaplen: u32,
    out: *mut i64,
) -> i32 {
    guard("ps_pcap_writer_open", || {
        if out.is_null() {
            return fail(Error::new(INVALID_ARGUMENT, "null handle pointer"));
        }
        // SAFETY: forwarded caller guarantee.
        let path = match unsafe { c_str_arg(path, "path") } {
            Ok(Some(p)) => p,
            Ok(None) => return fail(Error::new(INVALID_ARGUMENT, "null path")),
            Err(e) => return fail(e),
        };
        let file = match File::create(path) {
            Ok(f) => f,
            Err(e) => {
                let code = match e.kind() {
                    std::io::ErrorKind::PermissionDenied => NOT_PERMITTED,
                    _ => GENERIC,
                };
                return fail(Error::new(code, format!("cannot create {path}: {e}")));
            }
        };
        match PcapWriter::new(BufWriter::with_capacity(1 << 20, file), linktype, snaplen) {
            Ok(w) => {
                let id = WRITERS.insert(Mutex::new(Some(w)));
                // SAFETY: checked non-null; the caller promises it is writable.
                unsafe { *out = id };
                0
            }
            Err(e) => fail(e),
        }
    })
}

/// Writes the first `count` records of the batch in `buf` (`len` bytes); returns how many were
/// written (records of another link type than the file's are skipped).
///
/// # Safety
/// `buf` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ps_pcap_writer_write(h: i64, buf: *const u8, len: u32, count: u32) -> i32 {
    guard("ps_pcap_writer_write", || {
        if buf.is_null() && len != 0 {
            return fail(Error::new(INVALID_ARGUMENT, "null batch buffer"));
        }
        let w = match WRITERS.get(h) {
            Ok(w) => w,
            Err(e) => return fail(e),
        };
        let data: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `len` readable bytes.
            unsafe { std::slice::from_raw_parts(buf, len as usize) }
        };
        let mut guard = w.lock().unwrap_or_else(|p| p.into_inner());
        let Some(writer) = guard.as_mut() else {
            return fail(Error::new(
                crate::error::CLOSED_HANDLE,
                "pcap writer is closed",
            ));
        };
        match writer.write_batch(data, count) {
            Ok(n) => n.min(i32::MAX as u32) as i32,
            Err(e) => fail(e),
        }
    })
}

/// Flushes and closes a pcap writer. Closing twice returns -9.
#[no_mangle]
pub extern "C" fn ps_pcap_writer_close(h: i64) -> i32 {
    guard("ps_pcap_writer_close", || {
        let w = match WRITERS.remove(h) {
            Ok(w) => w,
            Err(e) => return fail(e),
        };
        let taken = w.lock().unwrap_or_else(|p| p.into_inner()).take();
        match taken.map(PcapWriter::finish) {
            Some(Err(e)) => fail(e),
            _ => 0,
        }
    })
}

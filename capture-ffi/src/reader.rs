//! Capture files: format detection and the common reader interface.

use std::fs::File;
use std::io::Read;

use crate::chunks::ChunkReader;
use crate::error::{Error, Result, GENERIC, NOT_A_CAPTURE_FILE, NOT_PERMITTED};
use crate::pcapfile::{PcapReader, MAGIC_NS, MAGIC_US};
use crate::pcapng::{PcapngReader, BLOCK_SHB};

/// Largest record or block we accept; a larger length field means a corrupt file (libpcap's own
/// limit is 256 KiB per packet, pcapng blocks may carry options, hence the margin).
pub const MAX_RECORD: usize = 64 << 20;

/// A source of packets that fills batches.
pub trait PacketReader: Send {
    /// Appends records to `out` starting at `*pos`, advancing `*pos` and `*count`.
    /// Returns `Ok(true)` at the end of the stream, `Ok(false)` when the next record does not fit.
    /// On `Err`, the records already appended are complete and valid.
    fn fill_batch(&mut self, out: &mut [u8], pos: &mut usize, count: &mut u32) -> Result<bool>;
}

/// Maps an I/O error while reading.
pub fn io_error(e: std::io::Error) -> Error {
    Error::new(GENERIC, format!("read error: {e}"))
}

/// Opens a pcap or pcapng file.
pub fn open_file(path: &str) -> Result<Box<dyn PacketReader>> {
    let file = File::open(path).map_err(|e| {
        let code = match e.kind() {
            std::io::ErrorKind::PermissionDenied => NOT_PERMITTED,
            _ => GENERIC,
        };
        Error::new(code, format!("cannot open {path}: {e}"))
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::new(
            NOT_A_CAPTURE_FILE,
            format!("{path} is a directory"),
        ));
    }
    open_stream(file, path)
}

/// Detects the format of a stream by its first four bytes; `name` is used in messages.
pub fn open_stream<R: Read + Send + 'static>(
    inner: R,
    name: &str,
) -> Result<Box<dyn PacketReader>> {
    let mut r = ChunkReader::new(inner);
    r.fill(4).map_err(io_error)?;
    let head = r.avail();
    if head.len() < 4 {
        return Err(not_capture(name));
    }
    let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if le == BLOCK_SHB {
        return Ok(Box::new(PcapngReader::new(r)?));
    }
    if [MAGIC_US, MAGIC_NS]
        .iter()
        .any(|&m| le == m || le == m.swap_bytes())
    {
        return Ok(Box::new(PcapReader::new(r)?));
    }
    Err(not_capture(name))
}

fn not_capture(name: &str) -> Error {
    Error::new(
        NOT_A_CAPTURE_FILE,
        format!("{name} is not a capture file (neither pcap nor pcapng)"),
    )
}

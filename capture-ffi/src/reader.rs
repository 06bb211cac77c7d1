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

/// Makes `need` bytes available for a batch that holds `count` records: `Ok(None)` when the
/// source has paused (a quiet pipe) and the batch has records, which then go to the caller now
/// rather than when the writer next writes; else whether the bytes are there (`ChunkReader::fill`).
pub fn fill_for_batch<R: Read>(
    r: &mut ChunkReader<R>,
    need: usize,
    count: u32,
) -> Result<Option<bool>> {
    match r.fill_or_pause(need, count > 0) {
        Ok(full) => Ok(Some(full)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(io_error(e)),
    }
}

/// How long a pipe may be quiet before the records read so far are handed over.
const QUIET: i32 = 100;

/// A pipe, FIFO, socket or terminal as a capture source (`tcpdump -w - | pathspider observe -i
/// /dev/stdin`): a read that finds nothing within `QUIET` ms fails with `WouldBlock`, so that the
/// packets already read are observed while the writer is quiet (see `fill_for_batch`).
struct QuietPipe(File);

impl Read for QuietPipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&self.0),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, QUIET) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        self.0.read(buf)
    }
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
    let kind = file.metadata().map(|m| m.file_type());
    if kind.as_ref().map(|k| k.is_dir()).unwrap_or(false) {
        return Err(Error::new(
            NOT_A_CAPTURE_FILE,
            format!("{path} is a directory"),
        ));
    }
    if kind.map(|k| k.is_file()).unwrap_or(true) {
        open_stream(file, path)
    } else {
        open_stream(QuietPipe(file), path)
    }
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
    // a file header that cannot be read is named in the message, as other open errors are
    let named = |e: Error| Error::new(e.code, format!("{name}: {}", e.message));
    if le == BLOCK_SHB {
        return Ok(Box::new(PcapngReader::new(r).map_err(named)?));
    }
    if [MAGIC_US, MAGIC_NS]
        .iter()
        .any(|&m| le == m || le == m.swap_bytes())
    {
        return Ok(Box::new(PcapReader::new(r).map_err(named)?));
    }
    Err(not_capture(name))
}

fn not_capture(name: &str) -> Error {
    Error::new(
        NOT_A_CAPTURE_FILE,
        format!("{name} is not a capture file (neither pcap nor pcapng)"),
    )
}

//! Live capture on an interface (placeholder until the AF_PACKET ring lands).

use crate::error::{Error, Result, GENERIC};

/// A live capture.
pub struct LiveCapture {}

impl LiveCapture {
    /// Opens a capture on `iface`.
    pub fn open(iface: &str, _snaplen: u32, _ring_mib: u32, _filter: &str) -> Result<Self> {
        Err(Error::new(
            GENERIC,
            format!("live capture on {iface}: not implemented yet"),
        ))
    }

    /// Fills `out` with packets.
    pub fn next(&self, _out: &mut [u8], _timeout_ms: i32) -> Result<u32> {
        Err(Error::new(GENERIC, "not implemented"))
    }

    /// Counters.
    pub fn stats(&self) -> [u64; 3] {
        [0, 0, 0]
    }
}

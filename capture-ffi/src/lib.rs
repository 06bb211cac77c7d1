//! pathspider's native library: what TypeScript cannot do.
//!
//! Every exported function is `extern "C"`, returns a status (negative values are errors, see
//! [`error`]) and never panics across the boundary. `src/ffi/` in the TypeScript tree is the only
//! caller. Module map:
//! - `error`: status codes and the last-error message.
//! - `batch`: the packet batch record format shared with TypeScript.
//! - `live`: AF_PACKET capture (TPACKET ring, BPF filter, kernel drop counters).
//! - `pcapfile`: pcap / pcapng reading and pcap writing.
//! - `sock`: sockets with per-socket marking for the measurement engine.

pub mod error;

//! pathspider's native library: what TypeScript cannot do.
//!
//! Every exported function is `extern "C"`, returns a status (negative values are errors, see
//! [`error`]) and never panics across the boundary. `src/ffi/` in the TypeScript tree is the only
//! caller. Module map:
//! - `error`: status codes and the last-error message.
//! - `handles`: handle ids into object tables.
//! - `batch`: the packet batch record format shared with TypeScript.
//! - `capture`: the exported capture functions (live and file behind one handle type).
//! - `live`: AF_PACKET capture (TPACKET ring, kernel drop counters); `bpf`: its kernel filter.
//! - `chunks`, `reader`, `pcapfile`, `pcapng`: reading pcap / pcapng files; `readahead`: their
//!   reading on a thread of its own, ahead of the caller.
//! - `pcapwrite`: writing pcap files from batches.
//! - `sock*`: sockets with per-socket marking for the measurement engine.
//! - `raw`: raw IPv4/IPv6 send of forged packets (the forge model).
//! - `iface`: an interface's flags and addresses (getifaddrs).
//! - `nft`: the forge model's nftables table over netlink (no `nft` command).

pub mod batch;
pub mod bpf;
pub mod capture;
pub mod chunks;
pub mod error;
pub mod handles;
pub mod iface;
pub mod live;
pub mod nft;
pub mod pcapfile;
pub mod pcapng;
pub mod pcapwrite;
pub mod raw;
pub mod readahead;
pub mod reader;
pub mod sock;
pub mod sock_reactor;
pub mod sock_wire;

//! The routing graph, from Rapid Gossip Sync rather than P2P gossip: a tab cannot afford a full
//! gossip dump and its signature checks on every page load (tens of MB on mainnet), so the
//! wallet takes no gossip from its peers and downloads compact snapshots from the configured RGS
//! server instead (a full one the first time, then what changed since the stored timestamp).
//!
//! The graph is only ever used to find routes, never for safety: a snapshot that fails any check
//! is refused with [`crate::error::Error::GraphSyncFailed`] and the previous graph kept whole.
//!
//! Pure: [`rgs`] (URLs, limits, the checked apply). Browser: `sync` (the download loop).

pub mod rgs;
#[cfg(target_arch = "wasm32")]
pub mod sync;

pub use rgs::GraphSyncReport;

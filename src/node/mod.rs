//! The LDK node: its parts, how they are built and run, and what it tells JS.
//!
//! Pure parts (tested natively): the LDK config, the fee estimator, the claim decision and the
//! JIT hook, the scorer cell, peer addresses and backoff, the logger, and the JS events. The
//! browser parts (wasm32) build the node from the store ([`builder`]), handle LDK's events
//! ([`events`]), keep the LSP connected ([`peers`]), write the channel manager before peers
//! hear what it implies ([`write_ahead`]) and run the background tasks ([`background`]).

pub mod claim;
pub mod fee_estimator;
pub mod ldk_config;
pub mod logger;
pub mod peer_address;
pub mod relay_filter;
pub mod scorer;
pub mod stop_report;
pub mod tip;
pub mod wallet_event;

pub use claim::{decide, ClaimDecision, Claimable, JitHook};
pub use stop_report::StopReport;
pub use wallet_event::{ChannelInfo, WalletBalance, WalletEvent};

#[cfg(target_arch = "wasm32")]
pub mod background;
#[cfg(target_arch = "wasm32")]
pub mod broadcaster;
#[cfg(target_arch = "wasm32")]
pub mod builder;
#[cfg(target_arch = "wasm32")]
pub mod close;
#[cfg(target_arch = "wasm32")]
pub mod event_bus;
#[cfg(target_arch = "wasm32")]
pub mod events;
#[cfg(target_arch = "wasm32")]
pub mod fee_bump;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(target_arch = "wasm32")]
pub mod monitor_batch;
#[cfg(target_arch = "wasm32")]
pub mod onchain_send;
#[cfg(target_arch = "wasm32")]
pub mod peers;
#[cfg(target_arch = "wasm32")]
pub mod running;
#[cfg(target_arch = "wasm32")]
pub mod signals;
#[cfg(target_arch = "wasm32")]
pub mod tasks;
#[cfg(target_arch = "wasm32")]
pub mod types;
#[cfg(target_arch = "wasm32")]
pub mod write_ahead;

#[cfg(target_arch = "wasm32")]
pub use builder::{open, wallet_exists};
#[cfg(target_arch = "wasm32")]
pub use running::Node;

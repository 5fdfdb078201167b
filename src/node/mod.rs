//! The LDK node: its parts, how they are built and run, and what it tells JS.
//!
//! Pure parts (tested natively): the LDK config, the fee estimator, the claim decision and the
//! JIT hook, the scorer cell, peer addresses and backoff, the logger, and the JS events. The
//! browser parts (wasm32) build the node from the store ([`builder`]), handle LDK's events
//! ([`events`]), keep the LSP connected ([`peers`]) and run the background tasks
//! ([`background`]).

pub mod claim;
pub mod fee_estimator;
pub mod ldk_config;
pub mod logger;
pub mod peer_address;
pub mod scorer;
pub mod tip;
pub mod wallet_event;

pub use claim::{decide, ClaimDecision, Claimable, JitHook};
pub use wallet_event::{ChannelInfo, WalletEvent};

//! tabnode: a Lightning node in a browser tab.
//!
//! This crate builds natively and for `wasm32-unknown-unknown`. Pure logic (no I/O, no clock:
//! time is passed in) is unit-tested natively:
//! - [`error`]: the one error type, with stable codes for JS;
//! - [`config`]: the typed wallet config, its validation, presets and the devnet's endpoints;
//! - [`fee`]: the caller's LSP fee caps and checked msat arithmetic;
//! - [`lsp`]: the REST wrapped-invoice flow and LSPS2 checks, and the JIT receive state machine;
//! - [`chain`]: Esplora answers and their checks, and the chain sync that feeds LDK;
//! - [`onchain`]: the on-chain BDK wallet: descriptors, its stored record, Esplora answers turned
//!   into BDK updates (reorgs included).
//!
//! The browser I/O layer is wasm32 only where it touches the browser: [`store`] (IndexedDB +
//! Web Locks), [`net`] (websocket, fetch), the Esplora client, `time`, `spawn`.

pub mod chain;
pub mod config;
mod crash_point;
pub mod error;
pub mod fee;
pub mod gossip;
pub mod js_args;
pub mod keys;
pub mod lsp;
pub mod net;
pub mod node;
pub mod onchain;
pub mod payment;
pub mod store;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub mod js_error;
#[cfg(target_arch = "wasm32")]
pub mod spawn;
#[cfg(target_arch = "wasm32")]
pub mod time;

#[cfg(test)]
mod js_types;
#[cfg(test)]
mod test_util;

pub use error::Error;

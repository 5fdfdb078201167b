//! tabnode: a Lightning node in a browser tab.
//!
//! This crate builds natively and for `wasm32-unknown-unknown`. The modules here are pure logic
//! (no I/O, no clock: time is passed in as unix seconds), unit-tested natively:
//! - [`error`]: the one error type, with stable codes for JS;
//! - [`config`]: the typed wallet config, its validation, presets and the devnet's endpoints;
//! - [`fee`]: the caller's LSP fee caps and checked msat arithmetic;
//! - [`lsp`]: the REST wrapped-invoice flow and LSPS2 checks, and the JIT receive state machine.

pub mod config;
pub mod error;
pub mod fee;
pub mod lsp;

#[cfg(test)]
mod test_util;

pub use error::Error;

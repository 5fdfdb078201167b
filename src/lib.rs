//! tabnode: a Lightning node in a browser tab.
//!
//! The browser I/O layer: `store` (IndexedDB + Web Locks), `net` (websocket, fetch),
//! `chain` (Esplora client), `time`, `spawn`. Their pure parts (key rules, error types, Esplora
//! JSON parsing) build natively and are unit-tested there; the browser parts are wasm32 only.

pub mod chain;
pub mod net;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub mod spawn;
#[cfg(target_arch = "wasm32")]
pub mod time;

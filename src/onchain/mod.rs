//! The wallet's on-chain side: the address closes and sweeps pay to, its balance, and (wasm32)
//! the LDK `OutputSweeper` destination. BDK is not used: the wallet only receives on chain
//! (channel closes and sweeps) and reads its balance from Esplora script histories.

pub mod balance;

pub use balance::{balance, OnchainBalance};

#[cfg(target_arch = "wasm32")]
pub mod wallet;

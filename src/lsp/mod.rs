//! JIT channels from an LSP: the two protocols' rules and the durable receive state machine
//! (pure, tested natively), and (wasm32) the clients that drive them and the wallet's `receive`.

pub mod flow;
pub mod identity;
pub mod jit;
pub mod jit_invoice;
pub mod lsps2;
pub mod lsps_peek;
pub mod receive_rules;

#[cfg(target_arch = "wasm32")]
pub mod flow_client;
#[cfg(target_arch = "wasm32")]
pub mod identity_store;
#[cfg(target_arch = "wasm32")]
pub mod jit_store;
#[cfg(target_arch = "wasm32")]
pub mod lsps2_client;
#[cfg(target_arch = "wasm32")]
pub mod own_invoice;
#[cfg(target_arch = "wasm32")]
pub mod receive;

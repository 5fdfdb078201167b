//! JIT channels from an LSP: the two protocols' rules and the durable receive state machine
//! (pure), and (wasm32) the clients that drive them and the wallet's `receive`.

pub mod flow;
pub mod jit;
pub mod jit_invoice;
pub mod lsps2;
pub mod receive_rules;

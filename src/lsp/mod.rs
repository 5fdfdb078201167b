//! JIT channels from an LSP: the two protocols' rules and the durable receive state machine.

pub mod flow;
pub mod jit;
pub mod lsps2;

//! devnet: a local just-in-time-channel Lightning network for tabnode, on loopback only.

pub mod chain;
pub mod lsp_flow;

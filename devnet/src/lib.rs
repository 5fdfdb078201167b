//! devnet: a local just-in-time-channel Lightning network for tabnode, on loopback only.
//!
//! One process runs a regtest chain judged by Bitcoin Core's engine ([`chain`]), an LSPS2 LSP
//! ([`lsp_lsps2`], ldk-node), a REST wrapped-invoice LSP ([`lsp_flow`], raw LDK), a payer
//! ([`payer`]), a websocket-to-TCP proxy for browsers ([`proxy`]) and a control API
//! ([`control`]), all brought up in order by [`network::Devnet::start`].

pub mod chain;
pub mod clients;
pub mod control;
pub mod endpoints;
pub mod lsp_flow;
pub mod lsp_lsps2;
pub mod network;
pub mod node_websocket;
pub mod nodes;
pub mod origin;
pub mod payer;
pub mod proxy;
pub mod rgs;

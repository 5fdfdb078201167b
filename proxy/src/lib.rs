//! tabnode-proxy: a websocket-to-TCP proxy that lets browser Lightning wallets reach their peers.
//!
//! A browser has no TCP sockets, so a wallet in a tab speaks BOLT8 in websocket binary frames to
//! this proxy, which carries the bytes to a Lightning node's TCP port. The bytes are BOLT8
//! ciphertext end to end: the proxy reads nothing of the conversation and cannot change it
//! undetected. What it must guard is itself: a proxy that dials anything for anyone is an open
//! relay into the internet and into the network it runs in. So:
//! - targets come from an allow-list ([`target`]); names are resolved at connect and every
//!   address is checked against private, loopback and link-local ranges ([`public_address`]);
//! - pages come from an `Origin` allow-list ([`origin`]);
//! - connections are bounded in number, per client and in all ([`clients`], [`config::Limits`]),
//!   in idle time, in handshake time, in message size and in bytes carried;
//! - every connection and refusal is one structured log line ([`mod@serve`]).
//!
//! The binary (`tabnode-proxy --config FILE`) reads a TOML file ([`config`]); the devnet runs the
//! same [`serve()`] with a loopback configuration.

pub mod clients;
pub mod config;
pub mod origin;
pub mod public_address;
pub mod serve;
pub mod target;

pub use config::{Limits, ProxyConfig};
pub use serve::serve;
pub use target::{AllowList, Entry, Target};

//! The devnet's websocket proxy: the deployable `tabnode-proxy` server, run with a loopback
//! configuration. Browsers reach the devnet's LSP nodes through it exactly as they would reach a
//! public LSP through a deployed proxy; only the configuration differs:
//! - pages on loopback only (`Origin` on a loopback host, any port: the demo wallet and
//!   `wasm-pack test`'s run-time ports), and native clients without `Origin` (tests, benches);
//! - targets on loopback allowed (every devnet node is), from an allow-list the devnet fills with
//!   what a wallet must reach;
//! - every client is 127.0.0.1, so the per-client limit is the whole limit: 256 connections,
//!   closed after 5 min idle.
//!
//! URL form: `ws://HOST:PORT/v1/<ipv4 with '_' for '.'>/<port>` (see [`tabnode_proxy::target`]).

use std::net::SocketAddrV4;
use std::time::Duration;

use anyhow::Result;
use tabnode_proxy::origin::{OriginPolicy, OriginRule};
use tabnode_proxy::{Limits, ProxyConfig, Target};
use tokio::net::TcpListener;

pub use tabnode_proxy::AllowList;

/// The devnet's proxy configuration (see the module doc).
pub fn config() -> ProxyConfig {
    ProxyConfig {
        origins: OriginPolicy {
            rules: vec![OriginRule::Loopback],
            allow_missing: true,
        },
        allow_private_targets: true,
        trusted_proxies: Vec::new(),
        limits: Limits {
            max_connections: 256,
            max_connections_per_client: 256,
            idle_timeout: Duration::from_secs(300),
            ..Limits::default()
        },
    }
}

/// The path a browser uses to reach `target` through the proxy.
pub fn path_for(target: SocketAddrV4) -> String {
    Target::from(target).path()
}

/// Serves the devnet's proxy on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, allow: AllowList) -> Result<()> {
    tabnode_proxy::serve(listener, allow, config()).await
}

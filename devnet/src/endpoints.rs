//! The devnet's endpoints, as printed on start and written to the endpoints JSON file that the
//! browser tests, the demo wallet and `Config::from_devnet_endpoints` read.

use serde::{Deserialize, Serialize};

/// A node reachable over TCP on loopback.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeEndpoint {
    pub node_id: String,
    pub host: String,
    pub port: u16,
}

/// The REST (wrapped invoice) LSP: its API base URL and its node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlowEndpoint {
    /// Base URL; the API is under `/api/v1/`.
    pub url: String,
    pub node_id: String,
    pub host: String,
    pub port: u16,
}

/// Everything a client of the devnet needs to know.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Endpoints {
    /// Always "regtest".
    pub network: String,
    /// Esplora REST base URL (no trailing slash).
    pub esplora_url: String,
    /// A second Esplora server over the same chain, with its own faults (a wallet's
    /// `esploraFallbackUrl`).
    pub esplora_fallback_url: String,
    /// Control API base URL.
    pub control_url: String,
    /// Rapid Gossip Sync base URL: a client appends `/{last sync timestamp}` (0 the first time).
    pub rgs_url: String,
    /// Websocket proxy base URL; a node at 127.0.0.1:9735 is at `{proxy_url}/v1/127_0_0_1/9735`.
    pub proxy_url: String,
    pub flow_lsp: FlowEndpoint,
    pub lsps2_lsp: NodeEndpoint,
    /// The LSPS2 service on the REST LSP's own node (lightning-liquidity's service handler,
    /// with fault modes: `POST /lsps2-raw/fault`).
    pub lsps2_raw_lsp: NodeEndpoint,
    /// The same node's own websocket (BOLT8 in binary frames, no proxy in between: what a
    /// wallet's `lsp.websocketUrl` names), as Core Lightning serves with `bind-addr=ws:…`.
    pub flow_node_websocket_url: String,
    pub payer: NodeEndpoint,
    /// A public node reachable only over announced channels (from the payer and from the
    /// LSPS2 LSP): what a wallet pays on a route from the routing graph.
    pub merchant: NodeEndpoint,
}

impl Endpoints {
    /// The one screen printed on start.
    pub fn banner(&self) -> String {
        format!(
            "tabnode devnet (regtest) is up\n\
             \n  esplora     {}\
             \n  control     {}\
             \n  RGS         {}/<last sync timestamp>\
             \n  ws proxy    {}/v1/<ip with _>/<port>\
             \n  flow LSP    {}/api/v1/info\
             \n              {}@{}:{}\
             \n  LSPS2 LSP   {}@{}:{}\
             \n  LSPS2 raw   {}@{}:{}\
             \n              {} (its own websocket)\
             \n  payer       {}@{}:{}\
             \n  merchant    {}@{}:{}\n",
            self.esplora_url,
            self.control_url,
            self.rgs_url,
            self.proxy_url,
            self.flow_lsp.url,
            self.flow_lsp.node_id,
            self.flow_lsp.host,
            self.flow_lsp.port,
            self.lsps2_lsp.node_id,
            self.lsps2_lsp.host,
            self.lsps2_lsp.port,
            self.lsps2_raw_lsp.node_id,
            self.lsps2_raw_lsp.host,
            self.lsps2_raw_lsp.port,
            self.flow_node_websocket_url,
            self.payer.node_id,
            self.payer.host,
            self.payer.port,
            self.merchant.node_id,
            self.merchant.host,
            self.merchant.port,
        )
    }
}

//! The devnet's LSPS2 (bLIP-52) LSP: a real ldk-node 0.7 node with its LSPS2 service on.
//!
//! Nothing here re-implements LSPS2: ldk-node's own service answers `lsps2.get_info` and
//! `lsps2.buy`, intercepts the HTLC, opens the 0-conf channel and forwards with the fee skimmed.
//! The devnet only chooses its terms.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use ldk_node::liquidity::LSPS2ServiceConfig;
use serde::{Deserialize, Serialize};

use crate::nodes::{NodeSpec, RunningNode};

/// The LSP's terms, each a field of ldk-node's `LSPS2ServiceConfig`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lsps2Terms {
    /// A token clients must send in `lsps2.get_info`, if any.
    pub require_token: Option<String>,
    /// Proportional opening fee, parts per million of the payment.
    pub fee_ppm: u32,
    /// Minimum opening fee in msat.
    pub min_fee_msat: u64,
    /// How much larger than the forwarded amount the channel is, in ppm.
    pub over_provisioning_ppm: u32,
    /// Blocks the LSP promises to keep the channel open.
    pub min_channel_lifetime: u32,
    /// The largest `to_self_delay` the client may ask for.
    pub max_client_to_self_delay: u32,
    /// Smallest payment that may open a channel.
    pub min_payment_size_msat: u64,
    /// Largest payment that may open a channel.
    pub max_payment_size_msat: u64,
    /// bLIP-52 "client trusts LSP": the LSP holds the funding transaction until the client has
    /// claimed the payment.
    pub client_trusts_lsp: bool,
}

impl Default for Lsps2Terms {
    /// Terms of the order of today's public LSPs, small enough for devnet amounts.
    fn default() -> Self {
        Lsps2Terms {
            require_token: None,
            fee_ppm: 10_000,
            min_fee_msat: 1_000_000,
            over_provisioning_ppm: 1_000_000,
            min_channel_lifetime: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: 10_000_000,
            max_payment_size_msat: 100_000_000_000,
            client_trusts_lsp: false,
        }
    }
}

impl Lsps2Terms {
    fn service_config(&self) -> LSPS2ServiceConfig {
        LSPS2ServiceConfig {
            require_token: self.require_token.clone(),
            // Sets the LSPS bit (729) in its init: the wallet sells fixed-size (MPP) buys only to
            // an LSP that advertises LSPS, one-part invoices to the others (Core Lightning).
            advertise_service: true,
            channel_opening_fee_ppm: self.fee_ppm,
            channel_over_provisioning_ppm: self.over_provisioning_ppm,
            min_channel_opening_fee_msat: self.min_fee_msat,
            min_channel_lifetime: self.min_channel_lifetime,
            max_client_to_self_delay: self.max_client_to_self_delay,
            min_payment_size_msat: self.min_payment_size_msat,
            max_payment_size_msat: self.max_payment_size_msat,
            client_trusts_lsp: self.client_trusts_lsp,
        }
    }
}

/// Builds and starts the LSPS2 LSP.
pub fn start(spec: NodeSpec, terms: &Lsps2Terms) -> Result<Arc<RunningNode>> {
    let mut builder = spec.builder()?;
    builder.set_liquidity_provider_lsps2(terms.service_config());
    let node = builder
        .build()
        .map_err(|e| anyhow!("lsps2 lsp: build: {e:?}"))?;
    RunningNode::start(spec, node)
}

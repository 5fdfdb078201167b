//! A JSON-friendly snapshot of the flow LSP: identity, channels, on-chain funds, JIT records.

use lightning::ln::channel_state::ChannelDetails;
use serde::Serialize;

use super::fault::Fault;
use super::jit::JitSummary;

/// One channel as the status report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelStatus {
    pub channel_id: String,
    pub user_channel_id: String,
    pub counterparty: String,
    pub funding_txid: Option<String>,
    pub funding_vout: Option<u16>,
    /// The confirmed SCID, once the funding transaction is confirmed.
    pub short_channel_id: Option<u64>,
    /// The alias we use for this channel in our own messages/invoice hints.
    pub outbound_scid_alias: Option<u64>,
    /// The alias the counterparty gave us (what it puts in its invoices' route hints).
    pub inbound_scid_alias: Option<u64>,
    pub capacity_sat: u64,
    pub outbound_capacity_msat: u64,
    pub inbound_capacity_msat: u64,
    pub next_outbound_htlc_limit_msat: u64,
    pub is_outbound: bool,
    pub is_channel_ready: bool,
    pub is_usable: bool,
    pub is_announced: bool,
    pub confirmations: Option<u32>,
    pub confirmations_required: Option<u32>,
    /// HTLCs on the channel in either direction, committed or on their way in or out.
    pub pending_htlcs: usize,
}

impl From<&ChannelDetails> for ChannelStatus {
    fn from(c: &ChannelDetails) -> Self {
        ChannelStatus {
            channel_id: c.channel_id.to_string(),
            user_channel_id: c.user_channel_id.to_string(),
            counterparty: c.counterparty.node_id.to_string(),
            funding_txid: c.funding_txo.map(|o| o.txid.to_string()),
            funding_vout: c.funding_txo.map(|o| o.index),
            short_channel_id: c.short_channel_id,
            outbound_scid_alias: c.outbound_scid_alias,
            inbound_scid_alias: c.inbound_scid_alias,
            capacity_sat: c.channel_value_satoshis,
            outbound_capacity_msat: c.outbound_capacity_msat,
            inbound_capacity_msat: c.inbound_capacity_msat,
            next_outbound_htlc_limit_msat: c.next_outbound_htlc_limit_msat,
            is_outbound: c.is_outbound,
            is_channel_ready: c.is_channel_ready,
            is_usable: c.is_usable,
            is_announced: c.is_announced,
            confirmations: c.confirmations,
            confirmations_required: c.confirmations_required,
            pending_htlcs: c.pending_inbound_htlcs.len() + c.pending_outbound_htlcs.len(),
        }
    }
}

/// Snapshot returned by [`super::FlowLsp::status`].
#[derive(Clone, Debug, Serialize)]
pub struct FlowLspStatus {
    pub node_id: String,
    pub listen_addr: String,
    pub best_block_height: u32,
    pub funding_address: String,
    /// Coins a funding transaction may use now.
    pub onchain_spendable_sat: u64,
    /// All coins paying the funding address, immature and unconfirmed included.
    pub onchain_total_sat: u64,
    pub fault: Fault,
    pub peers: Vec<String>,
    pub channels: Vec<ChannelStatus>,
    pub jit: Vec<JitSummary>,
    /// The last transactions the chain refused to take from LDK, with Core's reason.
    pub broadcast_refusals: Vec<String>,
}

//! What the wallet tells JS: the `Balance` and `Channel` objects and the events of docs/js-api.md, as JSON
//! values (turned into plain JS objects at the boundary).
//!
//! Guarantees: every event has one of the documented type names and a `detail` of the
//! documented shape; nothing in a detail comes from a peer's free text (closure reasons and
//! failures are this crate's snake_case names).

use lightning::events::ClosureReason;
use lightning::ln::channel_state::ChannelDetails;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Error;
use crate::payment::PaymentRecord;

/// The `Balance` object of the JS API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletBalance {
    /// What the wallet would get if its channels closed now (whole sats, as msat).
    pub lightning_msat: u64,
    /// Confirmed on-chain funds (the BDK wallet's, as of its last sync).
    pub onchain_sat: u64,
    /// Unconfirmed on-chain funds (ours and others', trusted or not) and immature ones.
    pub onchain_pending_sat: u64,
    /// What the wallet can receive over its channels now.
    pub inbound_msat: u64,
    /// What the wallet keeps on chain to bump its anchor channels' closing fees: an on-chain
    /// send never goes below it. While `onchain_sat` is below it, a force close may wait for
    /// the LSP (or for its commitment's own feerate) to confirm.
    pub anchor_reserve_sat: u64,
}

/// The JS `Channel` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// Hex channel id.
    pub channel_id: String,
    /// The peer's node id.
    pub counterparty_node_id: String,
    /// Channel size.
    pub capacity_sat: u64,
    /// What the wallet can send now.
    pub outbound_msat: u64,
    /// What the wallet can receive now.
    pub inbound_msat: u64,
    /// Incoming HTLCs not settled yet (e.g. a payment held until its JIT claim completes),
    /// summed; saturating (it is information, not a balance).
    pub pending_inbound_msat: u64,
    /// Peer connected and channel ready.
    pub is_usable: bool,
    /// `channel_ready` exchanged (0-conf channels are ready before confirming).
    pub is_ready: bool,
    /// Confirmations of the funding transaction, when known.
    pub confirmations: Option<u32>,
    /// The confirmed SCID as `BLOCKxTXxOUTPUT`, once confirmed.
    pub short_channel_id: Option<String>,
    /// The funding transaction id.
    pub funding_txid: Option<String>,
    /// An anchor (`anchors_zero_fee_htlc_tx`) channel: the wallet's own force close is
    /// fee-bumped from its on-chain coins (without them its commitment goes out alone, at the
    /// feerate the LSP set).
    pub anchors: bool,
}

/// Formats an SCID as `block x tx x output`.
pub fn format_scid(scid: u64) -> String {
    format!(
        "{}x{}x{}",
        scid >> 40,
        (scid >> 16) & 0xFF_FFFF,
        scid & 0xFFFF
    )
}

impl ChannelInfo {
    /// From LDK's channel details.
    pub fn from_details(c: &ChannelDetails) -> ChannelInfo {
        ChannelInfo {
            channel_id: c.channel_id.to_string(),
            counterparty_node_id: c.counterparty.node_id.to_string(),
            capacity_sat: c.channel_value_satoshis,
            outbound_msat: c.outbound_capacity_msat,
            inbound_msat: c.inbound_capacity_msat,
            pending_inbound_msat: c
                .pending_inbound_htlcs
                .iter()
                .fold(0u64, |sum, h| sum.saturating_add(h.amount_msat)),
            is_usable: c.is_usable,
            is_ready: c.is_channel_ready,
            confirmations: c.confirmations,
            short_channel_id: c.short_channel_id.map(format_scid),
            funding_txid: c.funding_txo.map(|o| o.txid.to_string()),
            anchors: c
                .channel_type
                .as_ref()
                .is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx()),
        }
    }
}

/// Our name for why a channel closed (never the peer's message).
pub fn closure_reason_name(reason: &ClosureReason) -> &'static str {
    match reason {
        ClosureReason::CounterpartyForceClosed { .. } => "counterparty_force_closed",
        ClosureReason::HolderForceClosed { .. } => "force_closed",
        ClosureReason::LegacyCooperativeClosure
        | ClosureReason::CounterpartyInitiatedCooperativeClosure
        | ClosureReason::LocallyInitiatedCooperativeClosure => "cooperative",
        ClosureReason::CommitmentTxConfirmed => "commitment_confirmed",
        ClosureReason::FundingTimedOut => "funding_timed_out",
        ClosureReason::ProcessingError { .. } => "processing_error",
        ClosureReason::DisconnectedPeer => "peer_disconnected_before_funding",
        ClosureReason::OutdatedChannelManager => "outdated_state",
        ClosureReason::CounterpartyCoopClosedUnfundedChannel
        | ClosureReason::LocallyCoopClosedUnfundedChannel => "unfunded_closed",
        ClosureReason::FundingBatchClosure => "funding_batch_closed",
        ClosureReason::HTLCsTimedOut { .. } => "htlcs_timed_out",
        ClosureReason::PeerFeerateTooLow { .. } => "peer_feerate_too_low",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// One event for JS.
#[derive(Clone, Debug, PartialEq)]
pub enum WalletEvent {
    /// A receive moved on (`state`: invoice_ready, payment_arriving, channel_opening,
    /// channel_ready, awaiting_funding, claimed, failed, expired).
    ReceiveState {
        /// Hex payment hash.
        payment_hash: String,
        /// The new state.
        state: &'static str,
        /// Error of a failed receive.
        error: Option<Error>,
    },
    /// A payment was received.
    PaymentReceived(PaymentRecord),
    /// A payment was sent.
    PaymentSent(PaymentRecord),
    /// An outbound payment failed.
    PaymentFailed(PaymentRecord),
    /// A channel became ready.
    ChannelOpened(ChannelInfo),
    /// A channel closed.
    ChannelClosed {
        /// Hex channel id.
        channel_id: String,
        /// [`closure_reason_name`].
        reason: &'static str,
    },
    /// A chain sync finished at this height.
    Synced {
        /// Tip height.
        height: u32,
    },
    /// A peer connected or disconnected.
    Peer {
        /// Its node id.
        node_id: String,
        /// Whether it is connected now.
        connected: bool,
    },
    /// A routing graph sync (Rapid Gossip Sync) round started: `graph_synced` (or a
    /// `GRAPH_SYNC_FAILED` error) follows.
    GraphSyncStarted {
        /// A full snapshot (no graph stored yet).
        full: bool,
        /// The stored graph's timestamp the round asks changes since (0 for a full one).
        since: u32,
    },
    /// A routing graph sync (Rapid Gossip Sync) round succeeded.
    GraphSynced(crate::gossip::GraphSyncReport),
    /// Something failed outside any call.
    Error(Error),
}

impl WalletEvent {
    /// The event's type name for `addEventListener`.
    pub fn event_type(&self) -> &'static str {
        match self {
            WalletEvent::ReceiveState { .. } => "receive_state",
            WalletEvent::PaymentReceived(_) => "payment_received",
            WalletEvent::PaymentSent(_) => "payment_sent",
            WalletEvent::PaymentFailed(_) => "payment_failed",
            WalletEvent::ChannelOpened(_) => "channel_opened",
            WalletEvent::ChannelClosed { .. } => "channel_closed",
            WalletEvent::Synced { .. } => "synced",
            WalletEvent::Peer { .. } => "peer",
            WalletEvent::GraphSyncStarted { .. } => "graph_sync_started",
            WalletEvent::GraphSynced(_) => "graph_synced",
            WalletEvent::Error(_) => "error",
        }
    }

    /// The event's `detail`.
    pub fn detail(&self) -> Value {
        match self {
            WalletEvent::ReceiveState {
                payment_hash,
                state,
                error,
            } => {
                let mut v = json!({ "paymentHash": payment_hash, "state": state });
                if let Some(e) = error {
                    v["code"] = json!(e.code());
                    if let Some(r) = e.reason() {
                        v["reason"] = json!(r);
                    }
                }
                v
            }
            WalletEvent::PaymentReceived(p)
            | WalletEvent::PaymentSent(p)
            | WalletEvent::PaymentFailed(p) => p.to_js_json(),
            WalletEvent::ChannelOpened(c) => serde_json::to_value(c).expect("serializable"),
            WalletEvent::ChannelClosed { channel_id, reason } => {
                json!({ "channelId": channel_id, "reason": reason })
            }
            WalletEvent::Synced { height } => json!({ "height": height }),
            WalletEvent::Peer { node_id, connected } => {
                json!({ "nodeId": node_id, "connected": connected })
            }
            WalletEvent::GraphSyncStarted { full, since } => {
                json!({ "full": full, "since": since })
            }
            WalletEvent::GraphSynced(r) => serde_json::to_value(r).expect("serializable"),
            WalletEvent::Error(e) => error_detail(e),
        }
    }
}

/// `{ code, reason?, message, fatal }` for an error.
pub fn error_detail(e: &Error) -> Value {
    let mut v = json!({ "code": e.code(), "message": e.to_string(), "fatal": e.is_fatal() });
    if let Some(r) = e.reason() {
        v["reason"] = json!(r);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LspRejection;

    #[test]
    fn scid_format() {
        let scid = (700_123u64 << 40) | (1_234u64 << 16) | 1;
        assert_eq!(format_scid(scid), "700123x1234x1");
    }

    #[test]
    fn details_have_documented_shapes() {
        let e = WalletEvent::Error(Error::StorageCorrupt {
            what: "channel manager",
        });
        assert_eq!(e.event_type(), "error");
        let d = e.detail();
        assert_eq!(d["code"], "STORAGE_CORRUPT");
        assert_eq!(d["fatal"], true);
        assert!(d.get("reason").is_none());
        let d = error_detail(&Error::LspRejected(LspRejection::NoLiquidity));
        assert_eq!(d["reason"], "no_liquidity");
        assert_eq!(d["fatal"], false);

        let r = WalletEvent::ReceiveState {
            payment_hash: "00".into(),
            state: "failed",
            error: Some(Error::UnexpectedSkim { skimmed_msat: 1 }),
        };
        assert_eq!(
            r.detail(),
            json!({"paymentHash": "00", "state": "failed", "code": "UNEXPECTED_SKIM"})
        );
        let c = ChannelInfo {
            channel_id: "aa".into(),
            counterparty_node_id: "02".into(),
            capacity_sat: 1_000_000,
            outbound_msat: 0,
            inbound_msat: 990_000_000,
            pending_inbound_msat: 0,
            is_usable: true,
            is_ready: true,
            confirmations: None,
            short_channel_id: None,
            funding_txid: Some("bb".into()),
            anchors: true,
        };
        let d = WalletEvent::ChannelOpened(c).detail();
        assert_eq!(d["capacitySat"], 1_000_000);
        assert_eq!(d["shortChannelId"], Value::Null);
        assert_eq!(d["fundingTxid"], "bb");
        assert_eq!(d["anchors"], true);
        assert_eq!(
            WalletEvent::ChannelClosed {
                channel_id: "aa".into(),
                reason: "cooperative"
            }
            .detail(),
            json!({"channelId": "aa", "reason": "cooperative"})
        );
        assert_eq!(
            WalletEvent::Peer {
                node_id: "02".into(),
                connected: false
            }
            .event_type(),
            "peer"
        );
        assert_eq!(
            closure_reason_name(&ClosureReason::CounterpartyInitiatedCooperativeClosure),
            "cooperative"
        );
    }
}

//! One entry of the payment history, as stored (JSON in the store's `payments` namespace) and as
//! JS sees it (`Payment` in docs/js-api.md).
//!
//! Guarantees: a record's status only moves `pending → succeeded`, `pending → failed`,
//! `failed → pending` (a new attempt) and `failed → succeeded` (a late success); a succeeded
//! payment never becomes pending or failed again ([`PaymentRecord::apply`] refuses). `failure`
//! is always one of this crate's snake_case reasons, never text from a peer.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use lightning::events::PaymentFailureReason;
use lightning::routing::router::Path;

use crate::error::Error;
use crate::node::wallet_event::format_scid;

/// Which way the money went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received by the wallet.
    Inbound,
    /// Sent by the wallet.
    Outbound,
}

/// Where a payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Invoice issued (inbound) or payment in flight (outbound).
    Pending,
    /// Claimed (inbound) or settled (outbound).
    Succeeded,
    /// Failed, failed back, or expired.
    Failed,
}

/// How a receive got its channel, when it needed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViaJit {
    /// REST wrapped-invoice flow.
    Flow,
    /// LSPS2.
    Lsps2,
}

/// One path a sent payment took, as LDK reports it once the path settled
/// (`Event::PaymentPathSuccessful`): the nodes and channels after the wallet, what the path
/// delivered and what it cost. Over all paths, `amountMsat` sums to the payment's amount and
/// `feeMsat` to its fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPath {
    /// Each hop: its node and the channel into it (the first is the wallet's own channel).
    pub hops: Vec<PathHop>,
    /// Delivered to the payee over this path.
    pub amount_msat: u64,
    /// The routing fees of this path.
    pub fee_msat: u64,
}

impl PaymentPath {
    /// The path LDK reports (`Event::PaymentPathSuccessful`): its hops after the wallet, what it
    /// delivered (the last hop's value) and its fee (every other hop's).
    pub fn from_ldk(path: &Path) -> PaymentPath {
        PaymentPath {
            hops: path
                .hops
                .iter()
                .map(|h| PathHop {
                    node_id: h.pubkey.to_string(),
                    short_channel_id: format_scid(h.short_channel_id),
                })
                .collect(),
            amount_msat: path.final_value_msat(),
            fee_msat: path.fee_msat(),
        }
    }
}

/// One hop of a [`PaymentPath`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathHop {
    /// Hex node id.
    pub node_id: String,
    /// The channel into this node, `block x tx x output`.
    pub short_channel_id: String,
}

/// A stored payment. Field names are the JS `Payment`'s; `expiresAt` is stored but not part of
/// the JS shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// Hex payment hash.
    pub payment_hash: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Current status.
    pub status: PaymentStatus,
    /// Amount received, or sent to the payee (without fees).
    pub amount_msat: Option<u64>,
    /// Routing fees paid (outbound) or the LSP's opening fee (inbound via JIT).
    pub fee_msat: Option<u64>,
    /// Hex preimage once known.
    pub preimage: Option<String>,
    /// The BOLT11 invoice.
    pub invoice: Option<String>,
    /// The invoice's description.
    pub description: Option<String>,
    /// Unix ms of creation.
    pub created_at: u64,
    /// Unix ms of the last change.
    pub updated_at: u64,
    /// JIT protocol used to receive, if any.
    pub via_jit: Option<ViaJit>,
    /// Why it failed (snake_case, ours).
    pub failure: Option<String>,
    /// Unix ms after which an inbound invoice is no longer payable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The paths a sent payment took, once each settled (empty otherwise; absent from records
    /// stored before it existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PaymentPath>,
}

/// A change to a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentUpdate {
    /// A new attempt (outbound) was started.
    Retry,
    /// It succeeded: amount, fee (if known) and preimage.
    Succeeded {
        /// Amount received or delivered.
        amount_msat: Option<u64>,
        /// Fee paid.
        fee_msat: Option<u64>,
        /// Hex preimage.
        preimage: String,
    },
    /// It failed, with our reason.
    Failed {
        /// snake_case reason.
        reason: String,
    },
    /// One of its paths settled (LDK reports each once; a repeat is ignored).
    PathSucceeded(PaymentPath),
}

impl PaymentRecord {
    /// The store key: `in_<hash>` or `out_<hash>` (a payment hash can appear in both ways).
    pub fn store_key(&self) -> String {
        store_key(self.direction, &self.payment_hash)
    }

    /// Applies `update` at `now_ms`. Returns whether the record changed; an update a
    /// succeeded record must not take is an [`Error::InvalidStateTransition`].
    pub fn apply(&mut self, update: PaymentUpdate, now_ms: u64) -> Result<bool, Error> {
        let refuse = |trigger| Error::InvalidStateTransition {
            from: "succeeded",
            trigger,
        };
        match update {
            PaymentUpdate::Retry => match self.status {
                PaymentStatus::Succeeded => return Err(refuse("retry")),
                PaymentStatus::Pending => return Ok(false),
                PaymentStatus::Failed => {
                    self.status = PaymentStatus::Pending;
                    self.failure = None;
                }
            },
            PaymentUpdate::Succeeded {
                amount_msat,
                fee_msat,
                preimage,
            } => {
                if self.status == PaymentStatus::Succeeded {
                    return Ok(false);
                }
                self.status = PaymentStatus::Succeeded;
                if amount_msat.is_some() {
                    self.amount_msat = amount_msat;
                }
                if fee_msat.is_some() {
                    self.fee_msat = fee_msat;
                }
                self.preimage = Some(preimage);
                self.failure = None;
            }
            PaymentUpdate::PathSucceeded(path) => {
                if self.paths.contains(&path) {
                    return Ok(false);
                }
                self.paths.push(path);
            }
            PaymentUpdate::Failed { reason } => match self.status {
                PaymentStatus::Succeeded => return Err(refuse("failed")),
                PaymentStatus::Failed if self.failure.as_deref() == Some(reason.as_str()) => {
                    return Ok(false)
                }
                _ => {
                    self.status = PaymentStatus::Failed;
                    self.failure = Some(reason);
                }
            },
        }
        self.updated_at = now_ms.max(self.created_at);
        Ok(true)
    }

    /// The JS `Payment` object (docs/js-api.md): the stored fields minus `expiresAt`.
    pub fn to_js_json(&self) -> Value {
        json!({
            "paymentHash": self.payment_hash,
            "direction": self.direction,
            "status": self.status,
            "amountMsat": self.amount_msat,
            "feeMsat": self.fee_msat,
            "preimage": self.preimage,
            "invoice": self.invoice,
            "description": self.description,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "viaJit": self.via_jit,
            "failure": self.failure,
            "paths": self.paths,
        })
    }

    /// Encodes for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serializes")
    }

    /// Decodes what [`to_bytes`](Self::to_bytes) wrote; anything else is
    /// [`Error::StorageCorrupt`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PaymentRecord, Error> {
        serde_json::from_slice(bytes).map_err(|_| Error::StorageCorrupt {
            what: "payment record",
        })
    }
}

/// The store key of the payment `hash_hex` going `direction`.
pub fn store_key(direction: Direction, hash_hex: &str) -> String {
    match direction {
        Direction::Inbound => format!("in_{hash_hex}"),
        Direction::Outbound => format!("out_{hash_hex}"),
    }
}

/// Our snake_case text for LDK's reason of a failed outbound payment.
pub fn outbound_failure_reason(reason: Option<PaymentFailureReason>) -> &'static str {
    match reason {
        Some(PaymentFailureReason::RecipientRejected) => "recipient_rejected",
        Some(PaymentFailureReason::UserAbandoned) => "abandoned",
        Some(PaymentFailureReason::RetriesExhausted) => "retries_exhausted",
        Some(PaymentFailureReason::PaymentExpired) => "invoice_expired",
        Some(PaymentFailureReason::RouteNotFound) => "no_route",
        Some(PaymentFailureReason::UnexpectedError) => "unexpected_error",
        Some(PaymentFailureReason::UnknownRequiredFeatures) => "unknown_required_features",
        Some(PaymentFailureReason::InvoiceRequestExpired) => "invoice_request_expired",
        Some(PaymentFailureReason::InvoiceRequestRejected) => "invoice_request_rejected",
        Some(PaymentFailureReason::BlindedPathCreationFailed) => "blinded_path_creation_failed",
        None => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(direction: Direction) -> PaymentRecord {
        PaymentRecord {
            payment_hash: "ab".repeat(32),
            direction,
            status: PaymentStatus::Pending,
            amount_msat: Some(10_000_000),
            fee_msat: None,
            preimage: None,
            invoice: Some("lnbcrt1...".into()),
            description: Some("coffee".into()),
            created_at: 1_000,
            updated_at: 1_000,
            via_jit: None,
            failure: None,
            expires_at: Some(3_601_000),
            paths: Vec::new(),
        }
    }

    fn success() -> PaymentUpdate {
        PaymentUpdate::Succeeded {
            amount_msat: Some(10_000_000),
            fee_msat: Some(12),
            preimage: "cd".repeat(32),
        }
    }

    #[test]
    fn transitions() {
        let mut r = pending(Direction::Outbound);
        assert!(r
            .apply(
                PaymentUpdate::Failed {
                    reason: "no_route".into()
                },
                2_000
            )
            .unwrap());
        assert_eq!(r.status, PaymentStatus::Failed);
        assert_eq!(r.updated_at, 2_000);
        assert!(!r
            .apply(
                PaymentUpdate::Failed {
                    reason: "no_route".into()
                },
                3_000
            )
            .unwrap());
        assert!(r.apply(PaymentUpdate::Retry, 4_000).unwrap());
        assert_eq!(
            (r.status, r.failure.clone()),
            (PaymentStatus::Pending, None)
        );
        assert!(!r.apply(PaymentUpdate::Retry, 4_500).unwrap());
        assert!(r.apply(success(), 5_000).unwrap());
        assert_eq!(r.status, PaymentStatus::Succeeded);
        assert_eq!(r.fee_msat, Some(12));
        assert!(!r.apply(success(), 6_000).unwrap(), "replayed event");
        assert!(r.apply(PaymentUpdate::Retry, 7_000).is_err());
        assert!(r
            .apply(PaymentUpdate::Failed { reason: "x".into() }, 7_000)
            .is_err());
        assert_eq!(r.status, PaymentStatus::Succeeded);
        // A late success after a failure is taken.
        let mut late = pending(Direction::Outbound);
        late.apply(
            PaymentUpdate::Failed {
                reason: "retries_exhausted".into(),
            },
            2_000,
        )
        .unwrap();
        assert!(late.apply(success(), 3_000).unwrap());
        assert_eq!(late.failure, None);
    }

    #[test]
    fn store_and_js_shapes() {
        let r = pending(Direction::Inbound);
        assert_eq!(r.store_key(), format!("in_{}", "ab".repeat(32)));
        assert_eq!(store_key(Direction::Outbound, "ff"), "out_ff");
        assert_eq!(PaymentRecord::from_bytes(&r.to_bytes()).unwrap(), r);
        assert!(matches!(
            PaymentRecord::from_bytes(b"{\"nope\":1}"),
            Err(Error::StorageCorrupt { .. })
        ));
        let js = r.to_js_json();
        let keys: Vec<&str> = js.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut expected = vec![
            "amountMsat",
            "createdAt",
            "description",
            "direction",
            "failure",
            "feeMsat",
            "invoice",
            "paths",
            "paymentHash",
            "preimage",
            "status",
            "updatedAt",
            "viaJit",
        ];
        expected.sort();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort();
        assert_eq!(keys_sorted, expected);
        assert_eq!(js["direction"], "inbound");
        assert_eq!(js["status"], "pending");
        assert_eq!(js["viaJit"], Value::Null);
        assert_eq!(
            outbound_failure_reason(Some(PaymentFailureReason::RouteNotFound)),
            "no_route"
        );
    }

    #[test]
    fn settled_paths_are_kept_once_each_and_shown() {
        use bitcoin::secp256k1::PublicKey;
        use lightning::routing::router::RouteHop;
        use lightning::types::features::{ChannelFeatures, NodeFeatures};
        let hop = |n: u8, scid: u64, fee_msat: u64| RouteHop {
            pubkey: PublicKey::from_slice(&crate::test_util::pubkey(n).serialize()).unwrap(),
            node_features: NodeFeatures::empty(),
            short_channel_id: scid,
            channel_features: ChannelFeatures::empty(),
            fee_msat,
            cltv_expiry_delta: 40,
            maybe_announced_channel: true,
        };
        // Wallet -> LSP (fee 1 000 for the next channel) -> payer (fee 15) -> merchant (15 000 000).
        let path = Path {
            hops: vec![
                hop(1, (700 << 40) | (1 << 16), 1_000),
                hop(2, (701 << 40) | (2 << 16) | 1, 15),
                hop(3, (702 << 40) | (3 << 16), 15_000_000),
            ],
            blinded_tail: None,
        };
        let p = PaymentPath::from_ldk(&path);
        assert_eq!((p.amount_msat, p.fee_msat), (15_000_000, 1_015));
        assert_eq!(p.hops[1].short_channel_id, "701x2x1");
        assert_eq!(p.hops[2].node_id, crate::test_util::pubkey(3).to_string());

        let mut r = pending(Direction::Outbound);
        r.apply(success(), 2_000).unwrap();
        assert_eq!(
            r.apply(PaymentUpdate::PathSucceeded(p.clone()), 3_000),
            Ok(true)
        );
        assert_eq!(
            r.apply(PaymentUpdate::PathSucceeded(p.clone()), 4_000),
            Ok(false)
        );
        assert_eq!(r.paths, vec![p]);
        let js = r.to_js_json();
        assert_eq!(js["paths"][0]["amountMsat"], 15_000_000);
        assert_eq!(js["paths"][0]["hops"][0]["shortChannelId"], "700x1x0");
        // Stored and read back; a record stored before paths existed reads with none.
        assert_eq!(PaymentRecord::from_bytes(&r.to_bytes()).unwrap(), r);
        let old = pending(Direction::Inbound);
        let mut v: serde_json::Value = serde_json::from_slice(&old.to_bytes()).unwrap();
        assert!(v.get("paths").is_none());
        v.as_object_mut().unwrap().remove("paths");
        assert_eq!(
            PaymentRecord::from_bytes(v.to_string().as_bytes()).unwrap(),
            old
        );
    }
}

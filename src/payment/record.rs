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

use crate::error::Error;

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
}

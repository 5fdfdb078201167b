//! The LSP's record of one wrapped invoice and where its payment stands.

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::types::payment::PaymentHash;
use lightning_invoice::Bolt11Invoice;
use serde::Serialize;

use super::fault::Fault;

/// Where a JIT payment stands. Terminal states: `Settled`, `Failed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JitState {
    /// The wrapped invoice was issued; nothing received yet.
    AwaitingPayment,
    /// The payer's HTLC(s) arrived and are held.
    Held { received_msat: u64 },
    /// Waiting for the client to be connected.
    WaitingForClient,
    /// A channel to the client is being opened.
    OpeningChannel { user_channel_id: String },
    /// The client's invoice is being paid.
    PayingClient { payment_id: String },
    /// The client revealed the preimage; the held payment is being claimed.
    Claiming,
    /// The held payment was claimed.
    Settled { claimed_msat: u64 },
    /// The held payment was failed back (or never came and the record was abandoned).
    Failed { reason: String },
}

impl JitState {
    /// Whether the record has reached `Settled` or `Failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JitState::Settled { .. } | JitState::Failed { .. })
    }
}

/// Where the client said it can be reached (`host`/`port` of the proposal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientAddress {
    pub host: String,
    pub port: u16,
}

/// One wrapped invoice and its payment.
#[derive(Clone, Debug)]
pub struct JitRecord {
    /// Hash of the wrapped invoice (the inner one's unless the fault says otherwise).
    pub wrapped_hash: PaymentHash,
    pub client: PublicKey,
    pub client_address: Option<ClientAddress>,
    pub inner: Bolt11Invoice,
    pub wrapped: Bolt11Invoice,
    pub inner_amount_msat: u64,
    pub fee_msat: u64,
    pub wrapped_amount_msat: u64,
    /// The fault in force when the proposal was made; it governs this payment.
    pub fault: Fault,
    pub created_at: Duration,
    /// Block height at which LDK fails the held payment back (from `PaymentClaimable`).
    pub claim_deadline: Option<u32>,
    pub state: JitState,
}

/// A JSON-friendly view of a [`JitRecord`].
#[derive(Clone, Debug, Serialize)]
pub struct JitSummary {
    pub payment_hash: String,
    pub inner_payment_hash: String,
    pub client: String,
    pub inner_amount_msat: u64,
    pub fee_msat: u64,
    pub wrapped_amount_msat: u64,
    pub fault: Fault,
    pub created_at_secs: u64,
    #[serde(flatten)]
    pub state: JitState,
}

impl JitRecord {
    /// The summary of this record.
    pub fn summary(&self) -> JitSummary {
        JitSummary {
            payment_hash: self.wrapped_hash.to_string(),
            inner_payment_hash: self.inner.payment_hash().to_string(),
            client: self.client.to_string(),
            inner_amount_msat: self.inner_amount_msat,
            fee_msat: self.fee_msat,
            wrapped_amount_msat: self.wrapped_amount_msat,
            fault: self.fault,
            created_at_secs: self.created_at.as_secs(),
            state: self.state.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_and_json() {
        assert!(JitState::Settled { claimed_msat: 1 }.is_terminal());
        assert!(JitState::Failed { reason: "x".into() }.is_terminal());
        assert!(!JitState::Held { received_msat: 1 }.is_terminal());
        assert_eq!(
            serde_json::to_value(JitState::Held { received_msat: 5 }).unwrap(),
            serde_json::json!({"state":"held","received_msat":5})
        );
    }
}

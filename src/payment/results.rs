//! What `receive` and `pay` give JS (`ReceiveResult`, `PayResult`), serialized as they are: native
//! code, so src/js_types.rs holds their fields to the shipped TypeScript types.

use serde::Serialize;

/// What `receive` returns (the JS `ReceiveResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The BOLT11 invoice.
    pub invoice: String,
    /// Hex payment hash.
    pub payment_hash: String,
    /// "direct" here (JIT receives say "flow" or "lsps2").
    pub protocol: &'static str,
    /// The LSP's fee (0 for direct).
    pub fee_msat: u64,
    /// What the payer pays.
    pub amount_msat: Option<u64>,
    /// Unix ms.
    pub expires_at: u64,
}

/// What `pay` returns (the JS `PayResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    /// Hex payment hash.
    pub payment_hash: String,
    /// Hex preimage.
    pub preimage: String,
    /// Routing fees.
    pub fee_msat: u64,
    /// Delivered to the payee.
    pub amount_msat: u64,
}

//! The wallet's own invoice for a JIT receive (wasm32): a payment hash and secret registered with
//! LDK, and the node key's signature over a [`JitInvoiceSpec`].
//!
//! Guarantees: the payment secret stays valid at least as long as the invoice says (LDK dates
//! inbound payments by the newest block time it saw, so the same padding as the node's direct
//! receive is added); the invoice is signed by the node key and parses back.

use bitcoin::secp256k1::PublicKey;
use lightning::sign::{NodeSigner, Recipient};
use lightning_invoice::Bolt11Invoice;

use crate::error::Error;
use crate::lsp::jit_invoice::{build_raw, InboundPayment, JitInvoiceSpec};
use crate::node::running::Node;
use crate::node::tip::secret_expiry_padding;

/// Registers a new inbound payment with LDK, payable for `expiry_secs` from `now_secs`, at
/// least `min_value_msat` when given (LDK checks it against the payer's intended total). The
/// final CLTV delta LDK enforces on receipt is its normal one.
pub fn new_inbound_payment(
    node: &Node,
    min_value_msat: Option<u64>,
    expiry_secs: u32,
    now_secs: u64,
) -> Result<InboundPayment, Error> {
    let padding = secret_expiry_padding(now_secs, node.tip.header_time());
    let (payment_hash, payment_secret) = node
        .channel_manager
        .create_inbound_payment(min_value_msat, expiry_secs.saturating_add(padding), None)
        .map_err(|()| Error::InvalidAmount {
            reason: "refused by the node",
        })?;
    Ok(InboundPayment {
        payment_hash,
        payment_secret,
        timestamp_secs: now_secs,
    })
}

/// The wallet's node id (the payee of its own invoices).
pub fn payee(node: &Node) -> PublicKey {
    node.node_id
}

/// Builds and signs `spec` with the node key.
pub fn sign(node: &Node, spec: &JitInvoiceSpec) -> Result<Bolt11Invoice, Error> {
    let raw = build_raw(spec)?;
    let signature = node
        .keys
        .sign_invoice(&raw, Recipient::Node)
        .map_err(|()| Error::InvalidInvoice {
            reason: "the node could not sign it",
        })?;
    let signed = raw
        .sign::<_, ()>(|_| Ok(signature))
        .map_err(|()| Error::InvalidInvoice {
            reason: "the node could not sign it",
        })?;
    Bolt11Invoice::from_signed(signed).map_err(|_| Error::InvalidInvoice {
        reason: "the signed invoice is invalid",
    })
}

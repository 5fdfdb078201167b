//! The devnet's paying node: an ldk-node node with announced, confirmed channels to both LSPs.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use ldk_node::lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};
use ldk_node::Event;
use serde::Serialize;

use crate::nodes::{NodeSpec, RunningNode};

/// How long the payer waits for a payment to succeed or fail. Long enough for a JIT channel to be
/// opened (the REST LSP's "open late" fault included), short of the HTLC's own expiry.
pub const PAY_TIMEOUT: Duration = Duration::from_secs(120);

/// The outcome of one payment from the payer.
#[derive(Clone, Debug, Serialize)]
pub struct PayResult {
    /// "succeeded" or "failed".
    pub status: &'static str,
    pub payment_hash: String,
    /// Hex preimage, on success.
    pub preimage: Option<String>,
    /// Routing fees paid, msat, on success.
    pub fee_msat: Option<u64>,
    /// The amount sent to the payee, msat (excluding routing fees).
    pub amount_msat: u64,
    /// Why it failed, as LDK says, on failure.
    pub failure: Option<String>,
    /// From the call to `send` to the success or failure event.
    pub elapsed_ms: u64,
}

/// Builds and starts the payer.
pub fn start(spec: NodeSpec) -> Result<Arc<RunningNode>> {
    let node = spec
        .builder()?
        .build()
        .map_err(|e| anyhow!("payer: build: {e:?}"))?;
    RunningNode::start(spec, node)
}

/// Pays `invoice` (with `amount_msat` when the invoice has none) and waits for the outcome.
///
/// A payment that LDK refuses to start (no route, duplicate, bad invoice) is an `Err`; one that
/// starts and then fails is `Ok` with `status: "failed"`, so callers can see the LSP's behaviour.
pub async fn pay(
    payer: &RunningNode,
    invoice: &str,
    amount_msat: Option<u64>,
) -> Result<PayResult> {
    let invoice = Bolt11Invoice::from_str(invoice.trim())
        .map_err(|e| anyhow!("not a BOLT11 invoice: {e}"))?;
    let amount_msat = match (invoice.amount_milli_satoshis(), amount_msat) {
        (Some(a), None) => a,
        (Some(a), Some(b)) if a == b => a,
        (Some(a), Some(b)) => return Err(anyhow!("invoice is for {a} msat, asked to pay {b}")),
        (None, Some(b)) => b,
        (None, None) => return Err(anyhow!("invoice has no amount: give amount_msat")),
    };
    let mut events = payer.subscribe();
    let node = payer.node.clone();
    let started = Instant::now();
    let inv = invoice.clone();
    let payment_id = tokio::task::spawn_blocking(move || match inv.amount_milli_satoshis() {
        Some(_) => node.bolt11_payment().send(&inv, None),
        None => node
            .bolt11_payment()
            .send_using_amount(&inv, amount_msat, None),
    })
    .await?
    .map_err(|e| anyhow!("payer refused to send: {e:?}"))?;

    let outcome = RunningNode::wait_for(&mut events, PAY_TIMEOUT, |event| match event {
        Event::PaymentSuccessful {
            payment_id: Some(id),
            payment_preimage,
            fee_paid_msat,
            ..
        } if *id == payment_id => Some(Ok((*payment_preimage, *fee_paid_msat))),
        Event::PaymentFailed {
            payment_id: Some(id),
            reason,
            ..
        } if *id == payment_id => Some(Err(format!("{reason:?}"))),
        _ => None,
    })
    .await?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let payment_hash = invoice.payment_hash().to_string();
    Ok(match outcome {
        Ok((preimage, fee)) => PayResult {
            status: "succeeded",
            payment_hash,
            preimage: preimage.map(|p| p.to_string()),
            fee_msat: fee,
            amount_msat,
            failure: None,
            elapsed_ms,
        },
        Err(reason) => PayResult {
            status: "failed",
            payment_hash,
            preimage: None,
            fee_msat: None,
            amount_msat,
            failure: Some(reason),
            elapsed_ms,
        },
    })
}

/// An invoice of the payer's, for a wallet to pay.
pub fn invoice(payer: &RunningNode, amount_msat: u64, description: &str) -> Result<Bolt11Invoice> {
    let description =
        Description::new(description.to_owned()).map_err(|e| anyhow!("bad description: {e}"))?;
    payer
        .node
        .bolt11_payment()
        .receive(
            amount_msat,
            &Bolt11InvoiceDescription::Direct(description),
            3600,
        )
        .map_err(|e| anyhow!("payer: receive: {e:?}"))
}

/// Sends `amount_sat` on chain from the payer's wallet to `address` (a regtest address), at the
/// wallet's default feerate; the transaction is in the mempool when this returns.
pub async fn send_onchain(
    payer: &Arc<RunningNode>,
    address: &str,
    amount_sat: u64,
) -> Result<bitcoin::Txid> {
    let address = bitcoin::Address::from_str(address.trim())
        .map_err(|e| anyhow!("not an address: {e}"))?
        .require_network(bitcoin::Network::Regtest)
        .map_err(|e| anyhow!("not a regtest address: {e}"))?;
    let payer = payer.clone();
    tokio::task::spawn_blocking(move || {
        payer
            .node
            .sync_wallets()
            .map_err(|e| anyhow!("sync: {e:?}"))?;
        payer
            .node
            .onchain_payment()
            .send_to_address(&address, amount_sat, None)
            .map_err(|e| anyhow!("send: {e:?}"))
    })
    .await?
}

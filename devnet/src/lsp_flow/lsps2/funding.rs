//! Funding the service's JIT channels. An honest `buy` (`client_trusts_lsp: false`) has its
//! funding transaction broadcast at once, as any channel's. A `client_trusts_lsp` buy has it held
//! back, as bLIP-52 lets such an LSP and as ldk-node does: LDK is given it for manual broadcast,
//! lightning-liquidity stores it, and only once the opening fee has been collected (the client
//! claimed, revealing the preimage) and LDK says the funding is safe to broadcast does
//! lightning-liquidity broadcast it.
//!
//! For the tests, each held funding transaction is recorded with whether the chain (the devnet's
//! mempool or a block) had it just before and just after the fee was collected
//! ([`HeldFunding`], control `GET /lsps2-raw/held-funding`).

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Transaction, Txid};
use lightning::ln::types::ChannelId;
use lightning::util::errors::APIError;
use serde::Serialize;

use super::super::FlowLsp;

/// A funding transaction held back for a `client_trusts_lsp` buy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldFunding {
    /// The funding transaction.
    pub txid: Txid,
    /// Whether the chain had it just before the fee was collected (`None`: not collected yet).
    pub on_chain_before_fee: Option<bool>,
    /// Whether the chain had it just after.
    pub on_chain_after_fee: Option<bool>,
}

/// Hands LDK the funding transaction `tx` of the channel being opened as `user_channel_id`:
/// held back for a `client_trusts_lsp` buy, broadcast at once otherwise.
pub(crate) fn fund(
    lsp: &FlowLsp,
    temporary_channel_id: ChannelId,
    counterparty: PublicKey,
    user_channel_id: u128,
    tx: Transaction,
) -> Result<(), APIError> {
    let cm = &lsp.ldk.channel_manager;
    let handler = lsp.ldk.lsps2.liquidity.lsps2_service_handler();
    // `Err`: no LSPS2 channel (the REST flow's, or a control-API open): broadcast as usual.
    let held = handler
        .as_ref()
        .and_then(|h| {
            h.channel_needs_manual_broadcast(user_channel_id, &counterparty)
                .ok()
        })
        .unwrap_or(false);
    let Some(handler) = handler.filter(|_| held) else {
        return cm.funding_transaction_generated(temporary_channel_id, counterparty, tx);
    };
    let txid = tx.compute_txid();
    cm.funding_transaction_generated_manual_broadcast(
        temporary_channel_id,
        counterparty,
        tx.clone(),
    )?;
    handler.store_funding_transaction(user_channel_id, &counterparty, tx)?;
    tracing::info!(target: "lsp_flow::lsps2", %txid, peer = %counterparty,
        "client_trusts_lsp: funding held until the opening fee is collected");
    lsp.ldk.lsps2.held.lock().unwrap().insert(
        user_channel_id,
        HeldFunding {
            txid,
            on_chain_before_fee: None,
            on_chain_after_fee: None,
        },
    );
    Ok(())
}

/// LDK's `FundingTxBroadcastSafe`: lightning-liquidity may broadcast the held funding once the
/// fee is collected too.
pub(crate) fn on_broadcast_safe(lsp: &FlowLsp, user_channel_id: u128, counterparty: PublicKey) {
    if let Some(handler) = lsp.ldk.lsps2.liquidity.lsps2_service_handler() {
        if let Err(e) = handler.set_funding_tx_broadcast_safe(user_channel_id, &counterparty) {
            tracing::warn!(target: "lsp_flow::lsps2", "set_funding_tx_broadcast_safe: {e:?}");
        }
    }
}

/// Runs `collect` (handing lightning-liquidity the forwarded payment over `channel`, which
/// collects the fee and may broadcast a held funding transaction), recording for a held one
/// whether the chain had it before and after.
pub(crate) fn around_fee_collection(lsp: &FlowLsp, channel: ChannelId, collect: impl FnOnce()) {
    let user_channel_id = lsp
        .ldk
        .channel_manager
        .list_channels()
        .into_iter()
        .find(|c| c.channel_id == channel)
        .map(|c| c.user_channel_id);
    let txid = user_channel_id.and_then(|id| {
        let held = lsp.ldk.lsps2.held.lock().unwrap();
        held.get(&id)
            .filter(|h| h.on_chain_before_fee.is_none())
            .map(|h| h.txid)
    });
    let Some((id, txid)) = user_channel_id.zip(txid) else {
        collect();
        return;
    };
    let before = lsp.chain.get_tx(&txid).is_some();
    collect();
    let after = lsp.chain.get_tx(&txid).is_some();
    tracing::info!(target: "lsp_flow::lsps2", %txid, before, after, "held funding around the fee's collection");
    if let Some(h) = lsp.ldk.lsps2.held.lock().unwrap().get_mut(&id) {
        h.on_chain_before_fee = Some(before);
        h.on_chain_after_fee = Some(after);
    }
}

//! The `skim` fault: the client's invoice paid with part of its amount withheld, flagged as a
//! skimmed fee (`update_add_htlc` TLV 65537), the way an LSP that takes its fee twice would.
//!
//! LDK sets a skimmed fee only on a forwarded HTLC ([`ChannelManager::forward_intercepted_htlc`]
//! with less than the onion asks), never on a payment its node sends. So under this fault the
//! LSP does not pay the client itself: a second raw-LDK node, its *skim source*, with a channel
//! to the LSP, pays the client's invoice along `source -> LSP -> client`, the last hop through an
//! intercept SCID of the LSP. The LSP intercepts that HTLC and forwards `inner - msat` over the
//! JIT channel. The source's payment outcome (the client's preimage, or a failure) is the LSP's,
//! exactly as when it pays the invoice itself.
//!
//! [`ChannelManager::forward_intercepted_htlc`]: lightning::ln::channelmanager::ChannelManager::forward_intercepted_htlc

use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::{InterceptId, PaymentId, RecipientOnionFields, Retry};
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{PaymentParameters, RouteHint, RouteHintHop, RouteParameters};
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lightning_invoice::Bolt11Invoice;
use tokio::sync::oneshot;

use super::FlowLsp;

/// CLTV delta of the intercept hop in the source's route: LDK refuses to forward with less than
/// its `MIN_CLTV_EXPIRY_DELTA` (48); the default channel delta leaves room above it.
const INTERCEPT_HOP_CLTV_DELTA: u16 = 72;

/// An intercept SCID handed out for one skimmed payment: where to forward and what to keep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SkimForward {
    pub client: PublicKey,
    pub skim_msat: u64,
}

/// Pays `inner` (issued by `client`), `short_msat` below its amount (normally 0), through the
/// skim source and an intercept SCID of `lsp`, withholding `skim_msat` at the last hop. Returns
/// the client's preimage, or why it failed.
pub(crate) async fn pay_client_skimmed(
    lsp: &Arc<FlowLsp>,
    client: PublicKey,
    inner: &Bolt11Invoice,
    skim_msat: u64,
    short_msat: u64,
) -> Result<PaymentPreimage, String> {
    let scid = lsp.ldk.channel_manager.get_intercept_scid();
    lsp.state
        .lock()
        .unwrap()
        .skims
        .insert(scid, SkimForward { client, skim_msat });
    let result = pay_from_source(lsp, inner, scid, short_msat).await;
    lsp.state.lock().unwrap().skims.remove(&scid);
    result
}

/// Pays `inner`, a JIT invoice of the LSPS2 service on `lsp` (its route hint names the buy's
/// intercept SCID), `short_msat` below its amount through the skim source; the service, told the
/// SCID is short-paid, opens the channel and forwards the HTLC all the same, less its fee
/// (the service's `forward_short`).
pub(crate) async fn pay_lsps2_short(
    lsp: &Arc<FlowLsp>,
    inner: &Bolt11Invoice,
    scid: u64,
    short_msat: u64,
) -> Result<PaymentPreimage, String> {
    lsp.ldk.lsps2.mark_short(scid, true);
    let result = pay_from_source(lsp, inner, scid, short_msat).await;
    lsp.ldk.lsps2.mark_short(scid, false);
    result
}

/// The skim source pays `inner`, `short_msat` below its amount, along `source -> lsp -> payee`,
/// the last hop through `lsp`'s intercept SCID `scid` (which the caller has told `lsp` what to do
/// with, and forgets afterwards whatever the outcome).
async fn pay_from_source(
    lsp: &Arc<FlowLsp>,
    inner: &Bolt11Invoice,
    scid: u64,
    short_msat: u64,
) -> Result<PaymentPreimage, String> {
    let source = lsp
        .skim_source
        .get()
        .cloned()
        .ok_or("this LSP has no skim source node to pay from")?;
    let amount_msat = inner
        .amount_milli_satoshis()
        .ok_or("the client's invoice has no amount")?
        .checked_sub(short_msat)
        .ok_or("short_msat exceeds the invoice's amount")?;
    source
        .pay_through(inner, lsp.node_id(), scid, amount_msat)
        .await
}

/// Answers an intercepted HTLC: forwards `expected_outbound_amount_msat - skim_msat` to the
/// client over its usable channel when `scid` was handed out by [`pay_client_skimmed`], fails
/// it back otherwise.
pub(crate) fn on_intercepted(
    lsp: &FlowLsp,
    intercept_id: InterceptId,
    scid: u64,
    payment_hash: PaymentHash,
    expected_outbound_amount_msat: u64,
) {
    let cm = &lsp.ldk.channel_manager;
    let forward = lsp.state.lock().unwrap().skims.get(&scid).copied();
    let outcome = forward
        .ok_or_else(|| "no skimmed payment uses this SCID".to_string())
        .and_then(|f| {
            let channel = cm
                .list_channels_with_counterparty(&f.client)
                .into_iter()
                .find(|c| c.is_usable)
                .ok_or("no usable channel to the client")?;
            let amount = expected_outbound_amount_msat
                .checked_sub(f.skim_msat)
                .ok_or("the skim exceeds the payment")?;
            tracing::warn!(target: "lsp_flow", hash = %payment_hash, amount, skim = f.skim_msat,
            "fault skim: forwarding to the client with a fee withheld");
            cm.forward_intercepted_htlc(intercept_id, &channel.channel_id, f.client, amount)
                .map_err(|e| format!("forward_intercepted_htlc: {e:?}"))
        });
    if let Err(reason) = outcome {
        tracing::warn!(target: "lsp_flow", hash = %payment_hash, scid, %reason, "failing intercepted HTLC");
        let _ = cm.fail_intercepted_htlc(intercept_id);
    }
}

impl FlowLsp {
    /// Pays `invoice` (any invoice of a client with a usable channel to this LSP, e.g. a direct
    /// one over an existing channel) through the skim source and this LSP, withholding `skim_msat`
    /// at the last hop as a skimmed fee: an LSP skimming a payment that is no JIT receive.
    /// Returns the client's preimage, or why it failed.
    pub async fn pay_skimmed(
        self: &Arc<Self>,
        invoice: &Bolt11Invoice,
        skim_msat: u64,
    ) -> Result<PaymentPreimage, String> {
        let client = invoice.recover_payee_pub_key();
        pay_client_skimmed(self, client, invoice, skim_msat, 0).await
    }

    /// Pays `invoice` `short_msat` below its amount from the skim source through this LSP: an
    /// HTLC for less than the invoice. A JIT invoice of this node's LSPS2 service (its route
    /// hint names one of the service's buys) goes through that buy, the service opening the
    /// channel and forwarding it anyway, less its fee; any other invoice of a client with a
    /// usable channel to this LSP (a direct one) is forwarded as is over that channel.
    pub async fn pay_short(
        self: &Arc<Self>,
        invoice: &Bolt11Invoice,
        short_msat: u64,
    ) -> Result<PaymentPreimage, String> {
        let me = self.node_id();
        let buy_scid = invoice
            .route_hints()
            .iter()
            .flat_map(|h| h.0.iter())
            .filter(|hop| hop.src_node_id == me)
            .map(|hop| hop.short_channel_id)
            .find(|scid| self.ldk.lsps2.is_buy(*scid));
        match buy_scid {
            Some(scid) => pay_lsps2_short(self, invoice, scid, short_msat).await,
            None => {
                let client = invoice.recover_payee_pub_key();
                pay_client_skimmed(self, client, invoice, 0, short_msat).await
            }
        }
    }

    /// Makes `source` this LSP's skim source (see the module doc). `source` must have a usable
    /// channel to this LSP. Set once; a second call is ignored.
    pub fn set_skim_source(&self, source: Arc<FlowLsp>) {
        let _ = self.skim_source.set(source);
    }

    /// Pays `amount_msat` to `invoice`'s payee along `self -> hop -> payee`, the last hop
    /// through `hop`'s intercept SCID `scid`, and waits for the outcome. The amount is the
    /// payer's intended total (the onion's), whatever the invoice asks.
    async fn pay_through(
        &self,
        invoice: &Bolt11Invoice,
        hop: PublicKey,
        scid: u64,
        amount_msat: u64,
    ) -> Result<PaymentPreimage, String> {
        let payee = invoice.recover_payee_pub_key();
        let final_cltv = u32::try_from(invoice.min_final_cltv_expiry_delta())
            .map_err(|_| "final CLTV delta too large")?;
        let hint = RouteHint(vec![RouteHintHop {
            src_node_id: hop,
            short_channel_id: scid,
            fees: RoutingFees {
                base_msat: 0,
                proportional_millionths: 0,
            },
            cltv_expiry_delta: INTERCEPT_HOP_CLTV_DELTA,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }]);
        let params = PaymentParameters::from_node_id(payee, final_cltv)
            .with_route_hints(vec![hint])
            .and_then(|p| match invoice.features() {
                Some(features) => p.with_bolt11_features(features.clone()),
                None => Ok(p),
            })
            .map_err(|()| "cannot build the route parameters")?;
        let route_params = RouteParameters::from_payment_params_and_value(params, amount_msat);
        let payment_id = PaymentId(rand::random());
        let (tx, rx) = oneshot::channel();
        self.payment_waiters.lock().unwrap().insert(payment_id, tx);
        let hash = PaymentHash(invoice.payment_hash().to_byte_array());
        let onion = RecipientOnionFields::secret_only(*invoice.payment_secret());
        if let Err(e) = self.ldk.channel_manager.send_payment(
            hash,
            onion,
            payment_id,
            route_params,
            Retry::Attempts(0),
        ) {
            self.payment_waiters.lock().unwrap().remove(&payment_id);
            return Err(format!("skim source cannot send: {e:?}"));
        }
        rx.await
            .map_err(|_| "skim source shutting down".to_string())?
    }
}

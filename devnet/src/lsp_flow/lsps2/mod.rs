//! An LSPS2 (bLIP-52) JIT-channel service on the flow LSP's node, through lightning-liquidity's
//! own `LSPS2ServiceHandler` (the devnet's second LSPS2 LSP, beside ldk-node's): it answers
//! `lsps2.get_info` and `lsps2.buy`, hands out intercept SCIDs, and on `HTLCIntercepted` opens a
//! 0-conf channel to the client and forwards the payment with the opening fee skimmed. Honest by
//! default and exact to the msat; unlike ldk-node it can lie on purpose ([`Lsps2Fault`]), which
//! is what the wallet's LSPS2 checks are tested against.
//!
//! Files: `fault` (the lies), `funding` (funding broadcast at once, or held for
//! `client_trusts_lsp`), `messages` (the custom message handler, rewriting menu answers
//! for the lies lightning-liquidity cannot tell), `store` (its in-memory persistence).

pub mod fault;
pub(crate) mod funding;
mod messages;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::chain::Filter;
use lightning::events::HTLCHandlingFailureType;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::sign::KeysManager;
use lightning::types::payment::PaymentHash;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps2::event::LSPS2ServiceEvent;
use lightning_liquidity::lsps2::msgs::LSPS2RawOpeningFeeParams;
use lightning_liquidity::lsps2::service::LSPS2ServiceConfig;
use lightning_liquidity::lsps2::utils::compute_opening_fee;
use lightning_liquidity::utils::time::DefaultTimeProvider;
use lightning_liquidity::{LiquidityManagerSync, LiquidityServiceConfig};

pub use fault::Lsps2Fault;
pub(crate) use messages::FaultyLsps;
pub use messages::{rewrite, LONG_PROMISE_LEN};
use store::MemoryKvStore;

use super::ldk_glue::ChainBroadcaster;
use super::node::ChannelManager;
use super::FlowLsp;
use crate::lsp_lsps2::Lsps2Terms;

/// lightning-liquidity's manager as this node runs it.
pub(crate) type Liquidity = LiquidityManagerSync<
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<ChannelManager>,
    Arc<dyn Filter + Send + Sync>,
    Arc<MemoryKvStore>,
    DefaultTimeProvider,
    Arc<ChainBroadcaster>,
>;

/// The `lsp_cltv_expiry_delta` an honest `buy` answers (ldk-node's value).
pub const CLTV_EXPIRY_DELTA: u32 = 72;
/// How long a menu entry is valid when no fault says otherwise.
const OFFER_VALIDITY: Duration = Duration::from_secs(3600);
/// How long [`Lsps2Fault::NeverOpen`] holds an HTLC before failing it back.
const NEVER_OPEN_HOLD: Duration = Duration::from_secs(20);

/// One `buy` answered: the intercept SCID's client and what was agreed.
#[derive(Clone, Debug)]
struct Buy {
    client: PublicKey,
    user_channel_id: u128,
    min_fee_msat: u64,
    proportional: u32,
    payment_size_msat: Option<u64>,
}

/// An HTLC the service forwards itself (a fault's forward, not lightning-liquidity's), once the
/// channel opened as its `user_channel_id` is ready.
#[derive(Clone, Copy, Debug)]
struct ManualForward {
    intercept_id: InterceptId,
    client: PublicKey,
    amount_msat: u64,
}

/// The service's state beside lightning-liquidity's.
pub(crate) struct Lsps2Service {
    pub liquidity: Arc<Liquidity>,
    pub fault: Arc<Mutex<Lsps2Fault>>,
    terms: Lsps2Terms,
    buys: Mutex<HashMap<u64, Buy>>,
    manual: Mutex<HashMap<u128, ManualForward>>,
    /// Funding transactions held back for `client_trusts_lsp` buys, by `user_channel_id`.
    held: Mutex<HashMap<u128, funding::HeldFunding>>,
    /// Buys (intercept SCIDs) a control-API payment pays short: forwarded anyway.
    short: Mutex<std::collections::HashSet<u64>>,
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The `opening_fee_params_menu` for `terms` under `fault` at `now` (one entry, or none).
pub fn menu(terms: &Lsps2Terms, fault: Lsps2Fault, now: Duration) -> Vec<LSPS2RawOpeningFeeParams> {
    let valid_until = match fault {
        Lsps2Fault::ExpiredOffer => now.saturating_sub(Duration::from_secs(60)),
        Lsps2Fault::OfferExpiresIn { secs } => now + Duration::from_secs(secs),
        _ => now + OFFER_VALIDITY,
    };
    let mut entry = LSPS2RawOpeningFeeParams {
        min_fee_msat: terms.min_fee_msat,
        proportional: terms.fee_ppm,
        valid_until: LSPSDateTime::new_from_duration_since_epoch(valid_until),
        min_lifetime: terms.min_channel_lifetime,
        max_client_to_self_delay: terms.max_client_to_self_delay,
        min_payment_size_msat: terms.min_payment_size_msat,
        max_payment_size_msat: terms.max_payment_size_msat,
    };
    match fault {
        Lsps2Fault::EmptyMenu => return Vec::new(),
        Lsps2Fault::MinAboveMax => {
            entry.min_payment_size_msat = terms.max_payment_size_msat;
            entry.max_payment_size_msat = terms.min_payment_size_msat;
        }
        Lsps2Fault::FeeOverflow => {
            entry.proportional = u32::MAX;
            entry.max_payment_size_msat = u64::MAX;
        }
        _ => {}
    }
    vec![entry]
}

impl Lsps2Service {
    /// The liquidity manager over `channel_manager`, with the LSPS2 service on and advertised.
    pub(crate) fn new(
        keys: Arc<KeysManager>,
        channel_manager: Arc<ChannelManager>,
        broadcaster: Arc<ChainBroadcaster>,
        terms: Lsps2Terms,
    ) -> anyhow::Result<Self> {
        let service = LiquidityServiceConfig {
            lsps2_service_config: Some(LSPS2ServiceConfig {
                promise_secret: rand::random(),
            }),
            lsps5_service_config: None,
            advertise_service: true,
        };
        let liquidity = Liquidity::new(
            keys.clone(),
            keys,
            channel_manager,
            None,
            None,
            Arc::new(MemoryKvStore::default()),
            broadcaster,
            Some(service),
            None,
        )
        .map_err(|e| anyhow::anyhow!("liquidity manager: {e}"))?;
        Ok(Lsps2Service {
            liquidity: Arc::new(liquidity),
            fault: Arc::default(),
            terms,
            buys: Mutex::default(),
            manual: Mutex::default(),
            held: Mutex::default(),
            short: Mutex::default(),
        })
    }

    /// The custom message handler for the peer manager.
    pub(crate) fn message_handler(&self) -> FaultyLsps {
        FaultyLsps {
            liquidity: self.liquidity.clone(),
            fault: self.fault.clone(),
        }
    }

    /// The fault set now.
    pub(crate) fn current_fault(&self) -> Lsps2Fault {
        *self.fault.lock().unwrap()
    }

    /// Whether `scid` is the intercept SCID of a buy this service answered.
    pub(crate) fn is_buy(&self, scid: u64) -> bool {
        self.buys.lock().unwrap().contains_key(&scid)
    }

    /// Marks (or unmarks) the buy `scid` as paid short on purpose: its HTLC is forwarded anyway
    /// ([`forward_short`]).
    pub(crate) fn mark_short(&self, scid: u64, short: bool) {
        let mut set = self.short.lock().unwrap();
        if short {
            set.insert(scid);
        } else {
            set.remove(&scid);
        }
    }

    /// The funding transactions held back so far (`client_trusts_lsp`).
    pub(crate) fn held_funding(&self) -> Vec<funding::HeldFunding> {
        self.held.lock().unwrap().values().cloned().collect()
    }
}

/// Answers every pending LSPS2 service event of `lsp`.
pub(crate) fn process_events(lsp: &Arc<FlowLsp>) {
    let svc = &lsp.ldk.lsps2;
    while let Some(event) = svc.liquidity.next_event() {
        let LiquidityEvent::LSPS2Service(event) = event else {
            tracing::debug!(target: "lsp_flow::lsps2", ?event, "liquidity event not acted on");
            continue;
        };
        let Some(handler) = svc.liquidity.lsps2_service_handler() else {
            return;
        };
        let fault = svc.current_fault();
        match event {
            LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                token,
            } => {
                if svc.terms.require_token.is_some() && token != svc.terms.require_token {
                    let _ = handler.invalid_token_provided(&counterparty_node_id, request_id);
                    continue;
                }
                let menu = menu(&svc.terms, fault, now());
                tracing::info!(target: "lsp_flow::lsps2", peer = %counterparty_node_id, ?fault, "get_info answered");
                if let Err(e) =
                    handler.opening_fee_params_generated(&counterparty_node_id, request_id, menu)
                {
                    tracing::error!(target: "lsp_flow::lsps2", "opening_fee_params_generated: {e:?}");
                }
            }
            LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                opening_fee_params,
                payment_size_msat,
            } => {
                let scid = match fault {
                    Lsps2Fault::BuyScidZero => 0,
                    _ => lsp.ldk.channel_manager.get_intercept_scid(),
                };
                let cltv = match fault {
                    Lsps2Fault::BuyCltvDelta { delta } => delta,
                    _ => CLTV_EXPIRY_DELTA,
                };
                let trusts = svc.terms.client_trusts_lsp || fault == Lsps2Fault::ClientTrustsLsp;
                let user_channel_id: u128 = rand::random();
                svc.buys.lock().unwrap().insert(
                    scid,
                    Buy {
                        client: counterparty_node_id,
                        user_channel_id,
                        min_fee_msat: opening_fee_params.min_fee_msat,
                        proportional: opening_fee_params.proportional,
                        payment_size_msat,
                    },
                );
                tracing::info!(target: "lsp_flow::lsps2", peer = %counterparty_node_id, scid, cltv, trusts,
                    ?payment_size_msat, ?fault, "buy answered");
                if let Err(e) = handler.invoice_parameters_generated(
                    &counterparty_node_id,
                    request_id,
                    scid,
                    cltv,
                    trusts,
                    user_channel_id,
                ) {
                    tracing::error!(target: "lsp_flow::lsps2", "invoice_parameters_generated: {e:?}");
                }
            }
            LSPS2ServiceEvent::OpenChannel {
                their_network_key,
                amt_to_forward_msat,
                user_channel_id,
                ..
            } => {
                let delay = match fault {
                    Lsps2Fault::OpenLate { delay_secs } => Duration::from_secs(delay_secs),
                    _ => Duration::ZERO,
                };
                let lsp = lsp.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    open_jit_channel(
                        &lsp,
                        their_network_key,
                        amt_to_forward_msat,
                        user_channel_id,
                    );
                });
            }
        }
    }
}

/// Opens the JIT channel for `amt_to_forward_msat`: over-provisioned by the terms' ppm, private
/// with an SCID alias, zero forwarding fees (the opening fee pays for it).
fn open_jit_channel(
    lsp: &FlowLsp,
    client: PublicKey,
    amt_to_forward_msat: u64,
    user_channel_id: u128,
) {
    let ppm = lsp.ldk.lsps2.terms.over_provisioning_ppm as u64;
    let capacity_sat = amt_to_forward_msat
        .checked_mul(1_000_000 + ppm)
        .map(|m| m / 1_000_000 / 1000 + 1);
    let result = capacity_sat
        .ok_or_else(|| anyhow::anyhow!("channel size overflows"))
        .and_then(|sat| lsp.open_jit_channel(client, sat, user_channel_id));
    match result {
        Ok(()) => {
            tracing::info!(target: "lsp_flow::lsps2", peer = %client, ?capacity_sat, "JIT channel opening")
        }
        Err(e) => {
            tracing::error!(target: "lsp_flow::lsps2", peer = %client, "cannot open the JIT channel: {e}")
        }
    }
}

/// An intercepted HTLC: `false` when its SCID is no LSPS2 buy's (the caller fails it back).
/// Honest: lightning-liquidity decides (open, forward, or fail). Faults that change the HTLC's
/// fate are carried out here.
pub(crate) fn on_intercepted(
    lsp: &Arc<FlowLsp>,
    intercept_id: InterceptId,
    scid: u64,
    payment_hash: PaymentHash,
    expected_outbound_amount_msat: u64,
) -> bool {
    let svc = &lsp.ldk.lsps2;
    let Some(buy) = svc.buys.lock().unwrap().get(&scid).cloned() else {
        return false;
    };
    let cm = &lsp.ldk.channel_manager;
    if svc.short.lock().unwrap().contains(&scid) {
        forward_short(
            lsp,
            &buy,
            intercept_id,
            payment_hash,
            expected_outbound_amount_msat,
        );
        return true;
    }
    match svc.current_fault() {
        Lsps2Fault::IgnoreFixedSize if buy.payment_size_msat.is_some() => {
            tracing::warn!(target: "lsp_flow::lsps2", hash = %payment_hash, "fault ignore_fixed_size: failing back");
            let _ = cm.fail_intercepted_htlc(intercept_id);
        }
        Lsps2Fault::NeverOpen => {
            tracing::warn!(target: "lsp_flow::lsps2", hash = %payment_hash, "fault never_open: holding, no channel");
            let lsp = lsp.clone();
            tokio::spawn(async move {
                tokio::time::sleep(NEVER_OPEN_HOLD).await;
                let _ = lsp.ldk.channel_manager.fail_intercepted_htlc(intercept_id);
            });
        }
        Lsps2Fault::SkimAboveFee { extra_msat } => {
            if let Some(amount_msat) = forward_manually(
                lsp,
                &buy,
                intercept_id,
                expected_outbound_amount_msat,
                extra_msat,
            ) {
                tracing::warn!(target: "lsp_flow::lsps2", hash = %payment_hash, amount_msat, extra_msat,
                    "fault skim_above_fee: forwarding with more than the fee withheld");
            }
        }
        _ => {
            let Some(handler) = svc.liquidity.lsps2_service_handler() else {
                return false;
            };
            if let Err(e) = handler.htlc_intercepted(
                scid,
                intercept_id,
                expected_outbound_amount_msat,
                payment_hash,
            ) {
                tracing::warn!(target: "lsp_flow::lsps2", hash = %payment_hash, "htlc_intercepted: {e:?}");
            }
        }
    }
    true
}

/// An HTLC the control API paid short of its buy (an HTLC for less than the invoice):
/// lightning-liquidity would wait for the rest, so the service opens the channel itself and
/// forwards what arrived less the opening fee on the buy's size (the skim it is owed). The wallet
/// must refuse it (`UNDERPAID`).
fn forward_short(
    lsp: &FlowLsp,
    buy: &Buy,
    intercept_id: InterceptId,
    payment_hash: PaymentHash,
    expected_outbound_amount_msat: u64,
) {
    if let Some(amount_msat) =
        forward_manually(lsp, buy, intercept_id, expected_outbound_amount_msat, 0)
    {
        tracing::warn!(target: "lsp_flow::lsps2", hash = %payment_hash, amount_msat,
            "paid short: forwarding less than the buy's size (less the fee) anyway");
    }
}

/// Forwards an intercepted HTLC of `buy` itself, not through lightning-liquidity: withholds the
/// opening fee on the buy's size (or on what arrived, for a buy without one) plus `extra_msat`,
/// opens the JIT channel and forwards the rest once it is ready ([`on_channel_ready`]). Returns
/// the amount forwarded; `None` (the HTLC failed back) when the withholding exceeds the HTLC.
fn forward_manually(
    lsp: &FlowLsp,
    buy: &Buy,
    intercept_id: InterceptId,
    expected_outbound_amount_msat: u64,
    extra_msat: u64,
) -> Option<u64> {
    let size = buy
        .payment_size_msat
        .unwrap_or(expected_outbound_amount_msat);
    let amount = compute_opening_fee(size, buy.min_fee_msat, buy.proportional as u64)
        .and_then(|fee| fee.checked_add(extra_msat))
        .and_then(|withheld| expected_outbound_amount_msat.checked_sub(withheld));
    let Some(amount_msat) = amount else {
        let _ = lsp.ldk.channel_manager.fail_intercepted_htlc(intercept_id);
        return None;
    };
    lsp.ldk.lsps2.manual.lock().unwrap().insert(
        buy.user_channel_id,
        ManualForward {
            intercept_id,
            client: buy.client,
            amount_msat,
        },
    );
    open_jit_channel(lsp, buy.client, amount_msat, buy.user_channel_id);
    Some(amount_msat)
}

/// A channel became ready: a fault's held HTLC is forwarded, else lightning-liquidity is told.
pub(crate) fn on_channel_ready(
    lsp: &FlowLsp,
    user_channel_id: u128,
    channel_id: &ChannelId,
    counterparty: &PublicKey,
) {
    let svc = &lsp.ldk.lsps2;
    if let Some(f) = svc.manual.lock().unwrap().remove(&user_channel_id) {
        if let Err(e) = lsp.ldk.channel_manager.forward_intercepted_htlc(
            f.intercept_id,
            channel_id,
            f.client,
            f.amount_msat,
        ) {
            tracing::error!(target: "lsp_flow::lsps2", "forward_intercepted_htlc: {e:?}");
            let _ = lsp
                .ldk
                .channel_manager
                .fail_intercepted_htlc(f.intercept_id);
        }
        return;
    }
    if let Some(handler) = svc.liquidity.lsps2_service_handler() {
        // Not an LSPS2 channel: lightning-liquidity says so, nothing to do.
        let _ = handler.channel_ready(user_channel_id, channel_id, counterparty);
    }
}

/// An HTLC failed: lightning-liquidity retries or abandons the JIT channel's forwards.
pub(crate) fn on_htlc_handling_failed(lsp: &FlowLsp, failure_type: HTLCHandlingFailureType) {
    if let Some(handler) = lsp.ldk.lsps2.liquidity.lsps2_service_handler() {
        let _ = handler.htlc_handling_failed(failure_type);
    }
}

/// A payment was forwarded: lightning-liquidity settles the JIT channel's fee.
pub(crate) fn on_payment_forwarded(
    lsp: &FlowLsp,
    next_channel_id: Option<ChannelId>,
    skimmed_fee_msat: Option<u64>,
) {
    let (Some(channel), Some(handler)) = (
        next_channel_id,
        lsp.ldk.lsps2.liquidity.lsps2_service_handler(),
    ) else {
        return;
    };
    funding::around_fee_collection(lsp, channel, || {
        let _ = handler.payment_forwarded(channel, skimmed_fee_msat.unwrap_or(0));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_per_fault() {
        let terms = Lsps2Terms::default();
        let now = Duration::from_secs(1_800_000_000);
        let honest = menu(&terms, Lsps2Fault::None, now);
        assert_eq!(honest.len(), 1);
        assert_eq!(honest[0].min_fee_msat, terms.min_fee_msat);
        assert_eq!(honest[0].proportional, terms.fee_ppm);
        assert_eq!(
            honest[0].valid_until,
            LSPSDateTime::new_from_duration_since_epoch(now + OFFER_VALIDITY)
        );
        assert!(menu(&terms, Lsps2Fault::EmptyMenu, now).is_empty());
        let expired = &menu(&terms, Lsps2Fault::ExpiredOffer, now)[0];
        assert_eq!(
            expired.valid_until,
            LSPSDateTime::new_from_duration_since_epoch(now - Duration::from_secs(60))
        );
        let soon = &menu(&terms, Lsps2Fault::OfferExpiresIn { secs: 5 }, now)[0];
        assert_eq!(
            soon.valid_until,
            LSPSDateTime::new_from_duration_since_epoch(now + Duration::from_secs(5))
        );
        let swapped = &menu(&terms, Lsps2Fault::MinAboveMax, now)[0];
        assert!(swapped.min_payment_size_msat > swapped.max_payment_size_msat);
        let overflow = &menu(&terms, Lsps2Fault::FeeOverflow, now)[0];
        assert_eq!(
            compute_opening_fee(
                overflow.max_payment_size_msat,
                overflow.min_fee_msat,
                overflow.proportional as u64
            ),
            None
        );
    }
}

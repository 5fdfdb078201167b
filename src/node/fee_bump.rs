//! Anchor channels' fee bumps: LDK's `BumpTransactionEventHandler` with the on-chain (BDK)
//! wallet as its coin source ([`crate::onchain::coins`]), and what happens when the wallet has
//! no coins.
//!
//! Why it is needed: an anchor (`anchors_zero_fee_htlc_tx`) channel's commitment is signed at a
//! low feerate chosen when it was signed, and its HTLC transactions carry no fee at all; LDK
//! does not broadcast either by itself, it asks through `Event::BumpTransaction` for a CPFP
//! child (commitment) or added inputs (HTLC transactions), paid from the wallet's on-chain
//! coins.
//!
//! Guarantees of [`FeeBumper::handle`]:
//! - with confirmed coins, the commitment goes out with a child that brings the package to
//!   LDK's target feerate (`UrgentOnChainSweep`), broadcast in that order; a commitment already
//!   at the target goes out alone;
//! - without coins enough (or a refused signature), a commitment still goes out alone at its
//!   own feerate, logged as a warning: the LSP set that feerate when it funded the channel, so
//!   it relays whenever the network's floor is below it, and the LSP (whose funds are in it)
//!   can bump it with its own anchor. HTLC transactions cannot go out without coins; LDK asks
//!   again at every block, so they go out once the wallet has coins;
//! - except when the LSP force-closed ([`FeeBumper::note_counterparty_force_close`]): then a
//!   wallet without coins waits up to [`COINLESS_DEFER_BLOCKS`] blocks for the LSP's commitment
//!   before putting its own out alone. The LSP's is the better one to confirm for such a wallet:
//!   its claims from it (an HTLC with the preimage, its balance) pay their own fees, while from
//!   its own commitment an HTLC needs an HTLC transaction paid from coins it does not have.
//!   Racing it could only make the wallet's own win (seen on the devnet: the held HTLC then
//!   stayed unclaimable).

use core::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use bitcoin::{Psbt, Transaction, TxOut};
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning::chain::ClaimId;
use lightning::events::bump_transaction::{
    BumpTransactionEvent, BumpTransactionEventHandler, CoinSelection, CoinSelectionSource, Input,
    Wallet,
};
use lightning::ln::types::ChannelId;
use lightning::util::async_poll::AsyncResult;
use lightning::util::logger::Level;

use super::broadcaster::Broadcaster;
use super::logger::{wallet_log, NodeLogger};
use super::tip::TipTracker;
use super::types::{Keys, Logger};
use crate::onchain::coins::BumpCoins;
use crate::onchain::wallet::OnchainWallet;

/// LDK's coin selection over the wallet's coins, remembering whether the last bump found none.
pub struct Coins {
    inner: Wallet<Rc<BumpCoins>, Logger>,
    failed: Cell<bool>,
}

impl CoinSelectionSource for Coins {
    fn select_confirmed_utxos<'a>(
        &'a self,
        claim_id: ClaimId,
        must_spend: Vec<Input>,
        must_pay_to: &'a [TxOut],
        target_feerate_sat_per_1000_weight: u32,
        max_tx_weight: u64,
    ) -> AsyncResult<'a, CoinSelection, ()> {
        Box::pin(async move {
            let selected = self
                .inner
                .select_confirmed_utxos(
                    claim_id,
                    must_spend,
                    must_pay_to,
                    target_feerate_sat_per_1000_weight,
                    max_tx_weight,
                )
                .await;
            if selected.is_err() {
                self.failed.set(true);
            }
            selected
        })
    }

    fn sign_psbt<'a>(&'a self, psbt: Psbt) -> AsyncResult<'a, Transaction, ()> {
        Box::pin(async move {
            let signed = self.inner.sign_psbt(psbt).await;
            if signed.is_err() {
                self.failed.set(true);
            }
            signed
        })
    }
}

/// Blocks a wallet without coins waits for the LSP's commitment after the LSP force-closed,
/// before it puts its own out alone (about an hour on mainnet; the held HTLCs' expiry is
/// further away than that: LDK force-closes at least `CLTV_CLAIM_BUFFER` blocks before it).
pub const COINLESS_DEFER_BLOCKS: u32 = 6;

/// Handles `Event::BumpTransaction`.
pub struct FeeBumper {
    handler: BumpTransactionEventHandler<Arc<Broadcaster>, Rc<Coins>, Keys, Logger>,
    coins: Rc<Coins>,
    broadcaster: Arc<Broadcaster>,
    logger: Logger,
    onchain: Arc<OnchainWallet>,
    tip: Arc<TipTracker>,
    /// Channels the LSP force-closed, with the height its first coinless bump was deferred at.
    counterparty_closed: RefCell<HashMap<ChannelId, Option<u32>>>,
}

impl FeeBumper {
    /// Bumps with `onchain`'s coins, signs anchors and HTLC inputs with `keys`, broadcasts
    /// through `broadcaster`; `tip` dates the deferral of a coinless commitment.
    pub fn new(
        onchain: Arc<OnchainWallet>,
        broadcaster: Arc<Broadcaster>,
        keys: Keys,
        logger: Logger,
        tip: Arc<TipTracker>,
    ) -> FeeBumper {
        let coins = Rc::new(Coins {
            inner: Wallet::new(Rc::new(BumpCoins(onchain.clone())), logger.clone()),
            failed: Cell::new(false),
        });
        FeeBumper {
            handler: BumpTransactionEventHandler::new(
                broadcaster.clone(),
                coins.clone(),
                keys,
                logger.clone(),
            ),
            coins,
            broadcaster,
            logger,
            onchain,
            tip,
            counterparty_closed: RefCell::new(HashMap::new()),
        }
    }

    /// The LSP force-closed `channel_id` (LDK's `ChannelClosed` with
    /// `CounterpartyForceClosed`, which LDK hands out before that channel's first bump event):
    /// a commitment of this wallet's that it cannot bump waits for the LSP's (module doc).
    pub fn note_counterparty_force_close(&self, channel_id: ChannelId) {
        self.counterparty_closed
            .borrow_mut()
            .entry(channel_id)
            .or_insert(None);
    }

    /// Whether a coinless commitment of `channel_id` should wait for the LSP's now.
    fn defer_coinless(&self, channel_id: &ChannelId) -> bool {
        let mut closed = self.counterparty_closed.borrow_mut();
        let Some(since) = closed.get_mut(channel_id) else {
            return false;
        };
        let Some(height) = self.tip.height() else {
            return true;
        };
        let first = *since.get_or_insert(height);
        height < first.saturating_add(COINLESS_DEFER_BLOCKS)
    }

    /// Handles one event (LDK hands them out one at a time).
    pub async fn handle(&self, event: &BumpTransactionEvent) {
        // A commitment at or above LDK's target goes out without coins, so the coinless case
        // is decided here too, before LDK's handler: with HTLCs on it and no coins to pay
        // their transactions, this wallet's own commitment is the one it must not race in.
        if let BumpTransactionEvent::ChannelClose {
            channel_id,
            pending_htlcs,
            ..
        } = event
        {
            let no_coins = self.onchain.balance().is_ok_and(|b| b.confirmed_sat == 0);
            if !pending_htlcs.is_empty() && no_coins && self.defer_coinless(channel_id) {
                self.log_deferred(channel_id);
                return;
            }
        }
        self.coins.failed.set(false);
        self.handler.handle_event(event).await;
        if !self.coins.failed.get() {
            return;
        }
        match event {
            BumpTransactionEvent::ChannelClose {
                channel_id,
                commitment_tx,
                commitment_tx_fee_satoshis,
                package_target_feerate_sat_per_1000_weight,
                ..
            } => {
                if self.defer_coinless(channel_id) {
                    self.log_deferred(channel_id);
                    return;
                }
                self.log(
                    Level::Warn,
                    &format!(
                        "no confirmed on-chain coins free to bump the commitment of channel {channel_id} to {package_target_feerate_sat_per_1000_weight} sat/kw: broadcasting it alone ({commitment_tx_fee_satoshis} sat fee, {} vB)",
                        commitment_tx.vsize()
                    ),
                );
                self.broadcaster.broadcast_transactions(&[commitment_tx]);
            }
            BumpTransactionEvent::HTLCResolution {
                channel_id,
                htlc_descriptors,
                ..
            } => self.log(
                Level::Warn,
                &format!(
                    "no confirmed on-chain coins free for the fees of {} HTLC transaction(s) of channel {channel_id}: retried at the next block",
                    htlc_descriptors.len()
                ),
            ),
        }
    }

    fn log_deferred(&self, channel_id: &ChannelId) {
        self.log(
            Level::Info,
            &format!(
                "the LSP force-closed channel {channel_id} and this wallet has no coins for its own commitment's claims: waiting for the LSP's (at most {COINLESS_DEFER_BLOCKS} blocks)"
            ),
        );
    }

    fn log(&self, level: Level, message: &str) {
        let logger: &NodeLogger = &self.logger;
        wallet_log(logger, level, message);
    }
}

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
//!   again at every block, so they go out once the wallet has coins.

use core::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use bitcoin::{Psbt, Transaction, TxOut};
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning::chain::ClaimId;
use lightning::events::bump_transaction::{
    BumpTransactionEvent, BumpTransactionEventHandler, CoinSelection, CoinSelectionSource, Input,
    Wallet,
};
use lightning::util::async_poll::AsyncResult;
use lightning::util::logger::Level;

use super::broadcaster::Broadcaster;
use super::logger::{wallet_log, NodeLogger};
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

/// Handles `Event::BumpTransaction`.
pub struct FeeBumper {
    handler: BumpTransactionEventHandler<Arc<Broadcaster>, Rc<Coins>, Keys, Logger>,
    coins: Rc<Coins>,
    broadcaster: Arc<Broadcaster>,
    logger: Logger,
}

impl FeeBumper {
    /// Bumps with `onchain`'s coins, signs anchors and HTLC inputs with `keys`, broadcasts
    /// through `broadcaster`.
    pub fn new(
        onchain: Arc<OnchainWallet>,
        broadcaster: Arc<Broadcaster>,
        keys: Keys,
        logger: Logger,
    ) -> FeeBumper {
        let coins = Rc::new(Coins {
            inner: Wallet::new(Rc::new(BumpCoins(onchain)), logger.clone()),
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
        }
    }

    /// Handles one event (LDK hands them out one at a time).
    pub async fn handle(&self, event: &BumpTransactionEvent) {
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

    fn log(&self, level: Level, message: &str) {
        let logger: &NodeLogger = &self.logger;
        wallet_log(logger, level, message);
    }
}

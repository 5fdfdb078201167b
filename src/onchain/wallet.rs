//! The on-chain wallet in the browser (wasm32): [`OnchainState`] with its record in the
//! wallet's store, synced over the wallet's Esplora client, and the destination of LDK's
//! `OutputSweeper`.
//!
//! Guarantees:
//! - every write goes through the node's KVStore ([`crate::node::kv`]): issued in call order
//!   (IndexedDB commits them in that order), awaited, and a failed one stops the node;
//! - [`OnchainWallet::persist`] returns only once everything staged before the call is durable,
//!   including what another caller's write in flight carries: the receive address
//!   ([`OnchainWallet::receive_address`]) and the sweeper's script are stored before they are
//!   returned; LDK's synchronous scripts come from the written reserve
//!   ([`OnchainWallet::take_ldk_script`]), refilled by a write started at once;
//! - a sync ([`OnchainWallet::sync`]) reads the chain through Esplora, turns the answers into
//!   one BDK update ([`super::esplora_update`]) and applies and writes it, or changes nothing;
//!   the session's first sync scans [`FULL_SCAN_GAP`] unused scripts past the revealed ones on
//!   each keychain (a restored wallet finds its funds), later full ones [`SYNC_GAP`]; a round
//!   for a new block and nothing else asks only the scripts that may have changed by
//!   themselves ([`super::scan::routine_scripts`]), with a full one at least every
//!   [`FULL_EVERY_BLOCKS`] blocks and after a broadcast or a channel's close;
//! - no clock is read here: times come from the caller (`Date.now()`).

use core::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use bdk_wallet::KeychainKind;
use bitcoin::{Address, ScriptBuf, Transaction, Txid};
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use lightning::sign::ChangeDestinationSource;
use lightning::util::async_poll::AsyncResult;
use lightning::util::logger::Level;
use lightning::util::persist::KVStore;

use super::esplora_update::{
    chain_update, tx_update, wallet_update, RemoteChain, ScriptHistory, UpdateError,
};
use super::history::{transactions, OnchainTx};
use super::record::{ONCHAIN_KEY, ONCHAIN_NAMESPACE};
use super::scan::{routine_scripts, GapScan, FULL_EVERY_BLOCKS};
use super::send::{sign_send, SendAmount, SendPlan};
use super::state::{OnchainBalance, OnchainState, PendingWrite};
use crate::chain::pacing::ChainUnavailable;
use crate::chain::{EsploraClient, EsploraError, EsploraTx, TxStatus};
use crate::error::Error;
use crate::node::kv::NodeKv;
use crate::node::logger::{wallet_log, NodeLogger};
use crate::node::tasks::Tasks;

/// Unused scripts past the revealed ones the session's first sync asks about, per keychain.
pub const FULL_SCAN_GAP: u32 = 20;
/// The same for later syncs (nothing but this wallet reveals its scripts; a little slack for
/// another device restored from the same phrase).
pub const SYNC_GAP: u32 = 2;
/// Esplora pages its script histories by 25 confirmed transactions.
const ESPLORA_PAGE: usize = 25;
/// At most this many pages per script; more is refused rather than half-read.
const MAX_PAGES: usize = 40;

type WriteFuture = Shared<LocalBoxFuture<'static, Result<Option<u32>, Error>>>;

/// The on-chain wallet of a running node.
pub struct OnchainWallet {
    state: RefCell<OnchainState>,
    kv: Arc<NodeKv>,
    logger: NodeLogger,
    last_write: RefCell<Option<WriteFuture>>,
    full_scan_done: Cell<bool>,
    synced_height: Cell<Option<u32>>,
    /// The height of the last full round ([`super::scan`]): every revealed script asked.
    last_full_height: Cell<Option<u32>>,
    /// A channel closed since the last full round: its close may pay an internal script.
    close_seen: Cell<bool>,
    broadcast_seen: Rc<Cell<bool>>,
    tasks: Tasks,
}

impl OnchainWallet {
    /// Wraps `state` (created, or loaded from its record); writes go to `kv`. `broadcast_seen`
    /// is set by the node's broadcaster: a transaction went out, sync at the next round. The
    /// refills [`take_ldk_script`](Self::take_ldk_script) starts are among the node's `tasks`.
    pub fn new(
        state: OnchainState,
        kv: Arc<NodeKv>,
        logger: NodeLogger,
        broadcast_seen: Rc<Cell<bool>>,
        tasks: Tasks,
    ) -> OnchainWallet {
        OnchainWallet {
            state: RefCell::new(state),
            kv,
            logger,
            last_write: RefCell::new(None),
            full_scan_done: Cell::new(false),
            synced_height: Cell::new(None),
            last_full_height: Cell::new(None),
            close_seen: Cell::new(false),
            broadcast_seen,
            tasks,
        }
    }

    /// The record a new wallet is created with (written by the caller, atomically with the
    /// wallet marker), then [`record_written`](Self::record_written).
    pub fn creation_record(&self) -> Result<PendingWrite, Error> {
        self.state
            .borrow_mut()
            .pending_write()?
            .ok_or(Error::StorageFailed)
    }

    /// Reports that a record from [`creation_record`](Self::creation_record) is stored.
    pub fn record_written(&self, write: &PendingWrite) {
        self.state.borrow_mut().write_done(write.internal_revealed);
    }

    /// Writes whatever changed, and waits until every write issued before (by anyone) is
    /// durable.
    pub async fn persist(&self) -> Result<(), Error> {
        let pending = self.state.borrow_mut().pending_write()?;
        if let Some(write) = pending {
            // Issued here, before any await: writes keep the order of their calls.
            let issued = KVStore::write(&*self.kv, ONCHAIN_NAMESPACE, "", ONCHAIN_KEY, write.bytes);
            let revealed = write.internal_revealed;
            let future = async move {
                issued
                    .await
                    .map(|()| revealed)
                    .map_err(|_| Error::StorageFailed)
            }
            .boxed_local()
            .shared();
            *self.last_write.borrow_mut() = Some(future);
        }
        let last = self.last_write.borrow().clone();
        if let Some(last) = last {
            let revealed = last.await?;
            self.state.borrow_mut().write_done(revealed);
        }
        Ok(())
    }

    /// Tops up LDK's reserve of internal scripts and writes (the cursor too).
    pub async fn refill(&self) -> Result<(), Error> {
        self.state.borrow_mut().top_up_reserve();
        self.persist().await
    }

    /// The address shown to the user: BDK's next unused external address, stored first.
    pub async fn receive_address(&self) -> Result<Address, Error> {
        let address = self.state.borrow_mut().receive_address();
        self.persist().await?;
        Ok(address)
    }

    /// An internal script for LDK (destination or shutdown script) from the written reserve,
    /// and a refill started at once. `None` (logged) when the reserve is empty.
    pub fn take_ldk_script(self: &Arc<Self>) -> Option<ScriptBuf> {
        let script = self.state.borrow_mut().take_ldk_script();
        if script.is_none() {
            self.log(
                Level::Error,
                "no stored on-chain script left for LDK (a refill is on its way)",
            );
        }
        let me = self.clone();
        self.tasks.spawn("on-chain script refill", async move {
            if let Err(e) = me.refill().await {
                me.log(Level::Error, &format!("refilling LDK's scripts: {e}"));
            }
        });
        script
    }

    /// What the wallet holds, as of the last sync.
    pub fn balance(&self) -> Result<OnchainBalance, Error> {
        self.state.borrow().balance()
    }

    /// Whether the node's sync round at LDK height `height` should sync the on-chain wallet:
    /// the session's first round, a new block, a broadcast since, or `asked` (JS `sync()`).
    pub fn wants_sync(&self, height: u32, asked: bool) -> bool {
        asked
            || !self.full_scan_done.get()
            || self.synced_height.get() != Some(height)
            || self.broadcast_seen.get()
            || self.close_seen.get()
    }

    /// Tells the wallet a channel closed: the next round is a full one (the close may pay one of
    /// its internal scripts, which routine rounds do not ask about).
    pub fn note_channel_closed(&self) {
        self.close_seen.set(true);
    }

    /// One sync at `now` (Unix seconds): script histories, then the blocks they need, then one
    /// BDK update applied and written. `height` is recorded for [`wants_sync`](Self::wants_sync).
    /// A full round (every revealed script and the gap past them) when `asked` (JS `sync()`), in
    /// the session's first sync, after a broadcast or a channel's close, or when the last full
    /// round is [`FULL_EVERY_BLOCKS`] blocks old; otherwise a routine one ([`routine_scripts`]).
    pub async fn sync(
        &self,
        esplora: &EsploraClient,
        now: u64,
        height: u32,
        asked: bool,
    ) -> Result<(), Error> {
        // A broadcast or close during this sync sets them again; a failed sync puts them back.
        let broadcast = self.broadcast_seen.replace(false);
        let closed = self.close_seen.replace(false);
        let full = asked
            || broadcast
            || closed
            || !self.full_scan_done.get()
            || self
                .last_full_height
                .get()
                .is_none_or(|h| height >= h.saturating_add(FULL_EVERY_BLOCKS));
        let result = self.sync_once(esplora, now, full, height).await;
        match result {
            Ok(()) => {
                self.full_scan_done.set(true);
                self.synced_height.set(Some(height));
                if full {
                    self.last_full_height.set(Some(height));
                }
            }
            Err(_) => {
                if broadcast {
                    self.broadcast_seen.set(true);
                }
                if closed {
                    self.close_seen.set(true);
                }
            }
        }
        result
    }

    async fn sync_once(
        &self,
        esplora: &EsploraClient,
        now: u64,
        full: bool,
        height: u32,
    ) -> Result<(), Error> {
        let gap = if self.full_scan_done.get() {
            SYNC_GAP
        } else {
            FULL_SCAN_GAP
        };
        let blocks = esplora.blocks(None).await.map_err(|e| self.source(e))?;
        let mut remote = RemoteChain::from_blocks(&blocks).map_err(|e| self.inconsistent(e))?;

        let (keychains, expected, local_tip) = {
            let state = self.state.borrow();
            let wallet = state.wallet();
            let expected: HashMap<ScriptBuf, BTreeSet<Txid>> = wallet
                .start_sync_with_revealed_spks_at(now)
                .build()
                .iter_spks_with_expected_txids()
                .map(|s| (s.spk, s.expected_txids.into_iter().collect()))
                .collect();
            let keychains = [KeychainKind::External, KeychainKind::Internal]
                .map(|k| (k, wallet.spk_index().last_revealed_index(k)));
            (keychains, expected, wallet.latest_checkpoint())
        };
        let mut histories = Vec::new();
        if !full {
            let routine = routine_scripts(self.state.borrow().wallet(), height);
            for (keychain, index) in routine {
                let spk = self.script_at(keychain, index);
                let txs = self.script_history(esplora, &spk).await?;
                histories.push(ScriptHistory {
                    keychain,
                    index,
                    expected_txids: expected.get(&spk).cloned().unwrap_or_default(),
                    txs,
                });
            }
        }
        for (keychain, last_revealed) in keychains.into_iter().filter(|_| full) {
            let mut scan = GapScan::new(last_revealed, gap);
            while let Some(index) = scan.next_index() {
                let spk = self.script_at(keychain, index);
                let txs = self.script_history(esplora, &spk).await?;
                scan.record(index, !txs.is_empty());
                histories.push(ScriptHistory {
                    keychain,
                    index,
                    expected_txids: expected.get(&spk).cloned().unwrap_or_default(),
                    txs,
                });
            }
        }

        let mut findings = tx_update(&histories, now);
        while let Some(h) = remote.next_agreement_height(&local_tip) {
            let hash = esplora
                .block_hash_at_height(h)
                .await
                .map_err(|e| self.source(e))?
                .ok_or_else(|| {
                    self.inconsistent(UpdateError::Inconsistent("no block below the tip"))
                })?;
            remote.insert(h, hash).map_err(|e| self.inconsistent(e))?;
        }
        for h in remote.missing_anchor_heights(&findings.tx_update) {
            if let Some(hash) = esplora
                .block_hash_at_height(h)
                .await
                .map_err(|e| self.source(e))?
            {
                remote.insert(h, hash).map_err(|e| self.inconsistent(e))?;
            }
        }
        let chain = chain_update(&local_tip, &remote, &mut findings.tx_update, now)
            .map_err(|e| self.inconsistent(e))?;
        self.state
            .borrow_mut()
            .apply(wallet_update(findings, chain))?;
        self.persist().await
    }

    /// The script at `index` of `keychain`: derived already for revealed and lookahead
    /// scripts; derived here for the rest.
    fn script_at(&self, keychain: KeychainKind, index: u32) -> ScriptBuf {
        let state = self.state.borrow();
        let wallet = state.wallet();
        wallet
            .spk_index()
            .spk_at_index(keychain, index)
            .unwrap_or_else(|| wallet.peek_address(keychain, index).script_pubkey())
    }

    /// The whole history of `script`: mempool first, then confirmed pages of 25.
    async fn script_history(
        &self,
        esplora: &EsploraClient,
        script: &ScriptBuf,
    ) -> Result<Vec<EsploraTx>, Error> {
        let mut all = esplora
            .script_txs(script, None)
            .await
            .map_err(|e| self.source(e))?;
        let mut confirmed_in_page = all
            .iter()
            .filter(|t| matches!(t.status, TxStatus::Confirmed { .. }))
            .count();
        let mut pages = 1;
        while confirmed_in_page >= ESPLORA_PAGE {
            if pages >= MAX_PAGES {
                self.log(
                    Level::Error,
                    "a script has more history than the wallet reads",
                );
                return Err(Error::ChainSourceFailed);
            }
            let last = all
                .iter()
                .rev()
                .find(|t| matches!(t.status, TxStatus::Confirmed { .. }))
                .map(|t| t.tx.compute_txid());
            let Some(last) = last else { break };
            let page = esplora
                .script_txs(script, Some(&last))
                .await
                .map_err(|e| self.source(e))?;
            confirmed_in_page = page.len();
            all.extend(page);
            pages += 1;
        }
        Ok(all)
    }

    /// Plans a send ([`super::send::plan_send`]) from the wallet as of its last sync; changes
    /// nothing (a quote).
    pub fn plan_send(
        &self,
        to: &ScriptBuf,
        amount: SendAmount,
        fee_rate_sat_per_kw: u32,
        reserve_sat: u64,
    ) -> Result<SendPlan, Error> {
        self.state.borrow_mut().plan_send(
            to,
            amount,
            fee_rate_sat_per_kw,
            reserve_sat,
            &mut rand_core::OsRng,
        )
    }

    /// Signs a plan of [`plan_send`](Self::plan_send).
    pub fn sign_send(&self, plan: SendPlan) -> Result<Transaction, Error> {
        sign_send(self.state.borrow().wallet(), plan)
    }

    /// Records a broadcast send (unconfirmed as of `now`, Unix seconds; its change script
    /// taken) and writes it.
    pub async fn record_send(&self, tx: Transaction, now: u64) -> Result<(), Error> {
        self.state.borrow_mut().record_send(tx, now);
        self.persist().await
    }

    /// The wallet's transactions, newest first ([`super::history`]).
    pub fn transactions(&self) -> Vec<OnchainTx> {
        transactions(self.state.borrow().wallet())
    }

    /// Runs `f` on BDK's wallet as it stands (as of the last sync); nothing is staged.
    pub fn with_bdk<T>(&self, f: impl FnOnce(&bdk_wallet::Wallet) -> T) -> T {
        f(self.state.borrow().wallet())
    }

    pub(crate) fn log(&self, level: Level, message: &str) {
        wallet_log(&self.logger, level, message);
    }

    fn source(&self, e: EsploraError) -> Error {
        self.log(Level::Warn, &format!("on-chain sync: {e}"));
        Error::ChainSourceUnavailable(ChainUnavailable::of_esplora(&e))
    }

    fn inconsistent(&self, e: UpdateError) -> Error {
        self.log(Level::Warn, &format!("on-chain sync: {e}"));
        Error::ChainSourceFailed
    }
}

/// LDK's `OutputSweeper` sends what it sweeps to a BDK internal script: the same one while no
/// transaction pays it yet, stored before it is returned.
impl ChangeDestinationSource for OnchainWallet {
    fn get_change_destination_script<'a>(&'a self) -> AsyncResult<'a, ScriptBuf, ()> {
        Box::pin(async move {
            let mut script = self.state.borrow_mut().sweep_script();
            if script.is_none() {
                // The reserve is empty or not written yet: fill it, then take.
                self.refill().await.map_err(|_| ())?;
                script = self.state.borrow_mut().sweep_script();
            }
            let Some(script) = script else {
                self.log(Level::Error, "no on-chain script for the sweeper");
                return Err(());
            };
            // The cursor moved: store it, and keep the reserve full.
            self.refill().await.map_err(|_| ())?;
            Ok(script)
        })
    }
}

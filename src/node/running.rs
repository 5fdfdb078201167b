//! A running wallet node: its parts and the operations that are not payments.
//!
//! Guarantees:
//! - one `Node` per storage name and one per seed (node id) at a time in the origin (it holds
//!   both instance Web Locks until [`Node::stop`] returns);
//! - after a storage failure the node stops itself and reports a fatal `error` event; no
//!   further write is issued (see [`super::kv`]);
//! - [`Node::stop`] waits for the background processor's final channel-manager write, and for
//!   every write issued to settle, before releasing the locks: a reopen (here or in another
//!   tab) sees the latest state and never runs beside a pending write.

use core::cell::{Cell, RefCell};
use core::time::Duration;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use futures::channel::oneshot;
use lightning::chain::channelmonitor::Balance;
use lightning::chain::Confirm;
use lightning::ln::channelmanager::PaymentId;
use lightning::util::logger::Level;

use super::event_bus::EventBus;
use super::fee_bump::FeeBumper;
use super::fee_estimator::WalletFeeEstimator;
use super::logger::{wallet_log, NodeLogger};
use super::signals::{Kick, Shutdown};
use super::tasks::Tasks;
use super::tip::TipTracker;
use super::types::{
    ChainMonitor, ChannelManager, Keys, Kv, LiquidityManager, LspsPeek, PeerManager, RapidSync,
    Scorer, Sweeper,
};
use super::{ChannelInfo, JitHook, StopReport, WalletBalance, WalletEvent};
use crate::chain::pacing::{ChainFault, ChainUnavailable, SyncPolicy};
use crate::chain::sync::SyncError;
use crate::chain::{EsploraClient, EsploraSources, TxSync};
use crate::config::Config;
use crate::error::Error;
use crate::keys::WalletSecret;
use crate::lsp::jit_store::JitStore;
use crate::onchain::wallet::OnchainWallet;
use crate::payment::store::PaymentStore;
use crate::payment::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate};
use crate::store::{InstanceLock, Store, StoreError};
use crate::time;

/// What `pay` waits for.
pub type PayOutcome = Result<PaySuccess, Error>;

/// A settled outbound payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaySuccess {
    /// Hex preimage.
    pub preimage: String,
    /// Routing fees paid.
    pub fee_msat: u64,
}

/// The LSP the node keeps connected, once known.
#[derive(Default)]
pub struct LspState {
    /// The LSP's node id, trusted for zero-conf channels: the config's, or for a REST LSP the
    /// one stored on first use (see [`crate::lsp::identity`]); set only there.
    pub node_id: Cell<Option<PublicKey>>,
    /// Whether the peer manager has the LSP connected.
    pub connected: Cell<bool>,
}

/// A running node. Built by [`super::builder::open`].
pub struct Node {
    pub(crate) config: Config,
    pub(crate) network: bitcoin::Network,
    pub(crate) secret: WalletSecret,
    pub(crate) node_id: PublicKey,
    pub(crate) store: Store,
    pub(crate) kv: Kv,
    pub(crate) logger: Arc<NodeLogger>,
    /// The Esplora servers (the configured one and its fallback), shared with the broadcaster.
    pub(crate) esplora: Rc<EsploraSources>,
    pub(crate) keys: Keys,
    pub(crate) fee_estimator: Arc<WalletFeeEstimator>,
    pub(crate) tx_sync: Arc<TxSync>,
    pub(crate) tip: Arc<TipTracker>,
    pub(crate) chain_filter: Arc<super::relay_filter::RelayFilter>,
    pub(crate) chain_monitor: Arc<ChainMonitor>,
    pub(crate) channel_manager: Arc<ChannelManager>,
    /// The routing graph and its Rapid Gossip Sync.
    pub(crate) rgs: Arc<RapidSync>,
    pub(crate) scorer: Arc<Scorer>,
    pub(crate) liquidity_manager: Arc<LiquidityManager>,
    pub(crate) lsps_peek: Arc<LspsPeek>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) sweeper: Arc<Sweeper>,
    /// Fee bumps of anchor channels' closing transactions, from the on-chain wallet's coins.
    pub(crate) fee_bumper: FeeBumper,
    /// Held through an on-chain send, so that two never pick the same coins.
    pub(crate) onchain_send_lock: futures::lock::Mutex<()>,
    pub(crate) payments: PaymentStore,
    /// The JIT receive records as read at open, until the JIT receiver takes them
    /// (`lsp::receive::start`): read with everything else, so a corrupt one refuses the open
    /// before the node writes anything.
    pub(crate) jit_records: RefCell<Option<JitStore>>,
    pub(crate) onchain: Arc<OnchainWallet>,
    pub(crate) bus: EventBus,
    pub(crate) lsp: LspState,
    pub(crate) shutdown: Shutdown,
    pub(crate) sync_kick: Kick,
    pub(crate) reconnect_kick: Kick,
    pub(crate) sync_lock: futures::lock::Mutex<()>,
    pub(crate) last_synced_height: Cell<Option<u32>>,
    /// When fee estimates were last fetched (ms), for [`SyncPolicy::fee_refresh_due`].
    pub(crate) last_fee_fetch_ms: Cell<Option<u64>>,
    pub(crate) pay_waiters: RefCell<HashMap<PaymentId, oneshot::Sender<PayOutcome>>>,
    pub(crate) jit_hook: RefCell<Option<Rc<dyn JitHook>>>,
    pub(crate) locks: RefCell<Vec<InstanceLock>>,
    pub(crate) tasks: Tasks,
    pub(crate) page_listeners: RefCell<Vec<super::peers::PageListener>>,
    pub(crate) stopped: Cell<bool>,
    /// Fired when the first `stop()` has its report (in `stop_report`).
    pub(crate) stop_done: Shutdown,
    pub(crate) stop_report: RefCell<Option<StopReport>>,
    /// Set by the first fatal error: it is reported once.
    pub(crate) failed: Cell<bool>,
}

impl Node {
    /// The node id.
    pub fn node_id(&self) -> PublicKey {
        self.node_id
    }

    /// The wallet's network.
    pub fn network(&self) -> bitcoin::Network {
        self.network
    }

    /// The config the node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The event bus JS listens on.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// The mnemonic (only for `Wallet.mnemonic()`).
    pub fn mnemonic(&self) -> String {
        self.secret.phrase()
    }

    /// Installs the JIT receive logic's hook on arriving payments.
    pub fn set_jit_hook(&self, hook: Rc<dyn JitHook>) {
        *self.jit_hook.borrow_mut() = Some(hook);
    }

    /// Logs a wallet line.
    pub(crate) fn log(&self, level: Level, message: &str) {
        wallet_log(&self.logger, level, message);
    }

    /// Runs `task` on the page's event loop as one of the node's tasks: [`Node::stop`] waits for
    /// every such task, those spawned while it stops included, so nothing a task does happens
    /// after `stop()` resolves. A task must end soon after `shutdown` triggers: long waits select
    /// on [`Shutdown::wait`], and `check_running` gates what it does after each wait.
    pub(crate) fn spawn_task(
        &self,
        name: &'static str,
        task: impl core::future::Future<Output = ()> + 'static,
    ) {
        self.tasks.spawn(name, task);
    }

    /// Fails with [`Error::Stopped`] once the node stops (or storage failed).
    pub(crate) fn check_running(&self) -> Result<(), Error> {
        if self.stopped.get() || self.shutdown.is_triggered() {
            return Err(Error::Stopped);
        }
        if self.kv.health().failed() {
            return Err(Error::StorageFailed);
        }
        Ok(())
    }

    /// The wallet's channels.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        self.channel_manager
            .list_channels()
            .iter()
            .map(ChannelInfo::from_details)
            .collect()
    }

    /// Balances (the on-chain part as of the last on-chain sync: every new block, broadcast and
    /// `sync()`).
    pub async fn balance(&self) -> Result<WalletBalance, Error> {
        let lightning_sat = self
            .chain_monitor
            .get_claimable_balances(&[])
            .iter()
            .filter(|b| matches!(b, Balance::ClaimableOnChannelClose { .. }))
            .fold(0u64, |sum, b| {
                sum.saturating_add(b.claimable_amount_satoshis())
            });
        let inbound_msat = self
            .channel_manager
            .list_usable_channels()
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.inbound_capacity_msat));
        let onchain = self.onchain.balance()?;
        Ok(WalletBalance {
            lightning_msat: lightning_sat
                .checked_mul(1000)
                .ok_or(Error::AmountOverflow)?,
            onchain_sat: onchain.confirmed_sat,
            onchain_pending_sat: onchain.pending_sat,
            anchor_reserve_sat: self.anchor_reserve_sat(),
            inbound_msat,
        })
    }

    /// The on-chain wallet's receive address (its next unused external address), stored before
    /// it is returned.
    pub async fn onchain_address(&self) -> Result<String, Error> {
        self.check_running()?;
        Ok(self.onchain.receive_address().await?.to_string())
    }

    /// One chain sync round: fee estimates, LDK's view of the chain, then the on-chain wallet
    /// (when [`OnchainWallet::wants_sync`]: a new block, a broadcast, the session's first round,
    /// or `always_emit`, i.e. JS `sync()`). Waits for a running round to end first. Emits
    /// `synced` when the tip height changed (or `always_emit`), after LDK's and the on-chain
    /// wallet's parts.
    pub async fn sync_now(&self, always_emit: bool) -> Result<u32, Error> {
        self.check_running()?;
        let _guard = self.sync_lock.lock().await;
        // One server for the whole round: two servers' answers are never mixed.
        let (server, esplora) = self.esplora.for_round();
        let result = self.sync_round(esplora, always_emit).await;
        match &result {
            Err(Error::ChainSourceUnavailable(cause)) => {
                let at_once = self.esplora.round_failed(server);
                if at_once {
                    self.log(
                        Level::Warn,
                        &format!(
                            "chain source {} unavailable ({}); the next round uses {}",
                            self.esplora.url(server),
                            cause.fault.code(),
                            self.esplora.active().base_url()
                        ),
                    );
                }
            }
            Ok(_) => self.esplora.round_succeeded(server),
            Err(_) => {}
        }
        result
    }

    /// [`Self::sync_now`]'s round, every read from `esplora`.
    async fn sync_round(&self, esplora: &EsploraClient, always_emit: bool) -> Result<u32, Error> {
        let policy = SyncPolicy::for_network(self.network);
        let now = time::now_millis();
        if policy.fee_refresh_due(self.last_fee_fetch_ms.get(), now, always_emit) {
            match esplora.fee_estimates().await {
                Ok(estimates) => {
                    self.fee_estimator.update(estimates);
                    self.last_fee_fetch_ms.set(Some(now));
                }
                Err(e) => self.log(Level::Warn, &format!("fee estimates: {e}")),
            }
        }
        let confirmables: [&dyn Confirm; 4] = [
            &*self.channel_manager,
            &*self.chain_monitor,
            &*self.sweeper,
            &*self.tip,
        ];
        // Registrations made while confirming (spends to watch) are picked up by another
        // round at once, a few times at most.
        for _ in 0..4 {
            self.chain_filter.drain_into(&*self.tx_sync);
            match self.tx_sync.sync(esplora, &confirmables).await {
                Ok(_) => {}
                Err(SyncError::Source(e)) => {
                    self.log(Level::Warn, &format!("chain sync: {e}"));
                    return Err(Error::ChainSourceUnavailable(ChainUnavailable::of_esplora(
                        &e,
                    )));
                }
                Err(SyncError::Untrustworthy(what)) => {
                    self.log(
                        Level::Error,
                        &format!("chain sync: the chain source is inconsistent: {what}"),
                    );
                    return Err(Error::ChainSourceUnavailable(ChainUnavailable {
                        fault: ChainFault::BadAnswer,
                        retry_after_secs: None,
                    }));
                }
                Err(SyncError::Busy) => return Err(Error::ChainSourceFailed),
            }
            if self.chain_filter.is_empty() {
                break;
            }
        }
        let height = self
            .tip
            .height()
            .or_else(|| self.tx_sync.best_height())
            .unwrap_or(0);
        // `synced` says that balances read now (the on-chain wallet's too) are as of `height`:
        // emitted after the on-chain part, and also when that part failed (LDK's is done).
        let onchain = if self.onchain.wants_sync(height, always_emit) {
            self.onchain
                .sync(esplora, time::now_secs(), height, always_emit)
                .await
        } else {
            Ok(())
        };
        if always_emit || self.last_synced_height.get() != Some(height) {
            self.last_synced_height.set(Some(height));
            self.bus.emit(WalletEvent::Synced { height });
        }
        onchain.map(|()| height)
    }

    /// Writes a payment record durably; a failed write is a storage failure (the node stops).
    pub(crate) async fn put_payment(&self, record: PaymentRecord) -> Result<(), Error> {
        let result = self.payments.put(record).await;
        if result.is_err() {
            self.log(Level::Error, "payment history write failed");
            self.kv.health().report_failure();
        }
        result
    }

    /// Marks pending inbound invoices whose expiry passed as failed (`expired`) and tells JS.
    /// A payment that still arrives later is claimed and the record becomes succeeded.
    pub(crate) async fn expire_receives(&self) -> Result<(), Error> {
        let now = time::now_millis();
        let expired: Vec<PaymentRecord> = self
            .payments
            .all()
            .into_iter()
            .filter(|p| {
                p.direction == Direction::Inbound
                    && p.status == PaymentStatus::Pending
                    && p.expires_at.is_some_and(|e| e <= now)
            })
            .collect();
        for mut record in expired {
            if record.apply(
                PaymentUpdate::Failed {
                    reason: "expired".into(),
                },
                now,
            )? {
                let hash = record.payment_hash.clone();
                self.put_payment(record).await?;
                self.bus.emit(WalletEvent::ReceiveState {
                    payment_hash: hash,
                    state: "expired",
                    error: None,
                });
            }
        }
        Ok(())
    }

    /// Reports a fatal error once and stops the node's work (not its lock: JS calls `stop`).
    pub(crate) fn fail_fatally(&self, error: Error) {
        // Every fatal error is a storage failure or a lost lock: nothing may be written after
        // it (LDK's last graph and scorer writes at shutdown included), so what is stored stays
        // as it was at the failure; stop() still waits for the writes issued before. This holds
        // during stop() too (its last writes may be the ones that fail): the store is sealed and
        // the page told, once. A write refused because stop() already closed the store is no
        // storage failure (nothing of the wallet's state depends on it).
        if self.stopped.get() && self.store.is_closed() {
            return;
        }
        self.report_fatal(error);
    }

    /// Seals the store, reports `error` once as a fatal `error` event and stops the node's
    /// work ([`fail_fatally`](Self::fail_fatally) without its check for writes `stop()`
    /// refused).
    fn report_fatal(&self, error: Error) {
        self.store.seal();
        if self.failed.replace(true) {
            return;
        }
        self.log(Level::Error, &format!("fatal: {error}"));
        self.bus.emit(WalletEvent::Error(error));
        if self.shutdown.is_triggered() {
            return;
        }
        self.shutdown.trigger();
        self.peer_manager.disconnect_all_peers();
        self.resolve_waiters(Error::Stopped);
    }

    /// Waits (at most `wait`) until no channel with a connected peer is adding or removing an
    /// HTLC and no monitor write is pending, the node running as usual meanwhile; then sends
    /// what that released. The last step of a removal is the wallet's `revoke_and_ack`, which
    /// LDK sends only once the monitor write of the peer's new commitment landed: by then the
    /// wallet's own view shows the HTLC gone, while the peer still holds it.
    async fn let_htlc_updates_settle(&self, wait: Duration) {
        let started = time::now_millis();
        let until = started.saturating_add(wait.as_millis() as u64);
        let mut waited = false;
        loop {
            let busy = self.channel_manager.list_channels().iter().any(|c| {
                htlc_update_in_flight(c)
                    && self
                        .peer_manager
                        .peer_by_node_id(&c.counterparty.node_id)
                        .is_some()
            }) || self
                .chain_monitor
                .list_pending_monitor_updates()
                .values()
                .any(|updates| !updates.is_empty());
            if !busy || time::now_millis() >= until {
                let ms = time::now_millis().saturating_sub(started);
                if busy {
                    self.log(
                        Level::Warn,
                        &format!("stop: an HTLC update with the LSP still in flight after {ms} ms"),
                    );
                } else if waited {
                    self.log(
                        Level::Info,
                        &format!("stop: waited {ms} ms for an HTLC update with the LSP to finish"),
                    );
                }
                // The messages the last monitor write released (a `revoke_and_ack`) go out now,
                // before the peers are disconnected (a websocket sends what it was given
                // before it closes).
                self.peer_manager.process_events();
                return;
            }
            waited = true;
            time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends every `pay` still waiting.
    pub(crate) fn resolve_waiters(&self, error: Error) {
        let waiters: Vec<_> = self.pay_waiters.borrow_mut().drain().collect();
        for (_, w) in waiters {
            let _ = w.send(Err(error.clone()));
        }
    }

    /// Stops the node within `bound`: background tasks end (the channel manager is written one
    /// last time), peers are disconnected, page listeners removed, the store closed once every
    /// write issued has settled, every event emitted so far is dispatched, and only then the
    /// instance locks are released, so a second instance can never start while a write of this
    /// one is pending.
    ///
    /// First, for at most 3 s (and half of `bound`), it lets a connected peer finish
    /// adding or removing HTLCs: a payment claimed leaves the LSP's commitment only once both
    /// sides revoked their old ones, and one left on it mid-way (the tab closed right after a
    /// claim) makes the LSP force-close the channel at the HTLC's expiry unless the wallet
    /// comes back before.
    ///
    /// If `bound` passes first, it resolves anyway with what it abandoned (logged too): the
    /// store is closed (nothing new is written), and the locks are kept until the abandoned
    /// tasks and writes end, then released. A second call resolves with the first's report.
    pub async fn stop(self: &Rc<Self>, bound: Duration) -> StopReport {
        if self.stopped.replace(true) {
            self.stop_done.wait().await;
            return self.stop_report.borrow().clone().unwrap_or_default();
        }
        let deadline = time::now_millis().saturating_add(bound.as_millis() as u64);
        if !self.failed.get() {
            self.let_htlc_updates_settle(SETTLE_WAIT.min(bound / 2))
                .await;
        }
        self.shutdown.trigger();
        self.peer_manager.disconnect_all_peers();
        self.resolve_waiters(Error::Stopped);
        // Until none is left: a task may spawn another while it ends (a last write's follow-up).
        let mut abandoned = self.tasks.wait_all(Some(deadline)).await;
        self.page_listeners.borrow_mut().clear();
        let mut closing = self.store.close_after_writes();
        let left = Duration::from_millis(deadline.saturating_sub(time::now_millis()));
        let writes_landed = match time::timeout(left, &mut closing).await {
            Ok(result) => {
                self.store_closed(result);
                true
            }
            Err(_) => {
                abandoned.push(PENDING_WRITES);
                false
            }
        };
        // What that emitted (a fatal error) reaches JS before `stop()` resolves.
        abandoned.extend(self.tasks.wait_all(Some(deadline)).await);
        let locks: Vec<_> = self.locks.borrow_mut().drain(..).collect();
        let report = StopReport::new(abandoned);
        if report.complete {
            for lock in locks {
                lock.release().await;
            }
            self.log(Level::Info, "stopped");
        } else {
            self.log(
                Level::Warn,
                &format!(
                    "stop: gave up waiting after {} s for: {}; the wallet's lock is kept until \
                     they end",
                    bound.as_secs(),
                    report.abandoned.join(", ")
                ),
            );
            let node = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                node.tasks.wait_all(None).await;
                if !writes_landed {
                    let result = closing.await;
                    node.store_closed(result);
                }
                for lock in locks {
                    lock.release().await;
                }
                node.log(
                    Level::Info,
                    "stopped: what stop() abandoned ended; lock released",
                );
            });
        }
        *self.stop_report.borrow_mut() = Some(report.clone());
        self.stop_done.trigger();
        report
    }

    /// The outcome of the store's last barrier ([`Store::close_after_writes`]): a failed write
    /// among the last ones is fatal (reported even though the node is stopping).
    fn store_closed(&self, result: Result<(), StoreError>) {
        match result {
            Ok(()) => {}
            // Already closed (the browser closed it): nothing more can be issued.
            Err(StoreError::Closed) => {}
            Err(e) => {
                self.log(Level::Error, &format!("stop: last writes failed: {e}"));
                self.report_fatal(Error::StorageFailed);
            }
        }
    }
}

/// What a [`StopReport`] calls the writes still pending when `stop()`'s bound passed.
const PENDING_WRITES: &str = "IndexedDB writes";

/// How long `stop()` lets HTLC additions and removals with a connected peer finish: a
/// commitment exchange on loopback takes tens of milliseconds, over the internet a few round
/// trips.
const SETTLE_WAIT: Duration = Duration::from_secs(3);

/// Whether `c` has an HTLC on its way in or out of the commitments (not yet committed both
/// ways, or being removed). A committed HTLC the wallet holds (a JIT payment waiting for its
/// funding) is not: it is meant to stay.
fn htlc_update_in_flight(c: &lightning::ln::channel_state::ChannelDetails) -> bool {
    use lightning::ln::channel_state::{InboundHTLCStateDetails, OutboundHTLCStateDetails};
    c.pending_inbound_htlcs
        .iter()
        .any(|h| !matches!(h.state, None | Some(InboundHTLCStateDetails::Committed)))
        || c.pending_outbound_htlcs
            .iter()
            .any(|h| !matches!(h.state, None | Some(OutboundHTLCStateDetails::Committed)))
}

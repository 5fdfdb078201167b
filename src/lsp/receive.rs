//! The wallet's `receive` and the JIT receive's life after it (wasm32).
//!
//! [`JitReceiver::receive`]: a fixed amount that one ready channel can take alone gives a direct
//! invoice (`protocol: "direct"`, fee 0; waiting up to [`DIRECT_HINT_WAIT`] for the LSP's
//! forwarding parameters of a new channel); otherwise (and for every amountless receive, whose
//! payer could pick more than a channel takes) the configured LSP's JIT flow runs
//! ([`crate::lsp::flow_client`] or [`crate::lsp::lsps2_client`]) and its [`JitRecord`] is
//! written durably BEFORE the invoice is returned, with the payment-history entry.
//!
//! After that the receiver is the node's [`JitHook`]: LDK's events drive each record's state
//! machine ([`JitRecord::step`]), each new record is written before it is acted on, and every
//! change is a `receive_state` event (`invoice_ready`, `payment_arriving`, `channel_opening`,
//! `channel_ready`, `awaiting_funding`, `claimed`, `failed` with code/reason, `expired`).
//!
//! Guarantees on arriving payments (`PaymentClaimable`):
//! - a payment with a JIT record is claimed only if [`crate::lsp::jit::check_htlc_arrival`]
//!   accepts it against the stored terms (skim ≤ agreed fee, fixed/variable rules); otherwise it
//!   is failed back at once and the record says why;
//! - the claim happens only after the record (state, skim) is durable; with `trustMinimized` and
//!   an LSPS2 LSP that did not ask for `client_trusts_lsp`, only after the new channel's funding
//!   transaction was seen on the chain source with the right output;
//! - a payment with no JIT record is left to the node's default rules (a skim fails it back);
//! - events that arrive before the records are loaded (LDK replays unclaimed payments at start)
//!   are held and decided once they are loaded, so a reload claims a held JIT payment per its
//!   stored record.

use core::cell::RefCell;
use core::time::Duration;
use std::collections::HashSet;
use std::rc::{Rc, Weak};

use bitcoin::secp256k1::PublicKey;
use futures::future::{select, Either};
use lightning::chain::channelmonitor::Balance;
use lightning::ln::channel_state::ChannelDetails;
use lightning::types::payment::{PaymentHash, PaymentPreimage, PaymentSecret};
use lightning::util::logger::Level;
use lightning_liquidity::events::LiquidityEvent;

use crate::chain::pacing::{ChainUnavailable, SyncSchedule};
use crate::config::LspProtocol;
use crate::error::Error;
use crate::js_args::ReceiveArgs;
use crate::lsp::jit::{
    self, JitAction, JitEvent, JitProtocol, JitRecord, JitState, JitTrigger, ReloadAction,
};
use crate::lsp::jit_store::{hash_key, JitStore};
use crate::lsp::lsps2_client::Lsps2Client;
use crate::lsp::receive_rules::{
    channel_event_targets, check_funding_output, decide_channel_offer, event_state,
    fail_reason_error, fail_reason_name, is_pending, receive_caps,
};
use crate::node::claim::{decide, ChannelOffer, ClaimDecision, Claimable, JitHook};
use crate::node::running::Node;
use crate::node::WalletEvent;
use crate::payment::invoice::can_receive_directly;
use crate::payment::Receipt;
use crate::payment::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate, ViaJit};
use crate::time;

/// How often stored receives are checked for expiry and stalls.
pub const TICK_INTERVAL: Duration = Duration::from_secs(15);

/// How often the chain source is asked for a JIT channel's funding transaction
/// (trust-minimized claims).
pub const FUNDING_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How long a trust-minimized claim waits for the funding transaction before failing the
/// payment back.
pub const FUNDING_WAIT_LIMIT: Duration = Duration::from_secs(1800);

/// How long a receive over existing inbound capacity waits for the LSP's forwarding parameters
/// of a new channel (the route hint needs them) before failing with `NO_INBOUND_CAPACITY`.
pub const DIRECT_HINT_WAIT: Duration = Duration::from_secs(10);

/// Whether one of the wallet's ready channels can take `amount_msat` alone (never when `None`:
/// see [`can_receive_directly`]); else the receive buys a channel.
fn has_inbound_for(node: &Node, amount_msat: Option<u64>) -> bool {
    let channels = node.lsp_hint_channels();
    can_receive_directly(&channels, amount_msat)
}

/// What a JIT client prepared for one receive: the invoice for the payer and the record to store.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// What the payer is given (the wrapped invoice, or the LSPS2 JIT invoice).
    pub payer_invoice: String,
    /// The durable record (state `InvoiceReady`).
    pub record: JitRecord,
    /// The LSP's fee (for an amountless LSPS2 receive: the least it takes).
    pub fee_msat: u64,
    /// What the payer pays, if fixed.
    pub amount_msat: Option<u64>,
    /// What the wallet receives, if known in advance.
    pub received_msat: Option<u64>,
    /// Unix ms at which the payer's invoice expires.
    pub expires_at_ms: u64,
    /// The protocol.
    pub via: ViaJit,
}

/// Waits until the wallet is connected to `lsp` (nudging the connection loop), at most
/// `timeout`; [`Error::LspUnreachable`] after.
pub(crate) async fn wait_for_lsp(
    node: &Node,
    lsp: PublicKey,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = time::now_millis().saturating_add(timeout.as_millis() as u64);
    let mut last_kick = 0u64;
    loop {
        node.check_running()?;
        if node.peer_manager.peer_by_node_id(&lsp).is_some() {
            return Ok(());
        }
        let now = time::now_millis();
        if now >= deadline {
            return Err(Error::LspUnreachable);
        }
        if now.saturating_sub(last_kick) >= 1000 {
            node.reconnect_kick.kick();
            last_kick = now;
        }
        time::sleep(Duration::from_millis(100)).await;
    }
}

/// Something LDK reported before the records were loaded.
enum Early {
    Claimable(Claimable),
    Accepted(PublicKey, u128),
    Ready(PublicKey, u128),
    Closed(u128),
    Claimed(PaymentHash, u64, u64),
}

/// The JIT receive of one running wallet (see the module doc).
pub struct JitReceiver {
    node: Weak<Node>,
    store: RefCell<Option<Rc<JitStore>>>,
    early: RefCell<Vec<Early>>,
    lsps2: Lsps2Client,
    /// Payments whose claim is under way (a replayed `PaymentClaimable` does not start another).
    claiming: Rc<RefCell<HashSet<[u8; 32]>>>,
}

/// Installs the JIT receive on `node`: the hook first (before anything can yield, so no LDK
/// event is missed), then the records are loaded, reload actions applied, early events decided,
/// and the LSPS2 event loop and the expiry tick started. Call right after `node::open`.
pub async fn start(node: &Rc<Node>) -> Result<Rc<JitReceiver>, Error> {
    let jit = Rc::new(JitReceiver {
        node: Rc::downgrade(node),
        store: RefCell::new(None),
        early: RefCell::new(Vec::new()),
        lsps2: Lsps2Client::new(),
        claiming: Rc::new(RefCell::new(HashSet::new())),
    });
    node.set_jit_hook(jit.clone());
    // The records the builder read and checked with everything else; taken once, so a second
    // JIT receiver on the same node is refused.
    let records = node.jit_records.borrow_mut().take();
    let store = Rc::new(records.ok_or(Error::AlreadyRunning)?);
    *jit.store.borrow_mut() = Some(store.clone());

    let now = time::now_secs();
    for record in store.all() {
        match record.on_reload(now) {
            ReloadAction::Nothing | ReloadAction::WaitForPayment => {}
            ReloadAction::Expire => {
                jit.apply(node, &store, record, JitTrigger::Tick);
            }
            ReloadAction::ReconnectLsp => node.reconnect_kick.kick(),
            ReloadAction::ResumeClaim => {
                node.reconnect_kick.kick();
                jit.resume_claim(node, record);
            }
        }
    }
    let early: Vec<Early> = jit.early.borrow_mut().drain(..).collect();
    for e in early {
        jit.handle_early(node, e);
    }

    // lightning-liquidity's events: LSPS2 client answers.
    let weak = Rc::downgrade(&jit);
    let n = node.clone();
    node.spawn_task("LSPS2 client events", async move {
        loop {
            let next = Box::pin(n.liquidity_manager.next_event_async());
            match select(next, n.shutdown.wait()).await {
                Either::Left((LiquidityEvent::LSPS2Client(event), _)) => match weak.upgrade() {
                    Some(j) => j.lsps2.on_event(event),
                    None => break,
                },
                Either::Left((other, _)) => {
                    n.log(Level::Debug, &format!("liquidity event ignored: {other:?}"))
                }
                Either::Right(_) => break,
            }
        }
    });

    // Expiry and stall checks.
    let weak = Rc::downgrade(&jit);
    let n = node.clone();
    node.spawn_task("JIT expiry checks", async move {
        loop {
            let wait = Box::pin(time::sleep(TICK_INTERVAL));
            if let Either::Right(_) = select(wait, n.shutdown.wait()).await {
                break;
            }
            let Some(j) = weak.upgrade() else { break };
            let Some(store) = j.store() else { continue };
            for record in store.all() {
                if !record.state.is_terminal() {
                    let _ = j.apply(&n, &store, record, JitTrigger::Tick);
                }
            }
        }
    });
    Ok(jit)
}

impl JitReceiver {
    fn store(&self) -> Option<Rc<JitStore>> {
        self.store.borrow().clone()
    }

    /// Receives in flight: direct invoices still payable and unpaid, plus JIT receives not
    /// finished ([`is_pending`]). The tab must stay open while this is non-zero.
    pub fn pending_receives(&self) -> u32 {
        let Some(node) = self.node.upgrade() else {
            return 0;
        };
        let now_ms = time::now_millis();
        let direct = node
            .payments
            .all()
            .iter()
            .filter(|p| {
                p.direction == Direction::Inbound
                    && p.status == PaymentStatus::Pending
                    && p.via_jit.is_none()
                    && p.expires_at.is_some_and(|e| e > now_ms)
            })
            .count();
        let jit = self
            .store()
            .map(|s| {
                s.all()
                    .iter()
                    .filter(|r| is_pending(r, now_ms / 1000))
                    .count()
            })
            .unwrap_or(0);
        u32::try_from(direct + jit).unwrap_or(u32::MAX)
    }

    /// The wallet's `receive` (see the module doc).
    pub async fn receive(&self, args: &ReceiveArgs) -> Result<Receipt, Error> {
        let node = self.node.upgrade().ok_or(Error::Stopped)?;
        node.check_running()?;
        if has_inbound_for(&node, args.amount_msat) {
            // Enough inbound capacity: a direct invoice, once the LSP's forwarding parameters
            // for the channel (needed for the route hint) have arrived.
            let deadline = time::now_millis().saturating_add(DIRECT_HINT_WAIT.as_millis() as u64);
            loop {
                match node.receive_direct(args).await {
                    Err(Error::NoInboundCapacity) if time::now_millis() < deadline => {
                        time::sleep(Duration::from_millis(250)).await;
                    }
                    other => return other,
                }
            }
        }
        node.log(
            Level::Info,
            "no inbound capacity: receiving through the LSP",
        );
        let store = self.store().ok_or(Error::Stopped)?;
        let caps = receive_caps(node.config.fee_caps(), args.max_fee_msat, args.max_fee_ppm)?;
        let prepared = match node.config.lsp.protocol() {
            LspProtocol::Flow => crate::lsp::flow_client::prepare(&node, args, caps).await?,
            LspProtocol::Lsps2 => self.lsps2.prepare(&node, args, caps).await?,
        };
        node.check_running()?;

        let hash_hex = hash_key(&prepared.record.payment_hash);
        // A storage failure is fatal for the node (never a receive the wallet cannot check).
        if let Err(e) = store.put(prepared.record.clone()).await {
            node.fail_fatally(Error::StorageFailed);
            return Err(e);
        }
        let now_ms = time::now_millis();
        let fee_known = match &prepared.record.terms {
            JitProtocol::Flow(_) => Some(prepared.fee_msat),
            JitProtocol::Lsps2(_) => prepared.record.agreed_fee_msat(),
        };
        node.put_payment(PaymentRecord {
            payment_hash: hash_hex.clone(),
            direction: Direction::Inbound,
            status: PaymentStatus::Pending,
            amount_msat: prepared.received_msat,
            fee_msat: fee_known,
            preimage: None,
            invoice: Some(prepared.payer_invoice.clone()),
            description: Some(args.description.clone()),
            created_at: now_ms,
            updated_at: now_ms,
            via_jit: Some(prepared.via),
            failure: None,
            expires_at: Some(prepared.expires_at_ms),
            paths: Vec::new(),
        })
        .await?;
        node.log(
            Level::Info,
            &format!(
                "JIT receive {hash_hex} via {:?}: fee {} msat",
                prepared.via, prepared.fee_msat
            ),
        );
        node.bus.emit(WalletEvent::ReceiveState {
            payment_hash: hash_hex.clone(),
            state: "invoice_ready",
            error: None,
        });
        Ok(Receipt {
            invoice: prepared.payer_invoice,
            payment_hash: hash_hex,
            protocol: match prepared.via {
                ViaJit::Flow => "flow",
                ViaJit::Lsps2 => "lsps2",
            },
            fee_msat: prepared.fee_msat,
            amount_msat: prepared.amount_msat,
            expires_at: prepared.expires_at_ms,
        })
    }

    /// Steps `record` with `trigger`; a changed record is written (then the payment history
    /// follows a terminal state) and its event emitted. Returns the step, if legal.
    fn apply(
        &self,
        node: &Rc<Node>,
        store: &Rc<JitStore>,
        record: JitRecord,
        trigger: JitTrigger,
    ) -> Option<jit::Step> {
        let step = match record.step(&trigger, time::now_secs()) {
            Ok(s) => s,
            Err(e) => {
                node.log(
                    Level::Debug,
                    &format!(
                        "JIT {}: {} ignored: {e}",
                        hash_key(&record.payment_hash),
                        trigger.name()
                    ),
                );
                return None;
            }
        };
        if step.changed {
            self.persist(node, store, step.record.clone());
        }
        if let Some(event) = &step.event {
            self.emit(node, &step.record, event);
        }
        Some(step)
    }

    /// Writes `record` (issued now, in call order); a failed write stops the node. A terminal
    /// record also settles its payment-history entry (claims are recorded by the node).
    fn persist(&self, node: &Rc<Node>, store: &Rc<JitStore>, record: JitRecord) {
        let write = store.put(record.clone());
        let task_node = node.clone();
        node.spawn_task("JIT record write", async move {
            let node = task_node;
            if write.await.is_err() {
                node.fail_fatally(Error::StorageFailed);
                return;
            }
            let failure = match record.state {
                JitState::Expired => Some("expired"),
                JitState::Failed { reason } => Some(fail_reason_name(reason)),
                _ => None,
            };
            if let Some(reason) = failure {
                let hash_hex = hash_key(&record.payment_hash);
                if let Some(mut p) = node.payments.get(Direction::Inbound, &hash_hex) {
                    if p.status == PaymentStatus::Pending
                        && p.apply(
                            PaymentUpdate::Failed {
                                reason: reason.to_string(),
                            },
                            time::now_millis(),
                        )
                        .unwrap_or(false)
                        && node.payments.put(p).await.is_err()
                    {
                        node.fail_fatally(Error::StorageFailed);
                    }
                }
            }
        });
    }

    /// A state-machine event as a `receive_state` event. `claimed` is left to the node (it
    /// emits it with the payment) and a failed arrival check is reported by the node with the
    /// check's own error.
    fn emit(&self, node: &Rc<Node>, record: &JitRecord, event: &JitEvent) {
        let error = match event {
            JitEvent::Claimed { .. } => return,
            JitEvent::Failed { reason, .. } => {
                if matches!(
                    reason,
                    jit::JitFailReason::ChannelClosed
                        | jit::JitFailReason::TimedOut
                        | jit::JitFailReason::Cancelled
                ) {
                    Some(fail_reason_error(*reason))
                } else {
                    return;
                }
            }
            _ => None,
        };
        node.bus.emit(WalletEvent::ReceiveState {
            payment_hash: hash_key(&record.payment_hash),
            state: event_state(event),
            error,
        });
    }

    fn handle_early(&self, node: &Rc<Node>, early: Early) {
        match early {
            Early::Claimable(c) => match self.decide_claimable(node, &c) {
                Some(ClaimDecision::Hold) => {}
                Some(ClaimDecision::Fail(e)) => fail_back(node, &c.payment_hash, e),
                Some(ClaimDecision::Claim) => claim(node, &c),
                None => match decide(&c, None) {
                    ClaimDecision::Claim => claim(node, &c),
                    ClaimDecision::Fail(e) => fail_back(node, &c.payment_hash, e),
                    ClaimDecision::Hold => {}
                },
            },
            Early::Accepted(cp, id) => self.channel_accepted(node, cp, id),
            Early::Ready(cp, id) => self.channel_ready(node, cp, id),
            Early::Closed(id) => self.channel_closed(node, id),
            Early::Claimed(hash, amount, skim) => self.payment_claimed(node, hash, amount, skim),
        }
    }

    /// The decision for a claimable payment once the records are loaded; `None` when it is not a
    /// JIT receive.
    fn decide_claimable(&self, node: &Rc<Node>, c: &Claimable) -> Option<ClaimDecision> {
        let store = self.store()?;
        let record = store.get(&c.payment_hash.0)?;
        if record.state.is_terminal() {
            return Some(ClaimDecision::Fail(Error::InvalidStateTransition {
                from: record.state.name(),
                trigger: "payment_claimable",
            }));
        }
        let trigger = JitTrigger::PaymentClaimable {
            amount_msat: c.amount_msat,
            skimmed_fee_msat: c.skimmed_msat,
        };
        if let Err(e) = jit::check_htlc_arrival(Some(&record), c.amount_msat, c.skimmed_msat) {
            // Records Failed{reason}; the node fails the HTLCs back and reports the error.
            self.apply(node, &store, record, trigger);
            return Some(ClaimDecision::Fail(e));
        }
        let Some(preimage) = c.preimage else {
            return Some(ClaimDecision::Fail(Error::InvalidInvoice {
                reason: "the payment is for no invoice of this wallet",
            }));
        };
        if !self.claiming.borrow_mut().insert(record.payment_hash) {
            // A claim of this payment is already under way (a replayed event).
            return Some(ClaimDecision::Hold);
        }
        let step = match record.step(&trigger, time::now_secs()) {
            Ok(s) if s.action == JitAction::ClaimPayment => s,
            _ => {
                self.claiming.borrow_mut().remove(&record.payment_hash);
                return Some(ClaimDecision::Fail(Error::InvalidStateTransition {
                    from: record.state.name(),
                    trigger: "payment_claimable",
                }));
            }
        };
        let mut stepped = step.record;
        stepped.payment_secret = c.payment_secret.map(|s| s.0);
        let write = store.put(stepped.clone());
        if let Some(event) = &step.event {
            self.emit(node, &stepped, event);
        }
        let task_node = node.clone();
        let claiming = self.claiming.clone();
        node.spawn_task("JIT record write", async move {
            let node = task_node;
            if write.await.is_err() {
                node.fail_fatally(Error::StorageFailed);
                return;
            }
            finish_claim(&node, &stepped, preimage, &claiming).await;
        });
        Some(ClaimDecision::Hold)
    }

    /// A payment with no JIT record (a direct receive over a channel the LSP already opened):
    /// left to the node's default rules (`None`), except with `trustMinimized` and an LSPS2 LSP
    /// while a channel with the LSP is unconfirmed. The LSP chooses the channel it forwards over,
    /// so such a payment is held (`awaiting_funding`) until every unconfirmed channel with the LSP
    /// has its funding transaction on the chain source with the right output, as the first JIT
    /// claim was; then claimed, or failed back when it never shows.
    fn decide_direct(&self, node: &Rc<Node>, c: &Claimable) -> Option<ClaimDecision> {
        let lsp = node.lsp.node_id.get()?;
        let waits = node.config.trust_minimized
            && node.config.lsp.protocol() == LspProtocol::Lsps2
            && node
                .channel_manager
                .list_channels_with_counterparty(&lsp)
                .iter()
                .any(funding_unconfirmed);
        if !waits || decide(c, None) != ClaimDecision::Claim {
            return None;
        }
        let preimage = c.preimage?;
        if !self.claiming.borrow_mut().insert(c.payment_hash.0) {
            return Some(ClaimDecision::Hold);
        }
        let hash = c.payment_hash;
        node.bus.emit(WalletEvent::ReceiveState {
            payment_hash: hash_key(&hash.0),
            state: "awaiting_funding",
            error: None,
        });
        let task_node = node.clone();
        let claiming = self.claiming.clone();
        node.spawn_task("JIT claim after funding", async move {
            let node = task_node;
            let seen = wait_for_funding(&node, lsp, None, hash).await;
            claiming.borrow_mut().remove(&hash.0);
            match seen {
                Ok(()) if node.check_running().is_ok() => {
                    node.log(
                        Level::Info,
                        &format!("claiming direct payment {}", hash_key(&hash.0)),
                    );
                    crate::crash_point::claiming();
                    node.channel_manager.claim_funds(preimage);
                }
                // Stopped (or storage failed) while waiting: LDK keeps holding the HTLC, which
                // fails back to the payer at its deadline unless claimed.
                Ok(()) | Err(Error::Stopped | Error::StorageFailed) => {}
                Err(e) => fail_back(&node, &hash, e),
            }
        });
        Some(ClaimDecision::Hold)
    }

    /// [`ReloadAction::ResumeClaim`]: the record says the HTLC was accepted (skim and payment
    /// secret durable) but the claim had not completed when the wallet stopped. LDK keeps the
    /// claimable HTLC across the restart but does not hand its `PaymentClaimable` out again, so
    /// the claim is taken up here: the preimage from LDK (`get_payment_preimage`), the funding
    /// check when it applies, then `claim_funds`. If LDK no longer holds the HTLC, the claim is a
    /// no-op and the record stays pending until it times out.
    fn resume_claim(&self, node: &Rc<Node>, record: JitRecord) {
        let Some(secret) = record.payment_secret else {
            return;
        };
        let hash = PaymentHash(record.payment_hash);
        let preimage = match node
            .channel_manager
            .get_payment_preimage(hash, PaymentSecret(secret))
        {
            Ok(p) => p,
            Err(e) => {
                node.log(
                    Level::Warn,
                    &format!(
                        "JIT {}: no preimage to resume: {e:?}",
                        hash_key(&record.payment_hash)
                    ),
                );
                return;
            }
        };
        if !self.claiming.borrow_mut().insert(record.payment_hash) {
            return;
        }
        node.log(
            Level::Info,
            &format!(
                "resuming the held claim of JIT payment {}",
                hash_key(&record.payment_hash)
            ),
        );
        let task_node = node.clone();
        let claiming = self.claiming.clone();
        node.spawn_task("JIT claim resume", async move {
            let node = task_node;
            finish_claim(&node, &record, preimage, &claiming).await;
        });
    }

    fn channel_accepted(&self, node: &Rc<Node>, counterparty: PublicKey, user_channel_id: u128) {
        let Some(store) = self.store() else { return };
        let targets = channel_event_targets(&store.all(), &counterparty, time::now_secs());
        for hash in targets {
            let Some(record) = store.get(&hash) else {
                continue;
            };
            let requested = self.apply(
                node,
                &store,
                record.clone(),
                JitTrigger::ChannelRequested { counterparty },
            );
            let current = requested.map_or(record, |s| s.record);
            self.apply(
                node,
                &store,
                current,
                JitTrigger::ChannelAccepted { user_channel_id },
            );
        }
    }

    fn channel_ready(&self, node: &Rc<Node>, counterparty: PublicKey, user_channel_id: u128) {
        let Some(store) = self.store() else { return };
        for record in store.all() {
            let waiting = matches!(
                record.state,
                JitState::PaymentArriving | JitState::ChannelOpening
            );
            if record.lsp_node_id == counterparty
                && waiting
                && record
                    .user_channel_id
                    .is_none_or(|id| id == user_channel_id)
            {
                self.apply(
                    node,
                    &store,
                    record,
                    JitTrigger::ChannelReady {
                        counterparty,
                        user_channel_id,
                    },
                );
            }
        }
    }

    fn channel_closed(&self, node: &Rc<Node>, user_channel_id: u128) {
        let Some(store) = self.store() else { return };
        for record in store.all() {
            if record.user_channel_id == Some(user_channel_id) && !record.state.is_terminal() {
                self.apply(
                    node,
                    &store,
                    record,
                    JitTrigger::ChannelClosed { user_channel_id },
                );
            }
        }
    }

    fn payment_claimed(&self, node: &Rc<Node>, hash: PaymentHash, amount_msat: u64, skim: u64) {
        let Some(store) = self.store() else { return };
        let Some(record) = store.get(&hash.0) else {
            return;
        };
        let Some(step) = self.apply(
            node,
            &store,
            record,
            JitTrigger::PaymentClaimed { amount_msat },
        ) else {
            return;
        };
        // The node wrote the fee with the success when the records were loaded; a claim replayed
        // before they were (the early queue) gets it here.
        let hash_hex = hash_key(&hash.0);
        let task_node = node.clone();
        let fee = fee_taken_msat(&step.record.terms, amount_msat, skim);
        node.spawn_task("JIT fee record", async move {
            let node = task_node;
            let Some(mut p) = node.payments.get(Direction::Inbound, &hash_hex) else {
                return;
            };
            if p.fee_msat != Some(fee) || p.amount_msat != Some(amount_msat) {
                p.fee_msat = Some(fee);
                p.amount_msat = Some(amount_msat);
                p.updated_at = time::now_millis();
                if node.payments.put(p).await.is_err() {
                    node.fail_fatally(Error::StorageFailed);
                }
            }
        });
    }
}

/// The fee the LSP took on a claimed JIT payment, exact to the msat: REST flow = what the payer
/// paid (the wrapped invoice) minus what arrived ([`crate::lsp::flow::FlowTerms::fee_taken_msat`]); LSPS2 = what
/// the LSP skimmed from the HTLCs (the payer paid `amount + skim`), in both amount modes.
fn fee_taken_msat(terms: &JitProtocol, amount_msat: u64, skimmed_msat: u64) -> u64 {
    match terms {
        JitProtocol::Flow(t) => t.fee_taken_msat(amount_msat, skimmed_msat),
        JitProtocol::Lsps2(_) => skimmed_msat,
    }
}

fn claim(node: &Rc<Node>, c: &Claimable) {
    match c.preimage {
        Some(p) => {
            node.bus.emit(WalletEvent::ReceiveState {
                payment_hash: hash_key(&c.payment_hash.0),
                state: "payment_arriving",
                error: None,
            });
            crate::crash_point::claiming();
            node.channel_manager.claim_funds(p);
        }
        None => fail_back(
            node,
            &c.payment_hash,
            Error::InvalidInvoice {
                reason: "the payment is for no invoice of this wallet",
            },
        ),
    }
}

fn fail_back(node: &Rc<Node>, hash: &PaymentHash, error: Error) {
    node.log(
        Level::Warn,
        &format!("failing back {}: {error}", hash_key(&hash.0)),
    );
    node.channel_manager.fail_htlc_backwards(hash);
    node.bus.emit(WalletEvent::ReceiveState {
        payment_hash: hash_key(&hash.0),
        state: "failed",
        error: Some(error),
    });
}

/// The end of a JIT claim whose record is durable: with `trustMinimized` and an LSPS2 LSP that
/// did not ask for `client_trusts_lsp`, waits until the new channel's funding transaction is seen
/// with the right output (failing the HTLCs back otherwise), then releases the preimage.
async fn finish_claim(
    node: &Rc<Node>,
    record: &JitRecord,
    preimage: PaymentPreimage,
    claiming: &RefCell<HashSet<[u8; 32]>>,
) {
    let hash = record.payment_hash;
    let wait_funding = node.config.trust_minimized
        && matches!(&record.terms, JitProtocol::Lsps2(t) if !t.client_trusts_lsp);
    if wait_funding {
        // The user is told why the payment is not in yet: the wallet holds it until the LSP's
        // funding transaction is seen (the record with the skim and secret is durable by now).
        node.bus.emit(WalletEvent::ReceiveState {
            payment_hash: hash_key(&hash),
            state: "awaiting_funding",
            error: None,
        });
        match wait_for_funding(
            node,
            record.lsp_node_id,
            record.user_channel_id,
            PaymentHash(hash),
        )
        .await
        {
            Ok(()) => {}
            // The wallet stops (or its storage failed) during the wait: the HTLC stays held
            // (LDK keeps it, the record has the skim and secret) and the next open resumes the
            // claim (`ReloadAction::ResumeClaim`). Failing it back here would give the payment up
            // for a reason that is not the LSP's.
            Err(Error::Stopped | Error::StorageFailed) => {
                claiming.borrow_mut().remove(&hash);
                return;
            }
            Err(e) => {
                node.log(
                    Level::Warn,
                    &format!("JIT {}: funding not seen: {e}", hash_key(&hash)),
                );
                claiming.borrow_mut().remove(&hash);
                fail_back(node, &PaymentHash(hash), e);
                return;
            }
        }
    }
    // Nothing acts after stop(): a claim decided while the wallet stopped waits for the next open.
    if node.check_running().is_err() {
        claiming.borrow_mut().remove(&hash);
        return;
    }
    node.log(
        Level::Info,
        &format!("claiming JIT payment {}", hash_key(&hash)),
    );
    crate::crash_point::claiming();
    node.channel_manager.claim_funds(preimage);
    claiming.borrow_mut().remove(&hash);
}

/// Whether a closed channel with `lsp` has a confirmed commitment carrying the inbound HTLC of
/// `payment_hash`: its monitor reports it as claimable with the preimage
/// (`MaybePreimageClaimableHTLC`), which it does only once a commitment is in a block.
fn htlc_on_confirmed_commitment(node: &Node, lsp: PublicKey, payment_hash: &PaymentHash) -> bool {
    node.chain_monitor.list_monitors().into_iter().any(|id| {
        node.chain_monitor.get_monitor(id).is_ok_and(|m| {
            m.get_counterparty_node_id() == lsp
                && m.get_claimable_balances().iter().any(|b| {
                    matches!(b, Balance::MaybePreimageClaimableHTLC { payment_hash: h, .. } if h == payment_hash)
                })
        })
    })
}

/// Whether a channel's funding transaction is not in a block yet (as far as LDK knows): such a
/// channel is only as good as the funding the LSP says it broadcast.
fn funding_unconfirmed(c: &ChannelDetails) -> bool {
    c.confirmations.is_none_or(|n| n == 0)
}

/// Waits until every channel a payment may have come over (with `lsp`; only `user_channel_id`
/// when given) has its funding transaction on the chain source with the right output
/// ([`check_funding_output`]); [`Error::ChannelFailed`] after [`FUNDING_WAIT_LIMIT`]. A channel
/// whose funding is confirmed needs no look: LDK saw it in a block and checked its output.
///
/// When no such channel is left (the LSP force-closed while the payment was held), the claim
/// can only go out on chain, and it waits until a commitment carrying the payment's HTLC
/// `payment_hash` is confirmed ([`htlc_on_confirmed_commitment`]): that proves the funding
/// confirmed too, and a claim before it could be counted as received while the LSP's funding
/// never confirms.
async fn wait_for_funding(
    node: &Rc<Node>,
    lsp: PublicKey,
    user_channel_id: Option<u128>,
    payment_hash: PaymentHash,
) -> Result<(), Error> {
    let deadline = time::now_millis().saturating_add(FUNDING_WAIT_LIMIT.as_millis() as u64);
    // A chain source that refuses a look (rate limit, outage) is asked less often, not given
    // up on: the wait goes on until the limit (`chain::pacing`).
    let mut schedule = SyncSchedule::new(FUNDING_POLL_INTERVAL);
    loop {
        node.check_running()?;
        let mut refused = None;
        let channels: Vec<_> = node
            .channel_manager
            .list_channels()
            .into_iter()
            .filter(|c| {
                c.counterparty.node_id == lsp
                    && user_channel_id.is_none_or(|id| id == c.user_channel_id)
            })
            .collect();
        let unconfirmed: Vec<_> = channels.iter().filter(|c| funding_unconfirmed(c)).collect();
        let mut all_seen = true;
        if channels.is_empty() {
            if htlc_on_confirmed_commitment(node, lsp, &payment_hash) {
                node.log(
                    Level::Info,
                    "the channel of a held payment closed and a commitment with its HTLC confirmed: claiming it on chain",
                );
                return Ok(());
            }
            all_seen = false;
        }
        for c in &unconfirmed {
            let Some(txo) = c.funding_txo else {
                all_seen = false;
                break;
            };
            let outpoint = txo.into_bitcoin_outpoint();
            let Ok(monitor) = node.chain_monitor.get_monitor(c.channel_id) else {
                all_seen = false;
                break;
            };
            let script = monitor.get_funding_script();
            drop(monitor);
            let fetch = Box::pin(node.esplora.active().tx_raw(&outpoint.txid));
            let fetched = match select(fetch, node.shutdown.wait()).await {
                Either::Left((fetched, _)) => fetched,
                Either::Right(_) => return Err(Error::Stopped),
            };
            match fetched {
                Ok(Some(tx)) => {
                    if let Err(why) =
                        check_funding_output(&tx, outpoint, c.channel_value_satoshis, &script)
                    {
                        return Err(Error::ChannelFailed { reason: why });
                    }
                }
                Ok(None) => {
                    all_seen = false;
                    break;
                }
                Err(e) => {
                    node.log(Level::Warn, &format!("looking for the LSP's funding: {e}"));
                    refused = Some(ChainUnavailable::of_esplora(&e));
                    all_seen = false;
                    break;
                }
            }
        }
        if all_seen {
            node.log(
                Level::Info,
                &format!(
                    "funding of {} unconfirmed channel(s) with the LSP seen on the chain source",
                    unconfirmed.len()
                ),
            );
            return Ok(());
        }
        if time::now_millis() >= deadline {
            return Err(Error::ChannelFailed {
                reason: "the funding transaction was never seen",
            });
        }
        let pause = match refused {
            Some(cause) => schedule.failed(&cause),
            None => schedule.succeeded(),
        };
        let pause = Box::pin(time::sleep(pause));
        if let Either::Right(_) = select(pause, node.shutdown.wait()).await {
            return Err(Error::Stopped);
        }
    }
}

impl JitHook for JitReceiver {
    fn on_claimable(&self, claimable: &Claimable) -> Option<ClaimDecision> {
        let node = self.node.upgrade()?;
        if self.store().is_none() {
            self.early
                .borrow_mut()
                .push(Early::Claimable(claimable.clone()));
            return Some(ClaimDecision::Hold);
        }
        self.decide_claimable(&node, claimable)
            .or_else(|| self.decide_direct(&node, claimable))
    }

    fn on_channel_accepted(&self, counterparty: PublicKey, user_channel_id: u128) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        if self.store().is_none() {
            self.early
                .borrow_mut()
                .push(Early::Accepted(counterparty, user_channel_id));
            return;
        }
        self.channel_accepted(&node, counterparty, user_channel_id);
    }

    fn on_channel_ready(&self, counterparty: PublicKey, user_channel_id: u128) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        if self.store().is_none() {
            self.early
                .borrow_mut()
                .push(Early::Ready(counterparty, user_channel_id));
            return;
        }
        self.channel_ready(&node, counterparty, user_channel_id);
    }

    fn on_channel_closed(&self, user_channel_id: u128) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        if self.store().is_none() {
            self.early.borrow_mut().push(Early::Closed(user_channel_id));
            return;
        }
        self.channel_closed(&node, user_channel_id);
    }

    fn channel_offer(
        &self,
        counterparty: &PublicKey,
        is_announced: bool,
        funding_sat: u64,
    ) -> Option<ChannelOffer> {
        let node = self.node.upgrade()?;
        let store = self.store()?;
        let lsp = node.lsp.node_id.get();
        Some(decide_channel_offer(
            &store.all(),
            lsp.as_ref(),
            counterparty,
            is_announced,
            funding_sat,
            time::now_secs(),
        ))
    }

    fn fee_taken_msat(
        &self,
        payment_hash: &PaymentHash,
        amount_msat: u64,
        skimmed_msat: u64,
    ) -> Option<u64> {
        let record = self.store()?.get(&payment_hash.0)?;
        Some(fee_taken_msat(&record.terms, amount_msat, skimmed_msat))
    }

    fn on_payment_claimed(&self, payment_hash: PaymentHash, amount_msat: u64, skimmed_msat: u64) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        if self.store().is_none() {
            self.early
                .borrow_mut()
                .push(Early::Claimed(payment_hash, amount_msat, skimmed_msat));
            return;
        }
        self.payment_claimed(&node, payment_hash, amount_msat, skimmed_msat);
    }
}

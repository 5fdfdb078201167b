//! The devnet's REST "flow" LSP on raw LDK 0.2.7: one node identity serving the wrapped-invoice
//! API (seed 000; protocols.md A). The client asks a fee quote (`/api/v1/fee`), creates its own
//! invoice for `amount - fee`, and gets a wrapped invoice (`/api/v1/proposal`) with the same
//! payment hash, the LSP as payee, for `amount`. When the payer pays it, the LSP holds the
//! payment, opens a private 0-conf channel with an SCID alias to the client, pays the client's
//! invoice over it, and claims the held payment with the preimage it learns; on timeout or
//! failure it fails the held payment back. Faults ([`Fault`]) make it misbehave on purpose.
//!
//! Files: `config` (settings), `fee` (fee math), `quotes` (fee ids), `proposal` (checks of the
//! client's invoice), `wrap` (the wrapped invoice, per fault), `fault`, `jit` (records),
//! `flow` (the per-payment JIT task), `skim` (the `skim` fault's forward), `lsps2` (an LSPS2 service
//! on the same node, with its own faults), `events` (LDK events), `node` (LDK wiring), `ldk_glue`
//! (logger, fees, broadcaster, persister), `chain_sync` (blocks into LDK), `wallet` (funding),
//! `status`, `api` (HTTP), `error`.

pub mod api;
mod bump;
pub mod chain_sync;
pub mod config;
pub mod error;
mod events;
pub mod fault;
pub mod fee;
pub mod flow;
pub mod jit;
pub mod ldk_glue;
pub mod lsps2;
mod node;
pub mod proposal;
pub mod quotes;
mod skim;
pub mod status;
pub mod wallet;
pub mod wrap;

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod test_chain;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::Address;
use lightning::events::EventsProvider;
use lightning::ln::channelmanager::PaymentId;
use lightning::types::payment::{PaymentHash, PaymentPreimage, PaymentSecret};
use lightning_invoice::Bolt11Invoice;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use api::{router, FeeRequest, FeeResponse, InfoResponse, ProposalRequest, ProposalResponse};
pub use config::{ConnectionMethod, FlowLspConfig};
pub use error::ApiError;
pub use fault::Fault;
pub use fee::FeePolicy;
pub use jit::{JitState, JitSummary};
pub(crate) use node::Graph;
pub use quotes::FeeQuote;
pub use status::{ChannelStatus, FlowLspStatus};

use crate::chain::ChainAccess;
use jit::{ClientAddress, JitRecord};
use node::LdkNode;
use quotes::{QuoteBook, QuoteLookupError};
use wallet::FundingWallet;

/// How often timers tick (`timer_tick_occurred`, pings, claim rebroadcast).
const TIMER_TICK: Duration = Duration::from_secs(10);
/// Upper bound between two rounds of event processing.
const EVENT_POLL: Duration = Duration::from_millis(100);
/// How long [`FlowLsp::connect`] waits for the handshake to complete.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type PaymentWaiter = oneshot::Sender<Result<PaymentPreimage, String>>;
type ChannelWaiter = oneshot::Sender<Result<(), String>>;

/// Mutable state shared by the API, the event handler and the JIT tasks.
#[derive(Default)]
pub(crate) struct State {
    quotes: QuoteBook,
    jits: HashMap<PaymentHash, JitRecord>,
    fault: Fault,
    connection_methods: Vec<ConnectionMethod>,
    /// Intercept SCIDs handed out by the `skim` fault, by SCID.
    skims: HashMap<u64, skim::SkimForward>,
}

/// The running flow LSP. Created by [`FlowLsp::start`]; lives until [`FlowLsp::stop`].
pub struct FlowLsp {
    config: FlowLspConfig,
    chain: Arc<dyn ChainAccess>,
    ldk: LdkNode,
    node_secret: SecretKey,
    wallet: Arc<FundingWallet>,
    /// Fee bumps of its anchor channels' closing transactions.
    bump: bump::BumpHandler,
    listen_addr: SocketAddr,
    state: Mutex<State>,
    payment_waiters: Mutex<HashMap<PaymentId, PaymentWaiter>>,
    channel_waiters: Mutex<HashMap<u128, ChannelWaiter>>,
    /// The node the `skim` fault pays the client from (see `skim`).
    skim_source: OnceLock<Arc<FlowLsp>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl FlowLsp {
    /// Validates `config`, builds the node at `chain`'s tip, binds the Lightning listener on
    /// `config.listen_addr`, and starts the background tasks (block feeding, event processing,
    /// timers, inbound connections). Must be called inside a tokio runtime.
    pub async fn start(
        config: FlowLspConfig,
        chain: Arc<dyn ChainAccess>,
    ) -> anyhow::Result<Arc<Self>> {
        config
            .validate()
            .map_err(|e| anyhow!("invalid flow LSP config: {e}"))?;
        let seed = config.seed.unwrap_or_else(rand::random);
        let (ldk, mut feeder) = node::build(&config, &seed, chain.clone())?;
        let wallet = Arc::new(FundingWallet::from_seed(&seed, config.network));
        let bump = bump::handler(
            ldk.broadcaster.clone(),
            ldk.keys.clone(),
            bump::BumpCoins {
                wallet: wallet.clone(),
                chain: chain.clone(),
            },
        );
        let node_secret = ldk.keys.get_node_secret_key();
        let listener = tokio::net::TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let listen_addr = listener.local_addr()?;
        let connection_methods = config.connection_methods.clone();
        let lsp = Arc::new(FlowLsp {
            config,
            chain: chain.clone(),
            ldk,
            node_secret,
            wallet,
            bump,
            listen_addr,
            state: Mutex::new(State {
                connection_methods,
                ..Default::default()
            }),
            payment_waiters: Mutex::new(HashMap::new()),
            channel_waiters: Mutex::new(HashMap::new()),
            skim_source: OnceLock::new(),
            tasks: Mutex::new(Vec::new()),
        });

        let mut tasks = Vec::new();
        // Inbound connections.
        let pm = lsp.ldk.peer_manager.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let pm = pm.clone();
                        match stream.into_std() {
                            Ok(std_stream) => {
                                tokio::spawn(lightning_net_tokio::setup_inbound(pm, std_stream));
                            }
                            Err(e) => tracing::warn!(target: "lsp_flow", "inbound socket: {e}"),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "lsp_flow", "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
        // Blocks.
        let mut tips = chain.subscribe();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = feeder.sync() {
                    tracing::error!(target: "lsp_flow", "chain sync: {e}");
                }
                tokio::select! {
                    r = tips.recv() => {
                        if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r {
                            tracing::warn!(target: "lsp_flow", "chain subscription closed; polling");
                            tips = chain.subscribe();
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }));
        // Events, HTLC processing, timers.
        let lsp2 = lsp.clone();
        tasks.push(tokio::spawn(async move { lsp2.background().await }));
        lsp.tasks.lock().unwrap().extend(tasks);
        tracing::info!(target: "lsp_flow", node_id = %lsp.node_id(), %listen_addr, "flow LSP started");
        Ok(lsp)
    }

    async fn background(self: Arc<Self>) {
        let cm = self.ldk.channel_manager.clone();
        let mut last_tick = Instant::now();
        loop {
            tokio::select! {
                _ = cm.get_event_or_persistence_needed_future() => {}
                _ = self.ldk.lsps2.liquidity.get_pending_msgs_or_needs_persist_future() => {}
                _ = tokio::time::sleep(EVENT_POLL) => {}
            }
            lsps2::process_events(&self);
            let _ = cm.get_and_clear_needs_persistence();
            if cm.needs_pending_htlc_processing() {
                cm.process_pending_htlc_forwards();
            }
            let handler = |e| events::handle_event(&self, e);
            cm.process_pending_events(&handler);
            self.ldk.chain_monitor.process_pending_events(&handler);
            self.ldk.peer_manager.process_events();
            if last_tick.elapsed() >= TIMER_TICK {
                cm.timer_tick_occurred();
                self.ldk.peer_manager.timer_tick_occurred();
                self.ldk.chain_monitor.rebroadcast_pending_claims();
                last_tick = Instant::now();
            }
        }
    }

    /// Stops the background tasks and disconnects every peer. The LSP answers no more events;
    /// held payments are left to LDK's own expiry.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        self.ldk.peer_manager.disconnect_all_peers();
    }

    /// The node id (the `pubkey` of `/api/v1/info`, the payee of honest wrapped invoices).
    pub fn node_id(&self) -> PublicKey {
        self.ldk.channel_manager.get_our_node_id()
    }

    /// Where the Lightning listener is bound.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// The address that funds the LSP's channels (P2WPKH; coinbase outputs may pay it).
    pub fn funding_address(&self) -> Address {
        self.wallet.address().clone()
    }

    /// Height of the last block LDK has processed.
    pub fn best_block_height(&self) -> u32 {
        self.ldk.channel_manager.current_best_block().height
    }

    /// Replaces the connection methods `/api/v1/info` lists (empty: the listening address).
    pub fn set_connection_methods(&self, methods: Vec<ConnectionMethod>) {
        self.state.lock().unwrap().connection_methods = methods;
    }

    /// The `/api/v1/info` answer.
    pub fn info(&self) -> InfoResponse {
        let methods = self.state.lock().unwrap().connection_methods.clone();
        let connection_methods = if methods.is_empty() {
            vec![ConnectionMethod::for_socket(self.listen_addr)]
        } else {
            methods
        };
        let pubkey = match self.fault() {
            Fault::ImpostorIdentity => fault::impostor_id(&self.node_id()),
            _ => self.node_id(),
        };
        InfoResponse {
            pubkey: pubkey.to_string(),
            connection_methods,
        }
    }

    /// Sets the fault used for proposals made from now on (checked against the network).
    pub fn set_fault(&self, fault: Fault) -> Result<(), String> {
        fault.validate(self.config.network)?;
        tracing::info!(target: "lsp_flow", ?fault, "fault mode set");
        self.state.lock().unwrap().fault = fault;
        Ok(())
    }

    /// The fault currently set.
    pub fn fault(&self) -> Fault {
        self.state.lock().unwrap().fault
    }

    /// Quotes the fee for a payer paying `amount_msat` to the client `client` and stores the
    /// quote for [`FlowLsp::quote_validity`](FlowLspConfig::quote_validity). 400 when the
    /// amount is out of bounds.
    pub fn quote_fee(&self, amount_msat: u64, client: PublicKey) -> Result<FeeQuote, ApiError> {
        let fee_msat = fee::quote_fee(&self.config.fee_policy, amount_msat).map_err(|e| {
            let code = match e {
                fee::QuoteError::BelowMinimum { .. } => "amount_too_low",
                fee::QuoteError::AboveMaximum { .. } => "amount_too_high",
                fee::QuoteError::FeeNotBelowAmount { .. } => "amount_too_low",
                fee::QuoteError::Overflow => "amount_too_high",
            };
            ApiError::new(400, code, e.to_string())
        })?;
        let now = now();
        let quote = FeeQuote {
            id: quotes::random_quote_id(),
            client,
            amount_msat,
            fee_msat,
            expires_at: now.saturating_add(self.config.quote_validity),
        };
        self.state.lock().unwrap().quotes.insert(quote.clone(), now);
        Ok(quote)
    }

    /// Checks a proposal and returns the wrapped invoice (see [`wrap::plan_wrapped`]); the
    /// quote is consumed and a JIT record made. Errors: 404 unknown `fee_id`, 410 expired quote,
    /// 400 invoice refused ([`proposal::ProposalError`]), 409 a live record for the same payment
    /// hash exists, 500 when LDK refuses to register the hash.
    pub fn propose(&self, req: &ProposalRequest) -> Result<Bolt11Invoice, ApiError> {
        let now = now();
        let mut st = self.state.lock().unwrap();
        let quote = st.quotes.get(req.fee_id.trim(), now).map_err(|e| match e {
            QuoteLookupError::Unknown => ApiError::new(404, "unknown_fee_id", "fee_id is unknown"),
            QuoteLookupError::Expired => ApiError::new(410, "fee_id_expired", "fee_id has expired"),
        })?;
        let inner = proposal::validate_proposal(&req.bolt11, &quote, self.config.network, now)
            .map_err(|e| ApiError::new(400, e.code(), e.to_string()))?;
        if st
            .jits
            .values()
            .any(|r| !r.state.is_terminal() && r.inner.payment_hash() == inner.payment_hash())
        {
            return Err(ApiError::new(
                409,
                "duplicate_payment_hash",
                "a wrapped invoice for this payment hash is already live",
            ));
        }
        let fault = st.fault;
        let plan = wrap::plan_wrapped(
            &inner,
            quote.fee_msat,
            &fault,
            self.config.network,
            self.config.extra_final_cltv_delta,
            self.config.max_wrapped_expiry.as_secs() as u32,
            now,
        )
        .map_err(|e| ApiError::new(400, "cannot_wrap", e.to_string()))?;
        let secret = if plan.register {
            self.ldk
                .channel_manager
                .create_inbound_payment_for_hash(
                    plan.payment_hash,
                    Some(plan.amount_msat),
                    plan.expiry_secs,
                    Some(plan.registered_final_cltv_delta()),
                )
                .map_err(|()| {
                    ApiError::new(500, "internal", "LDK refused to register the payment hash")
                })?
        } else {
            PaymentSecret(rand::random())
        };
        let wrapped = wrap::build_wrapped(&plan, &inner, secret, &self.node_secret)
            .map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        st.quotes.consume(req.fee_id.trim());
        let client_address = match (&req.host, req.port) {
            (Some(host), Some(port)) if !host.trim().is_empty() => Some(ClientAddress {
                host: host.trim().to_string(),
                port,
            }),
            _ => None,
        };
        let inner_amount_msat = quote.inner_amount_msat();
        tracing::info!(target: "lsp_flow", hash = %plan.payment_hash, inner_amount_msat, fee_msat = quote.fee_msat,
            wrapped_msat = plan.amount_msat, ?fault, "wrapped invoice issued");
        st.jits.insert(
            plan.payment_hash,
            JitRecord {
                wrapped_hash: plan.payment_hash,
                client: quote.client,
                client_address,
                inner,
                wrapped: wrapped.clone(),
                inner_amount_msat,
                fee_msat: quote.fee_msat,
                wrapped_amount_msat: plan.amount_msat,
                fault,
                created_at: now,
                claim_deadline: None,
                state: JitState::AwaitingPayment,
            },
        );
        Ok(wrapped)
    }

    /// Connects to `node_id` at `addr` (no-op if already connected) and waits for the handshake.
    pub async fn connect(&self, node_id: PublicKey, addr: SocketAddr) -> anyhow::Result<()> {
        if self.is_connected(&node_id) {
            return Ok(());
        }
        let fut =
            lightning_net_tokio::connect_outbound(self.ldk.peer_manager.clone(), node_id, addr)
                .await
                .ok_or_else(|| anyhow!("cannot reach {node_id} at {addr}"))?;
        tokio::spawn(fut);
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while !self.is_connected(&node_id) {
            if Instant::now() >= deadline {
                return Err(anyhow!(
                    "handshake with {node_id} at {addr} did not complete"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Drops the connection to `node_id` and dials it again at `addr`: on a new connection LDK
    /// asks the peer for its recent gossip (`gossip_timestamp_filter`), so this fetches what an
    /// earlier broadcast may have missed.
    pub async fn reconnect(&self, node_id: PublicKey, addr: SocketAddr) -> anyhow::Result<()> {
        self.ldk.peer_manager.disconnect_by_node_id(node_id);
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while self.is_connected(&node_id) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.connect(node_id, addr).await
    }

    /// Whether `node_id` is connected (handshake done).
    pub fn is_connected(&self, node_id: &PublicKey) -> bool {
        self.ldk.peer_manager.peer_by_node_id(node_id).is_some()
    }

    /// Opens a channel to the connected peer `node_id`, funded from the LSP's wallet, pushing
    /// `push_msat`. `announce = false` makes a private channel with SCID alias (the peer may
    /// accept it at zero confirmations if it trusts us); `true` an announced one. Returns the
    /// `user_channel_id`.
    pub fn open_channel(
        &self,
        node_id: PublicKey,
        capacity_sat: u64,
        push_msat: u64,
        announce: bool,
    ) -> anyhow::Result<u128> {
        if !self.is_connected(&node_id) {
            return Err(anyhow!("not connected to {node_id}"));
        }
        let user_channel_id: u128 = rand::random();
        let config = node::outbound_channel_config(&self.ldk.base_config, announce);
        self.ldk
            .channel_manager
            .create_channel(
                node_id,
                capacity_sat,
                push_msat,
                user_channel_id,
                None,
                Some(config),
            )
            .map_err(|e| anyhow!("create_channel: {e:?}"))?;
        Ok(user_channel_id)
    }

    /// Force-closes every channel with `node_id`, broadcasting the LSP's latest commitment (its
    /// anchor bumped from the funding wallet, see `bump.rs`). Returns the closed channel ids.
    pub fn force_close_channels_with(&self, node_id: PublicKey) -> anyhow::Result<Vec<String>> {
        let mut closed = Vec::new();
        for c in self.ldk.channel_manager.list_channels() {
            if c.counterparty.node_id != node_id {
                continue;
            }
            self.ldk
                .channel_manager
                .force_close_broadcasting_latest_txn(
                    &c.channel_id,
                    &node_id,
                    "devnet: force close by the LSP".to_string(),
                )
                .map_err(|e| anyhow!("force close {}: {e:?}", c.channel_id))?;
            closed.push(c.channel_id.to_string());
        }
        Ok(closed)
    }

    /// Opens the private 0-conf JIT channel `user_channel_id` (an LSPS2 buy's) to the connected
    /// `node_id`, with zero forwarding fees: the opening fee pays for it.
    pub(crate) fn open_jit_channel(
        &self,
        node_id: PublicKey,
        capacity_sat: u64,
        user_channel_id: u128,
    ) -> anyhow::Result<()> {
        if !self.is_connected(&node_id) {
            return Err(anyhow!("not connected to {node_id}"));
        }
        let mut config = node::outbound_channel_config(&self.ldk.base_config, false);
        config.channel_config.forwarding_fee_base_msat = 0;
        config.channel_config.forwarding_fee_proportional_millionths = 0;
        self.ldk
            .channel_manager
            .create_channel(
                node_id,
                capacity_sat,
                0,
                user_channel_id,
                None,
                Some(config),
            )
            .map_err(|e| anyhow!("create_channel: {e:?}"))?;
        Ok(())
    }

    /// Sets the LSPS2 service's fault (see [`lsps2::Lsps2Fault`]).
    pub fn set_lsps2_fault(&self, fault: lsps2::Lsps2Fault) -> Result<(), String> {
        fault.validate()?;
        tracing::info!(target: "lsp_flow::lsps2", ?fault, "LSPS2 fault mode set");
        *self.ldk.lsps2.fault.lock().unwrap() = fault;
        Ok(())
    }

    /// The funding transactions the LSPS2 service held back for `client_trusts_lsp` buys, with
    /// whether the chain had each just before and after the opening fee was collected.
    pub fn lsps2_held_funding(&self) -> Vec<lsps2::funding::HeldFunding> {
        self.ldk.lsps2.held_funding()
    }

    /// The funding txid of the channel opened as `user_channel_id`: `Some(None)` while it is
    /// still being negotiated, `None` once no such channel exists (the peer refused it).
    pub fn funding_txid(&self, user_channel_id: u128) -> Option<Option<bitcoin::Txid>> {
        self.ldk
            .channel_manager
            .list_channels()
            .into_iter()
            .find(|c| c.user_channel_id == user_channel_id)
            .map(|c| c.funding_txo.map(|o| o.txid))
    }

    /// A snapshot of identity, channels, funds and JIT records.
    pub fn status(&self) -> FlowLspStatus {
        let (spendable, total) = self.wallet.balance(self.chain.as_ref());
        let st = self.state.lock().unwrap();
        let mut jit: Vec<JitSummary> = st.jits.values().map(|r| r.summary()).collect();
        jit.sort_by_key(|j| j.created_at_secs);
        FlowLspStatus {
            node_id: self.node_id().to_string(),
            listen_addr: self.listen_addr.to_string(),
            best_block_height: self.best_block_height(),
            funding_address: self.wallet.address().to_string(),
            onchain_spendable_sat: spendable,
            onchain_total_sat: total,
            fault: st.fault,
            peers: self
                .ldk
                .peer_manager
                .list_peers()
                .into_iter()
                .map(|p| p.counterparty_node_id.to_string())
                .collect(),
            channels: self
                .ldk
                .channel_manager
                .list_channels()
                .iter()
                .map(ChannelStatus::from)
                .collect(),
            jit,
            broadcast_refusals: self.ldk.broadcaster.refusals.lock().unwrap().clone(),
        }
    }

    /// The JIT record for the wrapped invoice with `payment_hash`, as a summary.
    pub fn jit_status(&self, payment_hash: &[u8; 32]) -> Option<JitSummary> {
        self.state
            .lock()
            .unwrap()
            .jits
            .get(&PaymentHash(*payment_hash))
            .map(|r| r.summary())
    }

    /// Number of channel monitors persisted (in memory).
    pub fn persisted_monitors(&self) -> usize {
        self.ldk.persister.len()
    }

    /// This node's network graph, fed by gossip from its peers (the devnet's RGS source).
    pub(crate) fn graph(&self) -> Arc<node::Graph> {
        self.ldk.graph.clone()
    }

    /// Nodes known from gossip (the network graph), for diagnostics.
    pub fn graph_node_count(&self) -> usize {
        self.ldk.graph.read_only().nodes().len()
    }

    pub(crate) fn jit_record(&self, hash: &PaymentHash) -> Option<JitRecord> {
        self.state.lock().unwrap().jits.get(hash).cloned()
    }

    pub(crate) fn set_jit_state(&self, hash: &PaymentHash, state: JitState) {
        if let Some(r) = self.state.lock().unwrap().jits.get_mut(hash) {
            r.state = state;
        }
    }

    /// Largest HTLC we can send now to `node_id` over one usable channel.
    pub(crate) fn usable_outbound_msat(&self, node_id: &PublicKey) -> u64 {
        self.ldk
            .channel_manager
            .list_channels_with_counterparty(node_id)
            .iter()
            .filter(|c| c.is_usable)
            .map(|c| c.next_outbound_htlc_limit_msat)
            .max()
            .unwrap_or(0)
    }
}

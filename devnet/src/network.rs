//! Bringing the whole devnet up, in order: chain and Esplora, the nodes, their funds, the payer's
//! confirmed channels to both LSPs, the proxy, the control API.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Network, ScriptBuf};
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::Event;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::chain::{ChainAccess, KernelChain};
use crate::endpoints::{Endpoints, FlowEndpoint, NodeEndpoint};
use crate::lsp_flow::{ConnectionMethod, FeePolicy, FlowLsp, FlowLspConfig};
use crate::lsp_lsps2::{self, Lsps2Terms};
use crate::nodes::{seed_for, NodeSpec, RunningNode};
use crate::payer;
use crate::proxy::{self, AllowList};

/// Capacity of the skim source's channel to the REST LSP, sat: above any test's JIT payment.
const SKIM_SOURCE_CHANNEL_SAT: u64 = 5_000_000;

/// Where the devnet listens. A port of 0 picks a free one (tests); the binary uses fixed defaults
/// so the demo wallet's URLs stay the same between runs.
#[derive(Clone, Debug)]
pub struct Ports {
    pub esplora: u16,
    pub control: u16,
    pub proxy: u16,
    pub flow_http: u16,
    pub flow_p2p: u16,
    pub lsps2_p2p: u16,
    pub payer_p2p: u16,
    pub merchant_p2p: u16,
    /// The Rapid Gossip Sync server.
    pub rgs: u16,
    /// The REST LSP node's own websocket listener (no proxy in between).
    pub flow_ws: u16,
    /// A second Esplora server over the same chain (wallets' fallback).
    pub esplora_fallback: u16,
}

impl Ports {
    /// The binary's defaults.
    pub fn defaults() -> Self {
        Ports {
            esplora: 3002,
            control: 3003,
            proxy: 3004,
            flow_http: 3005,
            flow_p2p: 9736,
            lsps2_p2p: 9735,
            payer_p2p: 9737,
            merchant_p2p: 9738,
            rgs: 3006,
            flow_ws: 3007,
            esplora_fallback: 3008,
        }
    }

    /// All ports free, chosen by the OS (for tests running side by side).
    pub fn any() -> Self {
        Ports {
            esplora: 0,
            control: 0,
            proxy: 0,
            flow_http: 0,
            flow_p2p: 0,
            lsps2_p2p: 0,
            payer_p2p: 0,
            merchant_p2p: 0,
            rgs: 0,
            flow_ws: 0,
            esplora_fallback: 0,
        }
    }
}

/// How to run the devnet.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Node data lives here; wiped on start (the devnet's chain is in memory, so old node state
    /// would not match it).
    pub data_dir: PathBuf,
    pub ports: Ports,
    pub lsps2_terms: Lsps2Terms,
    /// Fee terms of the REST LSP.
    pub flow_fee_ppm: u32,
    pub flow_min_fee_msat: u64,
    /// Capacity of each of the payer's channels to the LSPs, sat.
    pub payer_channel_sat: u64,
}

impl DevnetConfig {
    /// Defaults under `data_dir`, with `ports`.
    pub fn new(data_dir: PathBuf, ports: Ports) -> Self {
        DevnetConfig {
            data_dir,
            ports,
            lsps2_terms: Lsps2Terms::default(),
            flow_fee_ppm: 10_000,
            flow_min_fee_msat: 1_000_000,
            payer_channel_sat: 10_000_000,
        }
    }
}

/// A running devnet.
pub struct Devnet {
    pub chain: Arc<KernelChain>,
    pub lsps2: Arc<RunningNode>,
    pub payer: Arc<RunningNode>,
    /// A public node reachable only over announced channels: from the payer, and from the
    /// LSPS2 LSP (a second path), so that a wallet pays it on a route from the routing graph.
    pub merchant: Arc<RunningNode>,
    pub flow: Arc<FlowLsp>,
    /// A second raw-LDK node with a channel to the REST LSP, from which the LSP's `skim` fault
    /// pays the client (lsp_flow/skim.rs). Nothing else uses it.
    pub flow_skim_source: Arc<FlowLsp>,
    pub endpoints: Endpoints,
    /// Targets the websocket proxy may reach.
    pub proxy_allow: AllowList,
    /// What the RGS server serves: honest snapshots, or a hostile one.
    pub rgs_fault: Arc<std::sync::Mutex<crate::rgs::server::RgsFault>>,
    miner: ScriptBuf,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

async fn bind(port: u16) -> Result<(TcpListener, u16)> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// A free loopback port for a node that binds its own listener.
fn free_port(port: u16) -> Result<u16> {
    if port != 0 {
        return Ok(port);
    }
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Each of the merchant's two channels (from the payer, from the LSPS2 LSP).
pub const MERCHANT_CHANNEL_SAT: u64 = 200_000;
/// Announced channels: the payer's to both LSPs and the merchant's two.
const ANNOUNCED_CHANNELS: usize = 4;

/// `opener` opens an announced channel of `capacity_sat` to `node_id` at `addr` and waits until
/// its funding transaction is on the chain (ldk-node marks funding inputs spent only at the
/// next sync, hence one channel at a time).
async fn open_announced(
    chain: &Arc<KernelChain>,
    opener: &Arc<RunningNode>,
    node_id: PublicKey,
    addr: SocketAddress,
    capacity_sat: u64,
    push_msat: u64,
) -> Result<()> {
    let mut events = opener.subscribe();
    let node = opener.node.clone();
    let push = (push_msat > 0).then_some(push_msat);
    tokio::task::spawn_blocking(move || {
        node.open_announced_channel(node_id, addr, capacity_sat, push, None)
    })
    .await?
    .map_err(|e| anyhow!("{}: open channel to {node_id}: {e:?}", opener.spec.name))?;
    let funding = RunningNode::wait_for(&mut events, Duration::from_secs(30), |e| match e {
        Event::ChannelPending {
            counterparty_node_id,
            funding_txo,
            ..
        } if *counterparty_node_id == node_id => Some(*funding_txo),
        _ => None,
    })
    .await
    .with_context(|| format!("{}: channel to {node_id} not pending", opener.spec.name))?;
    if chain.get_tx(&funding.txid).is_none() {
        bail!(
            "{}: funding tx {} for {node_id} did not reach the chain",
            opener.spec.name,
            funding.txid
        );
    }
    opener.sync().await
}

fn serve_router(listener: TcpListener, router: axum::Router, what: &'static str) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("{what} server stopped: {e}");
        }
    })
}

impl Devnet {
    /// Starts everything and returns once the payer's channels to both LSPs are confirmed and
    /// usable. Must run on a multi-threaded tokio runtime.
    pub async fn start(config: DevnetConfig) -> Result<Arc<Devnet>> {
        let started = Instant::now();
        if config.data_dir.exists() {
            std::fs::remove_dir_all(&config.data_dir)
                .with_context(|| format!("wiping {}", config.data_dir.display()))?;
        }
        std::fs::create_dir_all(&config.data_dir)?;
        let mut tasks = Vec::new();

        // The chain and its Esplora server.
        let chain = KernelChain::new().context("starting the regtest chain")?;
        let (esplora_listener, esplora_port) = bind(config.ports.esplora).await?;
        let esplora_url = format!("http://127.0.0.1:{esplora_port}");
        tasks.push(serve_router(
            esplora_listener,
            crate::chain::esplora_router(chain.clone()),
            "esplora",
        ));
        // The same chain from a second server, for wallets' `esploraFallbackUrl`.
        let (fallback_listener, fallback_port) = bind(config.ports.esplora_fallback).await?;
        tasks.push(serve_router(
            fallback_listener,
            crate::chain::esplora_router_as(chain.clone(), crate::chain::EsploraServer::Fallback),
            "esplora (fallback)",
        ));

        // The three nodes.
        let spec = |name: &str, port: u16| -> Result<NodeSpec> {
            Ok(NodeSpec {
                name: name.to_owned(),
                data_dir: config.data_dir.join(name),
                esplora_url: esplora_url.clone(),
                listen_port: free_port(port)?,
                seed: seed_for(name),
            })
        };
        let lsps2 = {
            let spec = spec("lsps2-lsp", config.ports.lsps2_p2p)?;
            let terms = config.lsps2_terms.clone();
            tokio::task::spawn_blocking(move || lsp_lsps2::start(spec, &terms)).await??
        };
        let payer_node = {
            let spec = spec("payer", config.ports.payer_p2p)?;
            tokio::task::spawn_blocking(move || payer::start(spec)).await??
        };
        let merchant = {
            let spec = spec("merchant", config.ports.merchant_p2p)?;
            tokio::task::spawn_blocking(move || payer::start(spec)).await??
        };
        let (proxy_listener, proxy_port) = bind(config.ports.proxy).await?;
        let proxy_url = format!("ws://127.0.0.1:{proxy_port}");
        let flow_p2p_port = free_port(config.ports.flow_p2p)?;
        let (flow_http_listener, flow_http_port) = bind(config.ports.flow_http).await?;
        let flow_ws = proxy::path_for(SocketAddrV4::new([127, 0, 0, 1].into(), flow_p2p_port));
        let flow_addr = SocketAddr::from(([127, 0, 0, 1], flow_p2p_port));
        let flow = FlowLsp::start(
            FlowLspConfig {
                seed: Some(seed_for("flow-lsp")[..32].try_into().expect("32 bytes")),
                listen_addr: flow_addr,
                connection_methods: vec![
                    ConnectionMethod::for_socket(flow_addr),
                    ConnectionMethod {
                        address: format!("{proxy_url}{flow_ws}"),
                        port: proxy_port,
                        kind: "websocket".into(),
                    },
                ],
                lsps2_terms: config.lsps2_terms.clone(),
                fee_policy: FeePolicy {
                    fee_ppm: config.flow_fee_ppm as u64,
                    min_fee_msat: config.flow_min_fee_msat,
                    ..FeePolicy::default()
                },
                ..FlowLspConfig::default()
            },
            chain.clone() as Arc<dyn ChainAccess>,
        )
        .await
        .context("starting the REST LSP")?;
        tasks.push(serve_router(
            flow_http_listener,
            crate::lsp_flow::router(flow.clone()),
            "flow LSP",
        ));
        let flow_skim_source = FlowLsp::start(
            FlowLspConfig {
                seed: Some(
                    seed_for("flow-skim-source")[..32]
                        .try_into()
                        .expect("32 bytes"),
                ),
                listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..FlowLspConfig::default()
            },
            chain.clone() as Arc<dyn ChainAccess>,
        )
        .await
        .context("starting the REST LSP's skim source")?;

        // Funds: 50 BTC coinbases to each LSP and the payer, then maturity. The merchant has none:
        // its ldk-node refuses anchor channels without a 25 000 sat reserve, and its openers fall
        // back to legacy channels (a ci-fresh run with a funded merchant, whose channels were then
        // anchor channels, once missed the merchant's channel_update in the REST LSP's graph
        // within 60 s; the legacy setup never has).
        let miner = Address::p2wsh(&ScriptBuf::new_op_return([]), Network::Regtest).script_pubkey();
        for node in [&lsps2, &payer_node] {
            let addr = node
                .node
                .onchain_payment()
                .new_address()
                .map_err(|e| anyhow!("{e:?}"))?;
            chain
                .mine(2, &addr.script_pubkey())
                .map_err(|e| anyhow!("mining: {e}"))?;
        }
        for raw in [&flow, &flow_skim_source] {
            chain
                .mine(2, &raw.funding_address().script_pubkey())
                .map_err(|e| anyhow!("mining: {e}"))?;
        }
        chain
            .mine(101, &miner)
            .map_err(|e| anyhow!("mining: {e}"))?;

        // Only what a wallet must reach: its LSPs' nodes (the ldk-node LSP, and the REST LSP's
        // node, which also serves the raw LSPS2 service). The payer pays over the LSPs; a
        // wallet never dials it, so the proxy does not carry anyone there.
        let proxy_allow = AllowList::default();
        for port in [lsps2.spec.listen_port, flow_p2p_port] {
            proxy_allow.allow(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        let proxy_task_allow = proxy_allow.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = proxy::serve(proxy_listener, proxy_task_allow).await {
                tracing::error!("proxy stopped: {e}");
            }
        }));

        // The REST LSP node's own websocket, which wallets may dial without the proxy.
        let (flow_ws_listener, flow_ws_port) = bind(config.ports.flow_ws).await?;
        tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::node_websocket::serve(flow_ws_listener, flow_addr).await {
                tracing::error!("node websocket stopped: {e}");
            }
        }));

        // The routing graph for wallets: RGS snapshots of the REST LSP's graph, which gossip
        // from its peers (the payer and the LSPS2 LSP through it) feeds.
        let (rgs_listener, rgs_port) = bind(config.ports.rgs).await?;
        let rgs_fault = Arc::new(std::sync::Mutex::new(crate::rgs::server::RgsFault::None));
        tasks.push(serve_router(
            rgs_listener,
            crate::rgs::server::router(flow.graph(), rgs_fault.clone()),
            "RGS",
        ));

        let endpoints = Endpoints {
            network: "regtest".into(),
            esplora_url,
            esplora_fallback_url: format!("http://127.0.0.1:{fallback_port}"),
            rgs_url: format!("http://127.0.0.1:{rgs_port}/snapshot"),
            control_url: String::new(),
            proxy_url,
            flow_lsp: FlowEndpoint {
                url: format!("http://127.0.0.1:{flow_http_port}"),
                node_id: flow.node_id().to_string(),
                host: "127.0.0.1".into(),
                port: flow_p2p_port,
            },
            lsps2_lsp: NodeEndpoint {
                node_id: lsps2.node.node_id().to_string(),
                host: "127.0.0.1".into(),
                port: lsps2.spec.listen_port,
            },
            lsps2_raw_lsp: NodeEndpoint {
                node_id: flow.node_id().to_string(),
                host: "127.0.0.1".into(),
                port: flow_p2p_port,
            },
            flow_node_websocket_url: format!("ws://127.0.0.1:{flow_ws_port}"),
            payer: NodeEndpoint {
                node_id: payer_node.node.node_id().to_string(),
                host: "127.0.0.1".into(),
                port: payer_node.spec.listen_port,
            },
            merchant: NodeEndpoint {
                node_id: merchant.node.node_id().to_string(),
                host: "127.0.0.1".into(),
                port: merchant.spec.listen_port,
            },
        };
        let mut devnet = Devnet {
            chain,
            lsps2,
            payer: payer_node,
            merchant,
            flow,
            flow_skim_source,
            endpoints,
            proxy_allow,
            rgs_fault,
            miner,
            tasks: std::sync::Mutex::new(tasks),
        };
        devnet.sync_all().await?;
        devnet.open_skim_source_channel().await?;
        devnet.open_payer_channels(config.payer_channel_sat).await?;
        devnet.wait_skim_source_usable().await?;
        devnet.wait_graph_complete().await?;
        let sync_loop = devnet.spawn_sync_loop();
        devnet.tasks.get_mut().expect("tasks lock").push(sync_loop);

        let (control_listener, control_port) = bind(config.ports.control).await?;
        devnet.endpoints.control_url = format!("http://127.0.0.1:{control_port}");
        let devnet = Arc::new(devnet);
        let control = serve_router(
            control_listener,
            crate::control::router(devnet.clone()),
            "control",
        );
        devnet.tasks.lock().expect("tasks lock").push(control);
        tracing::info!("devnet up in {:?}", started.elapsed());
        Ok(devnet)
    }

    /// Mines `count` blocks (coinbase to an unspendable script) and syncs every ldk-node node.
    pub async fn mine(&self, count: u32) -> Result<Vec<bitcoin::BlockHash>> {
        mine_and_sync(
            &self.chain,
            &self.miner,
            &[&self.lsps2, &self.payer, &self.merchant],
            count,
        )
        .await
    }

    /// Syncs the ldk-node nodes' wallets with the chain.
    pub async fn sync_all(&self) -> Result<()> {
        for node in [&self.lsps2, &self.payer, &self.merchant] {
            node.sync().await?;
        }
        Ok(())
    }

    /// The payer opens an announced channel to each LSP, one at a time (ldk-node marks funding
    /// inputs spent only at the next sync), then six blocks confirm them. A tenth of each channel
    /// is pushed to the LSP, so that the LSP holds more than its 1% reserve there from the start
    /// and can forward a wallet's payment to the payer before the payer has paid anyone.
    async fn open_payer_channels(&self, capacity_sat: u64) -> Result<()> {
        let push_msat = capacity_sat * 1000 / 10;
        let targets = [
            (
                self.lsps2.node.node_id(),
                SocketAddress::TcpIpV4 {
                    addr: [127, 0, 0, 1],
                    port: self.lsps2.spec.listen_port,
                },
            ),
            (
                self.flow.node_id(),
                SocketAddress::TcpIpV4 {
                    addr: [127, 0, 0, 1],
                    port: self.endpoints.flow_lsp.port,
                },
            ),
        ];
        for (node_id, addr) in targets.clone() {
            open_announced(
                &self.chain,
                &self.payer,
                node_id,
                addr,
                capacity_sat,
                push_msat,
            )
            .await?;
        }
        // The merchant's two ways in: from the payer and from the LSPS2 LSP, each too small
        // for a payment that needs both (MPP).
        let merchant = (
            self.merchant.node.node_id(),
            SocketAddress::TcpIpV4 {
                addr: [127, 0, 0, 1],
                port: self.merchant.spec.listen_port,
            },
        );
        for opener in [&self.payer, &self.lsps2] {
            open_announced(
                &self.chain,
                opener,
                merchant.0,
                merchant.1.clone(),
                MERCHANT_CHANNEL_SAT,
                0,
            )
            .await?;
        }
        self.mine(6).await?;
        let channels = targets
            .iter()
            .map(|(id, _)| (&self.payer, *id))
            .chain([(&self.payer, merchant.0), (&self.lsps2, merchant.0)]);
        for (opener, node_id) in channels {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let usable = opener
                    .node
                    .list_channels()
                    .iter()
                    .any(|c| c.counterparty_node_id == node_id && c.is_usable);
                if usable {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "{}: channel to {node_id} not usable after 6 blocks",
                        opener.spec.name
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Waits until the REST LSP's graph (the RGS server's source) has the four announced
    /// channels, each with both directions' policies, so a wallet's first snapshot has them.
    ///
    /// A gossip message broadcast while a connection was still coming up can be missed, and
    /// LDK sends it again only an hour (six blocks) later. Reconnecting does not help: LDK asks
    /// its first five peers only for a full sync, and the LSP has used those up by now. So
    /// every 10 s without a complete graph the signed messages it lacks are taken from the
    /// ldk-node nodes' graphs ([`Devnet::fill_graph_gap`]); LDK checks their signatures as if
    /// they came from a peer.
    async fn wait_graph_complete(&self) -> Result<()> {
        let graph = self.flow.graph();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut resync_at = Instant::now() + Duration::from_secs(10);
        loop {
            let complete = complete_channels(&graph);
            if complete >= ANNOUNCED_CHANNELS {
                return Ok(());
            }
            if Instant::now() > deadline {
                let read = graph.read_only();
                let have: Vec<String> = read
                    .channels()
                    .unordered_iter()
                    .map(|(scid, c)| {
                        format!(
                            "{scid}: {}→{} {} / {}",
                            c.node_one,
                            c.node_two,
                            c.one_to_two.is_some(),
                            c.two_to_one.is_some()
                        )
                    })
                    .collect();
                bail!(
                    "the REST LSP's graph has {complete} of {ANNOUNCED_CHANNELS} announced channels with both policies after 60 s: {have:?}"
                );
            }
            if Instant::now() > resync_at {
                let filled = self.fill_graph_gap(&graph);
                tracing::warn!(
                    complete,
                    filled,
                    "the REST LSP's graph is incomplete: copied the gossip it missed from the ldk-node nodes' graphs"
                );
                resync_at = Instant::now() + Duration::from_secs(10);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// How many of the announced channels, with both policies, an empty graph holds after
    /// [`Devnet::fill_graph_gap`]: the recovery [`Devnet::wait_graph_complete`] relies on when
    /// gossip was missed, checked by a test because it is rarely needed.
    pub fn channels_recoverable_from_peers(&self) -> usize {
        let logger = Arc::new(crate::lsp_flow::ldk_glue::TracingLogger);
        let graph = crate::lsp_flow::Graph::new(Network::Regtest, logger);
        self.fill_graph_gap(&graph);
        complete_channels(&graph)
    }

    /// Gives `graph` (the REST LSP's) every channel announcement and channel update it lacks (or
    /// holds an older one of) that an ldk-node node's graph holds, and returns how many LDK
    /// took. Each is the signed message as gossiped; LDK verifies it as it would a peer's.
    fn fill_graph_gap(&self, graph: &crate::lsp_flow::Graph) -> usize {
        let mut filled = 0;
        for node in [&self.payer, &self.lsps2, &self.merchant] {
            let theirs = node.node.network_graph();
            for scid in theirs.list_channels() {
                let Some(info) = theirs.channel(scid) else {
                    continue;
                };
                let ours = graph.read_only().channel(scid).cloned();
                if ours.is_none() {
                    if let Some(announcement) = &info.announcement_message {
                        if graph
                            .update_channel_from_announcement_no_lookup(announcement)
                            .is_ok()
                        {
                            filled += 1;
                        }
                    }
                }
                let ours_updates = ours.map(|c| (c.one_to_two, c.two_to_one));
                let (our_one, our_two) = ours_updates.unwrap_or((None, None));
                for (their, our) in [(info.one_to_two, our_one), (info.two_to_one, our_two)] {
                    let Some(update) = their.and_then(|u| u.last_update_message) else {
                        continue;
                    };
                    let newer = our.is_none_or(|o| o.last_update < update.contents.timestamp);
                    if newer && graph.update_channel(&update).is_ok() {
                        filled += 1;
                    }
                }
            }
        }
        filled
    }

    /// The skim source opens a private channel to the REST LSP; the blocks that confirm the
    /// payer's channels confirm it too.
    async fn open_skim_source_channel(&self) -> Result<()> {
        let (source, flow) = (&self.flow_skim_source, self.flow.node_id());
        source.connect(flow, self.flow.listen_addr()).await?;
        let user_channel_id = source.open_channel(flow, SKIM_SOURCE_CHANNEL_SAT, 0, false)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match source.funding_txid(user_channel_id) {
                Some(Some(txid)) if self.chain.get_tx(&txid).is_some() => break,
                None => bail!("skim source: the REST LSP refused its channel"),
                _ if Instant::now() > deadline => {
                    bail!("skim source: channel funding not broadcast")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        Ok(())
    }

    async fn wait_skim_source_usable(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .flow_skim_source
            .usable_outbound_msat(&self.flow.node_id())
            == 0
        {
            if Instant::now() > deadline {
                bail!("skim source: channel to the REST LSP not usable after 6 blocks");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.flow.set_skim_source(self.flow_skim_source.clone());
        Ok(())
    }

    /// Keeps the ldk-node nodes' wallets in step with the chain: on every new block at once, and
    /// every two seconds for what entered the mempool (JIT channel funding).
    fn spawn_sync_loop(&self) -> JoinHandle<()> {
        let nodes = [self.lsps2.clone(), self.payer.clone()];
        let mut tips = self.chain.subscribe();
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(Duration::from_secs(2), tips.recv()).await;
                for node in &nodes {
                    if let Err(e) = node.sync().await {
                        tracing::debug!("background sync: {e}");
                    }
                }
            }
        })
    }

    /// Stops every node and server.
    pub async fn stop(&self) {
        for task in self.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
        self.flow.stop();
        self.flow_skim_source.stop();
        for node in [
            self.lsps2.clone(),
            self.payer.clone(),
            self.merchant.clone(),
        ] {
            let _ = tokio::task::spawn_blocking(move || node.stop()).await;
        }
    }
}

/// Mines `count` blocks to `to` and syncs `nodes`.
pub async fn mine_and_sync(
    chain: &Arc<KernelChain>,
    to: &ScriptBuf,
    nodes: &[&Arc<RunningNode>],
    count: u32,
) -> Result<Vec<bitcoin::BlockHash>> {
    let hashes = chain.mine(count, to).map_err(|e| anyhow!("mining: {e}"))?;
    for node in nodes {
        node.sync().await?;
    }
    Ok(hashes)
}

/// How many channels of `graph` have both directions' policies.
fn complete_channels(graph: &crate::lsp_flow::Graph) -> usize {
    graph
        .read_only()
        .channels()
        .unordered_iter()
        .filter(|(_, c)| c.one_to_two.is_some() && c.two_to_one.is_some())
        .count()
}

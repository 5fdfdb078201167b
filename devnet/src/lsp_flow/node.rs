//! Construction of the LDK objects of the flow LSP (one node identity): keys, chain monitor,
//! channel manager, router, gossip, peer manager.

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bitcoin::BlockHash;
use lightning::chain::chainmonitor;
use lightning::chain::{BestBlock, Filter, Listen};
use lightning::ln::channelmanager::{self, ChainParameters};
use lightning::ln::peer_handler::{self, IgnoringMessageHandler, MessageHandler};
use lightning::onion_message::messenger::NullMessageRouter;
use lightning::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{InMemorySigner, KeysManager, NodeSigner};
use lightning::util::config::UserConfig;
use lightning_net_tokio::SocketDescriptor;

use super::chain_sync::BlockFeeder;
use super::config::FlowLspConfig;
use super::ldk_glue::{ChainBroadcaster, ConstantFeeEstimator, MemoryPersister, TracingLogger};
use super::lsps2::{FaultyLsps, Lsps2Service};
use crate::chain::ChainAccess;

pub(crate) type ChainMonitor = chainmonitor::ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<ChainBroadcaster>,
    Arc<ConstantFeeEstimator>,
    Arc<TracingLogger>,
    Arc<MemoryPersister>,
    Arc<KeysManager>,
>;
pub(crate) type Graph = NetworkGraph<Arc<TracingLogger>>;
pub(crate) type Scorer = ProbabilisticScorer<Arc<Graph>, Arc<TracingLogger>>;
pub(crate) type Router = DefaultRouter<
    Arc<Graph>,
    Arc<TracingLogger>,
    Arc<KeysManager>,
    Arc<RwLock<Scorer>>,
    ProbabilisticScoringFeeParameters,
    Scorer,
>;
pub(crate) type ChannelManager = channelmanager::ChannelManager<
    Arc<ChainMonitor>,
    Arc<ChainBroadcaster>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<ConstantFeeEstimator>,
    Arc<Router>,
    Arc<NullMessageRouter>,
    Arc<TracingLogger>,
>;
pub(crate) type GossipSync =
    P2PGossipSync<Arc<Graph>, Arc<dyn UtxoLookup + Send + Sync>, Arc<TracingLogger>>;
pub(crate) type PeerManager = peer_handler::PeerManager<
    SocketDescriptor,
    Arc<ChannelManager>,
    Arc<GossipSync>,
    Arc<IgnoringMessageHandler>,
    Arc<TracingLogger>,
    Arc<FaultyLsps>,
    Arc<KeysManager>,
    Arc<ChainMonitor>,
>;

/// The LDK objects of one node.
pub(crate) struct LdkNode {
    pub keys: Arc<KeysManager>,
    pub broadcaster: Arc<ChainBroadcaster>,
    pub persister: Arc<MemoryPersister>,
    pub chain_monitor: Arc<ChainMonitor>,
    pub channel_manager: Arc<ChannelManager>,
    pub peer_manager: Arc<PeerManager>,
    pub graph: Arc<Graph>,
    /// The LSPS2 service (lightning-liquidity) on this node.
    pub lsps2: Lsps2Service,
    /// The configuration every channel starts from.
    pub base_config: UserConfig,
}

/// The node's default channel configuration: accept every inbound channel (announced or not),
/// usable after `inbound_channel_min_depth` confirmations, 100% of an inbound channel may be in
/// flight (the default 10% would refuse most payer HTLCs), forwards to private channels allowed,
/// anchor channels (`anchors_zero_fee_htlc_tx`) wherever the peer takes them, as Olympus opens
/// them; their fee bumps come from the funding wallet ([`super::bump`]).
pub(crate) fn base_user_config(config: &FlowLspConfig) -> UserConfig {
    let mut c = UserConfig::default();
    c.channel_handshake_config.minimum_depth = config.inbound_channel_min_depth.max(1);
    c.channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
    c.channel_handshake_config.announce_for_forwarding = false;
    c.channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = true;
    c.channel_handshake_limits
        .force_announced_channel_preference = false;
    c.channel_handshake_limits.trust_own_funding_0conf = true;
    c.accept_inbound_channels = true;
    // LDK accepts anchor channels only by hand (events.rs accepts every one).
    c.manually_accept_inbound_channels = true;
    c.accept_forwards_to_priv_channels = true;
    // Only the `skim` fault hands out intercept SCIDs; an HTLC to any other is failed back.
    c.accept_intercept_htlcs = true;
    c
}

/// The configuration for a channel the LSP opens: private with SCID privacy (alias) unless
/// `announce`.
pub(crate) fn outbound_channel_config(base: &UserConfig, announce: bool) -> UserConfig {
    let mut c = base.clone();
    c.channel_handshake_config.announce_for_forwarding = announce;
    c.channel_handshake_config.negotiate_scid_privacy = !announce;
    c
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Builds the node at the chain's current tip. The ChannelManager starts one block below the tip
/// and the tip block is then connected, so LDK has seen a block header time before any invoice
/// is made. Returns the node and the block feeder that keeps it in sync.
pub(crate) fn build(
    config: &FlowLspConfig,
    seed: &[u8; 32],
    chain: Arc<dyn ChainAccess>,
) -> anyhow::Result<(LdkNode, BlockFeeder)> {
    let logger = Arc::new(TracingLogger);
    let fee_estimator = Arc::new(ConstantFeeEstimator {
        base: config.feerate_sat_per_kw,
    });
    let broadcaster = Arc::new(ChainBroadcaster {
        chain: chain.clone(),
        refusals: Default::default(),
    });
    let persister = Arc::new(MemoryPersister::default());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("clock before 1970")?;
    let keys = Arc::new(KeysManager::new(
        seed,
        now.as_secs(),
        now.subsec_nanos(),
        true,
    ));

    let (tip_height, tip_hash) = chain.tip();
    let start: (u32, BlockHash) = if tip_height > 0 {
        let below = chain
            .block_at(tip_height - 1)
            .with_context(|| format!("chain has no block at {}", tip_height - 1))?;
        (tip_height - 1, below.block_hash())
    } else {
        (0, tip_hash)
    };

    let chain_monitor: Arc<ChainMonitor> = Arc::new(chainmonitor::ChainMonitor::new(
        None,
        broadcaster.clone(),
        logger.clone(),
        fee_estimator.clone(),
        persister.clone(),
        keys.clone(),
        keys.get_peer_storage_key(),
    ));
    let graph = Arc::new(NetworkGraph::new(config.network, logger.clone()));
    let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
        ProbabilisticScoringDecayParameters::default(),
        graph.clone(),
        logger.clone(),
    )));
    let router = Arc::new(DefaultRouter::new(
        graph.clone(),
        logger.clone(),
        keys.clone(),
        scorer,
        ProbabilisticScoringFeeParameters::default(),
    ));
    let base_config = base_user_config(config);
    let channel_manager: Arc<ChannelManager> = Arc::new(channelmanager::ChannelManager::new(
        fee_estimator,
        chain_monitor.clone(),
        broadcaster.clone(),
        router,
        Arc::new(NullMessageRouter {}),
        logger.clone(),
        keys.clone(),
        keys.clone(),
        keys.clone(),
        base_config.clone(),
        ChainParameters {
            network: config.network,
            best_block: BestBlock {
                block_hash: start.1,
                height: start.0,
            },
        },
        now_secs() as u32,
    ));
    let lsps2 = Lsps2Service::new(
        keys.clone(),
        channel_manager.clone(),
        broadcaster.clone(),
        config.lsps2_terms.clone(),
    )?;
    let gossip: Arc<GossipSync> = Arc::new(P2PGossipSync::new(graph.clone(), None, logger.clone()));
    let peer_manager: Arc<PeerManager> = Arc::new(peer_handler::PeerManager::new(
        MessageHandler {
            chan_handler: channel_manager.clone(),
            route_handler: gossip,
            onion_message_handler: Arc::new(IgnoringMessageHandler {}),
            custom_message_handler: Arc::new(lsps2.message_handler()),
            send_only_message_handler: chain_monitor.clone(),
        },
        now_secs() as u32,
        &rand::random::<[u8; 32]>(),
        logger,
        keys.clone(),
    ));
    let listeners: Vec<Arc<dyn Listen + Send + Sync>> =
        vec![chain_monitor.clone(), channel_manager.clone()];
    let mut feeder = BlockFeeder::new(chain, listeners, start);
    feeder
        .sync()
        .map_err(|e| anyhow::anyhow!("initial chain sync: {e}"))?;
    Ok((
        LdkNode {
            keys,
            broadcaster,
            persister,
            chain_monitor,
            channel_manager,
            peer_manager,
            graph,
            lsps2,
            base_config,
        },
        feeder,
    ))
}

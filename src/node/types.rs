//! The concrete LDK types of the wallet node. Everything is shared through `Arc` because LDK's
//! traits are implemented for `Arc`-held parts; the browser has one thread, so none of it is
//! ever touched concurrently.

use std::sync::Arc;

use lightning::blinded_path::EmptyNodeIdLookUp;
use lightning::chain::chainmonitor::{self, AsyncPersister};
use lightning::ln::channelmanager;
use lightning::ln::peer_handler::{self, IgnoringMessageHandler};
use lightning::onion_message::messenger::{DefaultMessageRouter, OnionMessenger};
use lightning::routing::gossip::{self, P2PGossipSync};
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringFeeParameters};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::InMemorySigner;
use lightning::util::sweep;
use lightning_liquidity::utils::time::TimeProvider;
use lightning_rapid_gossip_sync::RapidGossipSync;

use super::broadcaster::Broadcaster;
use super::fee_estimator::WalletFeeEstimator;
use super::kv::NodeKv;
use super::logger::NodeLogger;
use super::relay_filter::RelayFilter;
use super::scorer::ScorerCell;
use crate::net::WsDescriptor;
use crate::onchain::signer::WalletKeys;
use crate::onchain::wallet::OnchainWallet;
use crate::spawn::LocalSpawner;

/// The LDK logger.
pub type Logger = Arc<NodeLogger>;
/// The key-value store LDK persists into.
pub type Kv = Arc<NodeKv>;
/// Keys, signer and entropy: LDK's `KeysManager` with the on-chain wallet's scripts.
pub type Keys = Arc<WalletKeys>;

/// Async monitor persistence over the store.
pub type Persister =
    AsyncPersister<Kv, LocalSpawner, Logger, Keys, Keys, Arc<Broadcaster>, Arc<WalletFeeEstimator>>;

/// The monitor-updating persister as built (before the chain monitor takes it).
pub type MonitorPersister = lightning::util::persist::MonitorUpdatingPersisterAsync<
    Kv,
    LocalSpawner,
    Logger,
    Keys,
    Keys,
    Arc<Broadcaster>,
    Arc<WalletFeeEstimator>,
>;

/// The chain monitor.
pub type ChainMonitor = chainmonitor::ChainMonitor<
    InMemorySigner,
    Arc<RelayFilter>,
    Arc<Broadcaster>,
    Arc<WalletFeeEstimator>,
    Logger,
    Persister,
    Keys,
>;

/// The network graph.
pub type NetworkGraph = gossip::NetworkGraph<Logger>;

/// The route scorer.
pub type Scorer = ScorerCell<ProbabilisticScorer<Arc<NetworkGraph>, Logger>>;

/// The router.
pub type Router = DefaultRouter<
    Arc<NetworkGraph>,
    Logger,
    Keys,
    Arc<Scorer>,
    ProbabilisticScoringFeeParameters,
    ProbabilisticScorer<Arc<NetworkGraph>, Logger>,
>;

/// The onion message router.
pub type MessageRouter = DefaultMessageRouter<Arc<NetworkGraph>, Logger, Keys>;

/// The channel manager.
pub type ChannelManager = channelmanager::ChannelManager<
    Arc<ChainMonitor>,
    Arc<Broadcaster>,
    Keys,
    Keys,
    Keys,
    Arc<WalletFeeEstimator>,
    Arc<Router>,
    Arc<MessageRouter>,
    Logger,
>;

/// A UTXO lookup for gossip (none: announcements are taken unchecked from the LSP).
pub type DynUtxoLookup = dyn UtxoLookup;

/// Gossip from peers: not used (the tab takes no gossip from its peers), only named because
/// LDK's background processor is generic over both kinds of sync.
pub type P2PSync = P2PGossipSync<Arc<NetworkGraph>, Arc<DynUtxoLookup>, Logger>;

/// The routing graph's source: Rapid Gossip Sync snapshots ([`crate::gossip`]).
pub type RapidSync = RapidGossipSync<Arc<NetworkGraph>, Logger>;

/// The clock the liquidity manager reads.
pub struct JsTimeProvider;

impl TimeProvider for JsTimeProvider {
    fn duration_since_epoch(&self) -> core::time::Duration {
        crate::time::since_unix_epoch()
    }
}

/// The LSPS client (lightning-liquidity).
pub type LiquidityManager = lightning_liquidity::LiquidityManager<
    Keys,
    Keys,
    Arc<ChannelManager>,
    Arc<RelayFilter>,
    Kv,
    Arc<JsTimeProvider>,
    Arc<Broadcaster>,
>;

/// The liquidity manager behind the raw-LSPS-message peek of the JIT receive
/// ([`crate::lsp::lsps_peek`]): the peer manager's custom message handler.
pub type LspsPeek = crate::lsp::lsps_peek::LspsPeek<Arc<LiquidityManager>>;

/// The peer manager.
pub type PeerManager = peer_handler::PeerManager<
    WsDescriptor,
    Arc<ChannelManager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Logger,
    Arc<LspsPeek>,
    Keys,
    Arc<ChainMonitor>,
>;

/// Sweeps outputs of closed channels to the on-chain (BDK) wallet.
pub type Sweeper = sweep::OutputSweeper<
    Arc<Broadcaster>,
    Arc<OnchainWallet>,
    Arc<WalletFeeEstimator>,
    Arc<RelayFilter>,
    Kv,
    Logger,
    Keys,
>;

/// The onion messenger type the background processor is told about (the wallet runs none).
pub type NoOnionMessenger = OnionMessenger<
    Keys,
    Keys,
    Logger,
    Arc<EmptyNodeIdLookUp>,
    Arc<MessageRouter>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
>;

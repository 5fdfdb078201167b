//! Opening a wallet: lock → store → marker → seed → on-chain wallet → keys → chain tip →
//! monitors + manager read or created → sweeper → peer manager → background tasks.
//!
//! Guarantees:
//! - a second open of the same storage name while one runs fails with `ALREADY_RUNNING`
//!   before anything is read; so does an open of the same seed under another storage name
//!   (a second lock, named after the node id, is taken as soon as the seed is known and before
//!   anything is written): two nodes on one seed would fight over the same channels;
//! - an existing wallet (marker present) is only ever read: a missing or undecodable mnemonic,
//!   on-chain wallet, channel manager, channel monitor or sweeper is `STORAGE_CORRUPT` (a fresh
//!   on-chain wallet is never made over existing data either), and nothing is written
//!   before every one of them has been read and checked, so corrupt data is left untouched for
//!   recovery. A fresh node is never started over existing data;
//! - a new wallet is created by one atomic `create_wallet` transaction holding the marker, the
//!   mnemonic, the network, the on-chain wallet (with LDK's first scripts revealed) and the
//!   first channel-manager state; it refuses (and writes nothing)
//!   if the database holds any record. The channel manager is built first (it writes nothing),
//!   so "marker present" always implies "manager present";
//! - monitors are persisted asynchronously (`MonitorUpdatingPersisterAsync` +
//!   `ChainMonitor::new_async_beta`): LDK goes on with a channel update only once its monitor
//!   write is durable in IndexedDB.

// LDK's traits are implemented for `Arc`-held parts; the browser has one thread, so `Arc`s of
// non-`Send` parts are never shared across threads.
#![allow(clippy::arc_with_non_send_sync)]

use core::cell::{Cell, RefCell};
use core::time::Duration;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use bitcoin::BlockHash;
use lightning::chain::chainmonitor::ChainMonitor as LdkChainMonitor;
use lightning::chain::BestBlock;
use lightning::io::Cursor;
use lightning::ln::channelmanager::{ChainParameters, ChannelManagerReadArgs};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler};
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::sign::{EntropySource, KeysManager, NodeSigner, Recipient};
use lightning::util::logger::Level;
use lightning::util::persist::{
    MonitorUpdatingPersisterAsync, CHANNEL_MANAGER_PERSISTENCE_KEY,
    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, OUTPUT_SWEEPER_PERSISTENCE_KEY,
    OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE, OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
    SCORER_PERSISTENCE_KEY, SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
    SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning_liquidity::lsps2::client::LSPS2ClientConfig;
use lightning_liquidity::LiquidityClientConfig;
use lightning_rapid_gossip_sync::RapidGossipSync;

use super::broadcaster::Broadcaster;
use super::event_bus::EventBus;
use super::fee_bump::FeeBumper;
use super::fee_estimator::WalletFeeEstimator;
use super::kv::{NodeKv, StorageHealth};
use super::ldk_config::{reapply_lsp_channel_config, user_config};
use super::logger::{wallet_log, NodeLogger};
use super::relay_filter::RelayFilter;
use super::running::{LspState, Node};
use super::scorer::ScorerCell;
use super::signals::{Kick, Shutdown};
use super::tasks::Tasks;
use super::tip::TipTracker;
use super::types::{
    ChainMonitor, ChannelManager, JsTimeProvider, LiquidityManager, LspsPeek, MessageRouter,
    MonitorPersister, NetworkGraph, PeerManager, Router, Sweeper,
};
use crate::chain::{EsploraClient, EsploraSources, TxSync};
use crate::config::{Config, LspConfig};
use crate::error::Error;
use crate::keys::{WalletSecret, NEW_MNEMONIC_ENTROPY_LEN};
use crate::lsp::jit_store::JitStore;
use crate::net::HttpClient;
use crate::onchain::record::{OnchainRecord, ONCHAIN_KEY, ONCHAIN_NAMESPACE};
use crate::onchain::signer::WalletKeys;
use crate::onchain::wallet::OnchainWallet;
use crate::onchain::OnchainState;
use crate::payment::store::PaymentStore;
use crate::spawn::LocalSpawner;
use crate::store::{acquire_instance_lock, InstanceLock, Store, StoreError, StoreKey};
use crate::time;

/// Store namespace of the wallet's own records.
pub const WALLET_NAMESPACE: &str = "wallet";
/// Key of the mnemonic (UTF-8 phrase) in [`WALLET_NAMESPACE`].
pub const MNEMONIC_KEY: &str = "mnemonic";
/// Key of the network name in [`WALLET_NAMESPACE`].
pub const NETWORK_KEY: &str = "network";

/// Monitor updates kept as separate records before the whole monitor is rewritten.
const MAX_PENDING_MONITOR_UPDATES: u64 = 100;
/// Per-request timeout of Esplora calls.
const ESPLORA_TIMEOUT: Duration = Duration::from_secs(20);

/// The Web Lock name guarding the wallet stored under `storage_name`.
pub fn lock_name(storage_name: &str) -> String {
    format!("tabnode-wallet:{storage_name}")
}

/// The Web Lock name guarding the node `node_id`, whatever storage name holds its seed.
pub fn node_lock_name(node_id: &PublicKey) -> String {
    format!("tabnode-node:{node_id}")
}

fn lock_error(e: StoreError) -> Error {
    match e {
        StoreError::AlreadyRunning => Error::AlreadyRunning,
        _ => Error::StorageFailed,
    }
}

fn store_failed(e: StoreError) -> Error {
    Error::from_store(e, "store record")
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|_| Error::StorageFailed)?;
    Ok(b)
}

/// Whether a wallet was ever created in the database `storage_name`. An invalid name is
/// refused (`INVALID_ARGUMENT`); a database that does not exist is `false` without being
/// created (`indexedDB.databases()` is asked first); an existing one is opened, its marker read,
/// and closed. Takes no lock.
pub async fn wallet_exists(storage_name: &str) -> Result<bool, Error> {
    if !crate::config::storage_name_ok(storage_name) {
        return Err(Error::InvalidArgument {
            argument: "storageName",
            problem: "must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
        });
    }
    if !Store::database_exists(storage_name)
        .await
        .map_err(store_failed)?
    {
        return Ok(false);
    }
    let store = Store::open(storage_name).await.map_err(store_failed)?;
    let marker = store.wallet_marker().await;
    store.close();
    marker
        .map(|m| m.is_some())
        .map_err(|e| Error::from_store(e, "wallet marker"))
}

/// Reads `(primary, secondary, key)`; `Ok(None)` when absent.
async fn read(store: &Store, p: &str, s: &str, k: &str) -> Result<Option<Vec<u8>>, Error> {
    store.read(p, s, k).await.map_err(store_failed)
}

/// Opens the wallet described by `config` and starts it. On failure the instance lock is
/// released (and awaited) before the error is returned, so a retry can take it.
pub async fn open(config: Config) -> Result<Rc<Node>, Error> {
    // 1. One node per wallet.
    let lock = acquire_instance_lock(&lock_name(&config.storage_name))
        .await
        .map_err(lock_error)?;
    let slot = RefCell::new(vec![lock]);
    match build(config, &slot).await {
        Ok(node) => Ok(node),
        Err(e) => {
            let locks: Vec<_> = slot.borrow_mut().drain(..).collect();
            for lock in locks {
                lock.release().await;
            }
            Err(e)
        }
    }
}

async fn build(config: Config, locks: &RefCell<Vec<InstanceLock>>) -> Result<Rc<Node>, Error> {
    let network = config.network.to_bitcoin();
    let logger = Arc::new(NodeLogger::default());

    // 2. The store, and whether a wallet exists in it.
    let store = Store::open(&config.storage_name)
        .await
        .map_err(store_failed)?;
    let marker = store
        .wallet_marker()
        .await
        .map_err(|e| Error::from_store(e, "wallet marker"))?;
    let existing = marker.is_some();

    // 3. The secret.
    let secret = if existing {
        let bytes = read(&store, WALLET_NAMESPACE, "", MNEMONIC_KEY)
            .await?
            .ok_or(Error::StorageCorrupt { what: "mnemonic" })?;
        let phrase =
            String::from_utf8(bytes).map_err(|_| Error::StorageCorrupt { what: "mnemonic" })?;
        let secret =
            WalletSecret::parse(&phrase).map_err(|_| Error::StorageCorrupt { what: "mnemonic" })?;
        let stored_network = read(&store, WALLET_NAMESPACE, "", NETWORK_KEY)
            .await?
            .ok_or(Error::StorageCorrupt { what: "network" })?;
        let stored_network = String::from_utf8(stored_network)
            .ok()
            .and_then(|n| {
                serde_json::from_value::<crate::config::Network>(serde_json::Value::String(n)).ok()
            })
            .ok_or(Error::StorageCorrupt { what: "network" })?;
        if stored_network != config.network {
            return Err(Error::NetworkMismatch {
                expected: stored_network.to_bitcoin(),
                found: network,
            });
        }
        if let Some(given) = &config.mnemonic {
            if WalletSecret::parse(given)? != secret {
                return Err(Error::AlreadyExists {
                    what: "A different wallet in this storage",
                });
            }
        }
        secret
    } else {
        match &config.mnemonic {
            Some(phrase) => WalletSecret::parse(phrase)?,
            None => WalletSecret::from_entropy(&random_bytes::<NEW_MNEMONIC_ENTROPY_LEN>()?),
        }
    };

    // 4. The on-chain wallet: read and checked against the mnemonic, or created (in memory).
    let onchain_state = if existing {
        let bytes = read(&store, ONCHAIN_NAMESPACE, "", ONCHAIN_KEY)
            .await?
            .ok_or(Error::StorageCorrupt {
                what: "on-chain wallet",
            })?;
        OnchainState::load(&secret, network, OnchainRecord::decode(&bytes)?)?
    } else {
        OnchainState::create(&secret, network)?
    };

    // 5. Keys, chain access and the node's plumbing (nothing here writes).
    let now = time::since_unix_epoch();
    let nanos_random = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000;
    let tasks = Tasks::new();
    let bus = EventBus::new(tasks.clone()).map_err(|_| Error::StorageFailed)?;
    let esplora = Rc::new(EsploraSources::new(
        EsploraClient::new(&config.esplora_url, HttpClient::new(ESPLORA_TIMEOUT)),
        config
            .esplora_fallback_url
            .as_deref()
            .map(|url| EsploraClient::new(url, HttpClient::new(ESPLORA_TIMEOUT))),
    ));
    let health = Rc::new(StorageHealth::default());
    let kv = Arc::new(NodeKv::new(store.clone(), health.clone()));
    let broadcast_seen = Rc::new(Cell::new(false));
    let onchain = Arc::new(OnchainWallet::new(
        onchain_state,
        kv.clone(),
        *logger,
        broadcast_seen.clone(),
        tasks.clone(),
    ));
    let keys = Arc::new(WalletKeys::new(
        KeysManager::new(
            &secret.ldk_seed(),
            now.as_secs(),
            now.subsec_nanos() + nanos_random,
            true,
        ),
        onchain.clone(),
    ));
    let node_id = keys
        .get_node_id(Recipient::Node)
        .map_err(|_| Error::StorageFailed)?;
    // One node per seed: nothing has been written yet.
    let node_lock = acquire_instance_lock(&node_lock_name(&node_id))
        .await
        .map_err(lock_error)?;
    locks.borrow_mut().push(node_lock);
    let fee_estimator = Arc::new(WalletFeeEstimator::new(network));
    let broadcaster = Arc::new(Broadcaster::new(
        esplora.clone(),
        *logger,
        bus.clone(),
        broadcast_seen,
        tasks.clone(),
    ));
    let tx_sync = Arc::new(TxSync::new());
    let tip = Arc::new(TipTracker::new());
    let chain_filter = Arc::new(RelayFilter::new());

    // Gossip and scoring: non-critical, rebuilt when missing or unreadable.
    let network_graph: Arc<NetworkGraph> = Arc::new(
        match read(
            &store,
            NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
            NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
            NETWORK_GRAPH_PERSISTENCE_KEY,
        )
        .await?
        {
            Some(bytes) => NetworkGraph::read(&mut Cursor::new(bytes), logger.clone())
                .unwrap_or_else(|_| {
                    wallet_log(
                        &logger,
                        Level::Warn,
                        "unreadable network graph: starting a new one",
                    );
                    NetworkGraph::new(network, logger.clone())
                }),
            None => NetworkGraph::new(network, logger.clone()),
        },
    );
    let decay = ProbabilisticScoringDecayParameters::default();
    let scorer = Arc::new(ScorerCell::new(
        match read(
            &store,
            SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
            SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
            SCORER_PERSISTENCE_KEY,
        )
        .await?
        {
            Some(bytes) => ProbabilisticScorer::read(
                &mut Cursor::new(bytes),
                (decay, network_graph.clone(), logger.clone()),
            )
            .unwrap_or_else(|_| {
                ProbabilisticScorer::new(decay, network_graph.clone(), logger.clone())
            }),
            None => ProbabilisticScorer::new(decay, network_graph.clone(), logger.clone()),
        },
    ));
    let router: Arc<Router> = Arc::new(DefaultRouter::new(
        network_graph.clone(),
        logger.clone(),
        keys.clone(),
        scorer.clone(),
        ProbabilisticScoringFeeParameters::default(),
    ));
    let message_router: Arc<MessageRouter> =
        Arc::new(MessageRouter::new(network_graph.clone(), keys.clone()));

    // 6. Channel monitors.
    let persister: MonitorPersister = MonitorUpdatingPersisterAsync::new(
        kv.clone(),
        LocalSpawner,
        logger.clone(),
        MAX_PENDING_MONITOR_UPDATES,
        keys.clone(),
        keys.clone(),
        broadcaster.clone(),
        fee_estimator.clone(),
    );
    let monitors = persister
        .read_all_channel_monitors_with_updates()
        .await
        .map_err(|e| {
            wallet_log(
                &logger,
                Level::Error,
                &format!("reading channel monitors: {e}"),
            );
            Error::StorageCorrupt {
                what: "channel monitor",
            }
        })?;
    if !existing && !monitors.is_empty() {
        return Err(Error::StorageCorrupt {
            what: "channel monitors without a wallet marker",
        });
    }
    let chain_monitor: Arc<ChainMonitor> = Arc::new(LdkChainMonitor::new_async_beta(
        Some(chain_filter.clone()),
        broadcaster.clone(),
        logger.clone(),
        fee_estimator.clone(),
        persister,
        keys.clone(),
        keys.get_peer_storage_key(),
    ));

    // 7. The channel manager: read, or created with the wallet.
    let channel_manager: Arc<ChannelManager> = if existing {
        let bytes = read(
            &store,
            CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_KEY,
        )
        .await?
        .ok_or(Error::StorageCorrupt {
            what: "channel manager",
        })?;
        let args = ChannelManagerReadArgs::new(
            keys.clone(),
            keys.clone(),
            keys.clone(),
            fee_estimator.clone(),
            chain_monitor.clone(),
            broadcaster.clone(),
            router.clone(),
            message_router.clone(),
            logger.clone(),
            user_config(),
            monitors.iter().map(|(_, m)| m).collect(),
        );
        let (_hash, manager) = <(BlockHash, ChannelManager)>::read(&mut Cursor::new(bytes), args)
            .map_err(|e| {
            wallet_log(
                &logger,
                Level::Error,
                &format!("reading the channel manager: {e:?}"),
            );
            Error::StorageCorrupt {
                what: "channel manager",
            }
        })?;
        Arc::new(manager)
    } else {
        // A new wallet's birth tip: both reads from one server.
        let esplora = esplora.active();
        let tip_hash = esplora
            .tip_hash()
            .await
            .map_err(|_| Error::ChainSourceFailed)?;
        let tip_status = esplora
            .block_status(&tip_hash)
            .await
            .map_err(|_| Error::ChainSourceFailed)?;
        let height = tip_status.height.ok_or(Error::ChainSourceFailed)?;
        let params = ChainParameters {
            network,
            best_block: BestBlock::new(tip_hash, height),
        };
        let manager = ChannelManager::new(
            fee_estimator.clone(),
            chain_monitor.clone(),
            broadcaster.clone(),
            router.clone(),
            message_router.clone(),
            logger.clone(),
            keys.clone(),
            keys.clone(),
            keys.clone(),
            user_config(),
            params,
            now.as_secs() as u32,
        );
        let key = |k: &str| StoreKey::new(WALLET_NAMESPACE, "", k).expect("valid key");
        let onchain_record = onchain.creation_record()?;
        let initial = vec![
            (key(MNEMONIC_KEY), secret.phrase().into_bytes()),
            (
                key(NETWORK_KEY),
                config.network.as_str().as_bytes().to_vec(),
            ),
            (
                StoreKey::new(
                    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                    CHANNEL_MANAGER_PERSISTENCE_KEY,
                )
                .expect("valid key"),
                manager.encode(),
            ),
            (
                StoreKey::new(ONCHAIN_NAMESPACE, "", ONCHAIN_KEY).expect("valid key"),
                onchain_record.bytes.clone(),
            ),
        ];
        store
            .create_wallet(initial, time::now_millis())
            .await
            .map_err(|e| match e {
                StoreError::WalletExists => Error::AlreadyExists {
                    what: "A wallet in this storage",
                },
                StoreError::DataExists => Error::StorageCorrupt {
                    what: "data without a wallet marker",
                },
                e => store_failed(e),
            })?;
        onchain.record_written(&onchain_record);
        wallet_log(
            &logger,
            Level::Info,
            &format!("created wallet {node_id} at height {height}"),
        );
        Arc::new(manager)
    };

    // 8. The sweeper, which sweeps to the on-chain wallet.
    let destination = onchain.clone();
    let sweeper: Arc<Sweeper> = Arc::new(
        match read(
            &store,
            OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE,
            OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
            OUTPUT_SWEEPER_PERSISTENCE_KEY,
        )
        .await?
        {
            Some(bytes) => {
                let args = (
                    broadcaster.clone(),
                    fee_estimator.clone(),
                    Some(chain_filter.clone()),
                    keys.clone(),
                    destination.clone(),
                    kv.clone(),
                    logger.clone(),
                );
                <(BestBlock, Sweeper)>::read(&mut Cursor::new(bytes), args)
                    .map_err(|_| Error::StorageCorrupt {
                        what: "output sweeper",
                    })?
                    .1
            }
            None => Sweeper::new(
                channel_manager.current_best_block(),
                broadcaster.clone(),
                fee_estimator.clone(),
                Some(chain_filter.clone()),
                keys.clone(),
                destination.clone(),
                kv.clone(),
                logger.clone(),
            ),
        },
    );

    // 9. The payment history and the JIT receive records (read-only here): a corrupt one
    // refuses the open before anything is written.
    let payments = PaymentStore::load(store.clone()).await?;
    let jit_records = JitStore::load(store.clone()).await?;

    // Everything is read and checked: from here on the node may write.
    //
    // Every monitor write from now on commits with the manager as it is then (monitor_batch.rs):
    // a manager on disk is never behind a monitor. Weak: the store must not keep the manager.
    let weak_manager = Arc::downgrade(&channel_manager);
    kv.set_manager(Rc::new(move || {
        let manager = weak_manager.upgrade()?;
        // This write is the persistence the flag asks for.
        manager.get_and_clear_needs_persistence();
        Some(manager.encode())
    }));
    //
    // The monitors go to the chain monitor before anything calls the manager: its first public
    // call replays the monitor updates that were in flight when it was last written (a tab
    // killed, or a monitor write refused), and a replay that finds no monitor is never applied
    // (a release build leaves the channel waiting on it for good).
    for (_, monitor) in monitors {
        let channel_id = monitor.channel_id();
        chain_monitor
            .load_existing_monitor(channel_id, monitor)
            .map_err(|_| Error::StorageCorrupt {
                what: "channel monitor",
            })?;
    }
    if existing {
        // Before any peer connects or any HTLC is decoded again.
        reapply_lsp_channel_config(&*channel_manager);
    }
    // LDK takes its on-chain scripts from a stored reserve: top it up (a refill lost with the
    // last session's tab is redone here).
    onchain.refill().await?;

    // 10. Liquidity (LSPS client) and peers.
    let liquidity_manager: Arc<LiquidityManager> = Arc::new(
        LiquidityManager::new_with_custom_time_provider(
            keys.clone(),
            keys.clone(),
            channel_manager.clone(),
            broadcaster.clone(),
            None,
            None,
            kv.clone(),
            None,
            Some(LiquidityClientConfig {
                lsps1_client_config: None,
                lsps2_client_config: Some(LSPS2ClientConfig {}),
                lsps5_client_config: None,
            }),
            Arc::new(JsTimeProvider),
        )
        .await
        .map_err(|e| {
            wallet_log(&logger, Level::Error, &format!("liquidity manager: {e}"));
            Error::StorageCorrupt {
                what: "liquidity state",
            }
        })?,
    );
    // The routing graph comes from Rapid Gossip Sync (crate::gossip), never from peers: a
    // full gossip dump and its signature checks on every page load cost a tab too much.
    let rgs = Arc::new(RapidGossipSync::new(network_graph.clone(), logger.clone()));
    let lsps_peek = Arc::new(LspsPeek::new(liquidity_manager.clone()));
    let peer_manager: Arc<PeerManager> = Arc::new(PeerManager::new(
        MessageHandler {
            chan_handler: channel_manager.clone(),
            route_handler: Arc::new(IgnoringMessageHandler {}),
            onion_message_handler: Arc::new(IgnoringMessageHandler {}),
            custom_message_handler: lsps_peek.clone(),
            send_only_message_handler: chain_monitor.clone(),
        },
        now.as_secs() as u32,
        &keys.get_secure_random_bytes(),
        logger.clone(),
        keys.clone(),
    ));

    let lsp = LspState::default();
    match &config.lsp {
        LspConfig::Lsps2 { node_id, .. } => lsp.node_id.set(Some(*node_id)),
        LspConfig::Flow { url, node_id, .. } => {
            lsp.node_id
                .set(crate::lsp::identity_store::load(&store, url, *node_id).await?);
        }
    }

    let fee_bumper = FeeBumper::new(
        onchain.clone(),
        broadcaster.clone(),
        keys.clone(),
        logger.clone(),
        tip.clone(),
    );
    let node = Rc::new(Node {
        network,
        secret,
        node_id,
        store,
        kv,
        logger,
        esplora,
        keys,
        fee_estimator,
        tx_sync,
        tip,
        chain_filter,
        chain_monitor,
        channel_manager,
        rgs,
        scorer,
        liquidity_manager,
        lsps_peek,
        peer_manager,
        sweeper,
        fee_bumper,
        onchain_send_lock: futures::lock::Mutex::new(()),
        payments,
        jit_records: RefCell::new(Some(jit_records)),
        onchain,
        bus,
        lsp,
        shutdown: Shutdown::new(),
        sync_kick: Kick::default(),
        reconnect_kick: Kick::default(),
        sync_lock: futures::lock::Mutex::new(()),
        last_synced_height: Cell::new(None),
        last_fee_fetch_ms: Cell::new(None),
        pay_waiters: RefCell::new(HashMap::new()),
        jit_hook: RefCell::new(None),
        locks: RefCell::new(locks.borrow_mut().drain(..).collect()),
        tasks,
        page_listeners: RefCell::new(Vec::new()),
        stopped: Cell::new(false),
        stop_done: Shutdown::new(),
        stop_report: RefCell::new(None),
        failed: Cell::new(false),
        config,
    });

    // A failed write stops the node (fail_fatally seals the store first).
    let weak = Rc::downgrade(&node);
    health.set_on_failure(Rc::new(move || {
        if let Some(node) = weak.upgrade() {
            node.fail_fatally(Error::StorageFailed);
        }
    }));

    // A lost lock seals the store at once (no later write is issued) and stops the node;
    // `stop()` still waits for the writes issued before.
    for lock in node.locks.borrow().iter() {
        let weak = Rc::downgrade(&node);
        let store = node.store.clone();
        lock.on_lost(move || {
            store.seal();
            if let Some(node) = weak.upgrade() {
                node.fail_fatally(Error::LockLost);
            }
        });
    }

    node.fail_payments_never_sent().await?;
    super::background::start(&node);
    node.log(
        Level::Info,
        &format!(
            "node {} running ({})",
            node.node_id,
            if existing { "reopened" } else { "new" }
        ),
    );
    Ok(node)
}

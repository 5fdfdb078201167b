//! Building the devnet's ldk-node nodes (the LSPS2 LSP, the payer, native test clients) and
//! pumping their events.
//!
//! Every node follows the devnet chain over its Esplora server with background sync turned off:
//! the devnet drives `sync_wallets()` itself after each block, so tests never wait on a timer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use bitcoin::Network;
use ldk_node::config::{Config, EsploraSyncConfig};
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::logger::{LogLevel, LogRecord, LogWriter};
use ldk_node::{Builder, Event, Node};
use tokio::sync::broadcast;

/// What every devnet ldk-node node shares: where it keeps its data, where the chain is, where it
/// listens.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// A short name, used as the node alias (public channels need one) and in logs.
    pub name: String,
    /// The node's own storage directory (created if missing).
    pub data_dir: PathBuf,
    /// The devnet's Esplora base URL, `http://127.0.0.1:PORT`.
    pub esplora_url: String,
    /// The loopback port it listens on for peers.
    pub listen_port: u16,
    /// 64 bytes of seed; a fixed seed keeps node ids stable across devnet restarts.
    pub seed: [u8; 64],
}

impl NodeSpec {
    /// The node's listening address as peers dial it.
    pub fn address(&self) -> SocketAddress {
        SocketAddress::TcpIpV4 {
            addr: [127, 0, 0, 1],
            port: self.listen_port,
        }
    }

    /// A builder preset for the devnet: regtest, Esplora without background sync, listening on
    /// loopback, aliased (so it may open and accept announced channels), filesystem log in its dir.
    pub fn builder(&self) -> Result<Builder> {
        self.builder_with(Config::default())
    }

    /// [`NodeSpec::builder`] starting from `config` (e.g. with trusted 0-conf peers).
    pub fn builder_with(&self, config: Config) -> Result<Builder> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let mut builder = Builder::from_config(config);
        builder
            .set_network(Network::Regtest)
            .set_storage_dir_path(self.data_dir.to_string_lossy().into_owned())
            .set_entropy_seed_bytes(self.seed)
            .set_chain_source_esplora(
                self.esplora_url.clone(),
                Some(EsploraSyncConfig {
                    background_sync_config: None,
                }),
            )
            .set_listening_addresses(vec![self.address()])
            .map_err(|e| anyhow!("{}: listening address: {e:?}", self.name))?
            .set_node_alias(self.name.clone())
            .map_err(|e| anyhow!("{}: alias: {e:?}", self.name))?;
        builder.set_custom_logger(Arc::new(TracingLog {
            node: self.name.clone(),
        }));
        Ok(builder)
    }
}

/// ldk-node's log records into the devnet's `tracing` output (target `ldk`, filter with
/// `RUST_LOG=ldk=debug`), instead of a file in the node's directory: tests delete that directory,
/// and a node writing its last lines on drop must not find it gone.
struct TracingLog {
    node: String,
}

impl LogWriter for TracingLog {
    fn log(&self, record: LogRecord<'_>) {
        let node = self.node.as_str();
        match record.level {
            LogLevel::Error => tracing::error!(target: "ldk", node, "{}", record.args),
            LogLevel::Warn => tracing::warn!(target: "ldk", node, "{}", record.args),
            LogLevel::Info => tracing::info!(target: "ldk", node, "{}", record.args),
            LogLevel::Debug => tracing::debug!(target: "ldk", node, "{}", record.args),
            LogLevel::Trace | LogLevel::Gossip => {
                tracing::trace!(target: "ldk", node, "{}", record.args)
            }
        }
    }
}

/// A deterministic 64-byte seed derived from a name, so each devnet role keeps its node id.
pub fn seed_for(name: &str) -> [u8; 64] {
    use bitcoin::hashes::{sha512, Hash};
    sha512::Hash::hash(format!("tabnode-devnet/{name}").as_bytes()).to_byte_array()
}

/// A running ldk-node node and a fan-out of its events.
///
/// ldk-node queues events until each is marked handled; the pump here drains the queue for the
/// node's whole life and rebroadcasts each event, so any number of waiters can watch without
/// ever stalling the node.
pub struct RunningNode {
    pub name: String,
    pub node: Arc<Node>,
    pub spec: NodeSpec,
    events: broadcast::Sender<Event>,
}

impl RunningNode {
    /// Starts `node` and its event pump. Must be called within a multi-threaded tokio runtime
    /// (ldk-node blocks in place).
    pub fn start(spec: NodeSpec, node: Node) -> Result<Arc<Self>> {
        let node = Arc::new(node);
        node.start()
            .map_err(|e| anyhow!("{}: start: {e:?}", spec.name))?;
        let (events, _) = broadcast::channel(1024);
        let running = Arc::new(RunningNode {
            name: spec.name.clone(),
            node: node.clone(),
            spec,
            events,
        });
        let pump = running.clone();
        tokio::spawn(async move {
            loop {
                let event = pump.node.next_event_async().await;
                tracing::debug!(node = %pump.name, ?event, "event");
                let _ = pump.events.send(event);
                if let Err(e) = pump.node.event_handled() {
                    tracing::warn!(node = %pump.name, "event_handled: {e:?}");
                    break;
                }
            }
        });
        Ok(running)
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Waits up to `timeout` for the first event for which `pick` returns `Some`.
    pub async fn wait_for<T>(
        rx: &mut broadcast::Receiver<Event>,
        timeout: Duration,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T> {
        tokio::time::timeout(timeout, async {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if let Some(found) = pick(&event) {
                            return Ok(found);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("event receiver lagged by {n}");
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(anyhow!("event stream closed"));
                    }
                }
            }
        })
        .await
        .map_err(|_| anyhow!("timed out after {timeout:?}"))?
    }

    /// Syncs the node's on-chain and lightning wallets with the devnet chain, off the async
    /// threads.
    pub async fn sync(&self) -> Result<()> {
        let node = self.node.clone();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || node.sync_wallets())
            .await?
            .map_err(|e| anyhow!("{name}: sync_wallets: {e:?}"))
    }

    /// Stops the node.
    pub fn stop(&self) {
        if let Err(e) = self.node.stop() {
            tracing::warn!(node = %self.name, "stop: {e:?}");
        }
    }
}

//! The small LDK interfaces the flow LSP implements itself: logger, fee estimator, broadcaster,
//! in-memory monitor persister.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bitcoin::Transaction;
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor::Persist;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::ChannelMonitorUpdateStatus;
use lightning::sign::ecdsa::EcdsaChannelSigner;
use lightning::util::logger::{Level, Logger, Record};
use lightning::util::persist::MonitorName;
use lightning::util::ser::Writeable;

use crate::chain::ChainAccess;

/// Forwards LDK's log lines to `tracing` (target `lsp_flow::ldk`), gossip dropped.
pub struct TracingLogger;

impl Logger for TracingLogger {
    fn log(&self, record: Record) {
        let peer = record.peer_id.map(|p| p.to_string()).unwrap_or_default();
        match record.level {
            Level::Gossip => {}
            Level::Trace => {
                tracing::trace!(target: "lsp_flow::ldk", peer, "{} {}", record.module_path, record.args)
            }
            Level::Debug => {
                tracing::debug!(target: "lsp_flow::ldk", peer, "{} {}", record.module_path, record.args)
            }
            Level::Info => {
                tracing::info!(target: "lsp_flow::ldk", peer, "{} {}", record.module_path, record.args)
            }
            Level::Warn => {
                tracing::warn!(target: "lsp_flow::ldk", peer, "{} {}", record.module_path, record.args)
            }
            Level::Error => {
                tracing::error!(target: "lsp_flow::ldk", peer, "{} {}", record.module_path, record.args)
            }
        }
    }
}

/// Fixed fee rates: `base` sat/kw for our own transactions and channel fees, LDK's floor (253)
/// as the lowest fee accepted from a channel counterparty, and a generous maximum, so peers with
/// other estimates (ldk-node's fallbacks) are not force-closed over fee disagreements.
pub struct ConstantFeeEstimator {
    pub base: u32,
}

impl FeeEstimator for ConstantFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        match target {
            ConfirmationTarget::MinAllowedAnchorChannelRemoteFee
            | ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => 253,
            ConfirmationTarget::MaximumFeeEstimate => self.base.saturating_mul(8).max(8000),
            ConfirmationTarget::UrgentOnChainSweep => self.base.saturating_mul(5).max(5000),
            _ => self.base,
        }
    }
}

/// Submits every transaction LDK broadcasts to the in-process chain's mempool. Refusals are
/// logged and the last few kept for the status report.
pub struct ChainBroadcaster {
    pub chain: Arc<dyn ChainAccess>,
    pub refusals: Mutex<Vec<String>>,
}

/// How many broadcast refusals [`ChainBroadcaster`] remembers.
const MAX_REFUSALS: usize = 20;

impl BroadcasterInterface for ChainBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        for tx in txs {
            let txid = tx.compute_txid();
            match self.chain.submit_tx(tx) {
                Ok(_) => tracing::info!(target: "lsp_flow", %txid, "broadcast accepted"),
                Err(e) => {
                    // LDK rebroadcasts; "already in mempool/chain" style refusals are expected.
                    tracing::warn!(target: "lsp_flow", %txid, reason = %e, "broadcast refused");
                    let mut r = self.refusals.lock().unwrap();
                    r.push(format!("{txid}: {e}"));
                    let excess = r.len().saturating_sub(MAX_REFUSALS);
                    r.drain(..excess);
                }
            }
        }
    }
}

/// Keeps the latest serialized copy of every channel monitor in memory. Writes are complete
/// when the call returns, so `Completed` is the honest answer. The devnet is ephemeral: nothing
/// survives the process.
#[derive(Default)]
pub struct MemoryPersister {
    monitors: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryPersister {
    /// Number of monitors stored (archived ones excluded).
    pub fn len(&self) -> usize {
        self.monitors.lock().unwrap().len()
    }

    /// Whether no monitor is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: EcdsaChannelSigner> Persist<S> for MemoryPersister {
    fn persist_new_channel(
        &self,
        monitor_name: MonitorName,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.monitors
            .lock()
            .unwrap()
            .insert(monitor_name.to_string(), monitor.encode());
        ChannelMonitorUpdateStatus::Completed
    }

    fn update_persisted_channel(
        &self,
        monitor_name: MonitorName,
        _update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.monitors
            .lock()
            .unwrap()
            .insert(monitor_name.to_string(), monitor.encode());
        ChannelMonitorUpdateStatus::Completed
    }

    fn archive_persisted_channel(&self, monitor_name: MonitorName) {
        self.monitors
            .lock()
            .unwrap()
            .remove(&monitor_name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_estimator_floor_and_base() {
        let f = ConstantFeeEstimator { base: 1000 };
        assert_eq!(
            f.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee),
            1000
        );
        assert_eq!(
            f.get_est_sat_per_1000_weight(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            253
        );
        assert!(f.get_est_sat_per_1000_weight(ConfirmationTarget::MaximumFeeEstimate) >= 8000);
    }
}

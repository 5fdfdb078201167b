//! The channel manager is written before a peer hears what it implies.
//!
//! Why: LDK's background processor sends peer messages (`PeerManager::process_events`) before it
//! writes the channel manager, and the node's writes are asynchronous (IndexedDB), so a tab killed
//! in between leaves a peer that saw a message (`funding_signed`, `channel_ready`, a
//! `revoke_and_ack`) from a state the reopened manager never reached. LDK cannot resume from a
//! manager behind its peer: the channel stays half made or the peer force-closes (the crash
//! matrix's `channel_ready` row showed both, www/tests/crash.mjs). Native nodes live with a window
//! of microseconds; a browser tab's is an IndexedDB commit, and tabs are killed at any moment.
//!
//! How: every connection's outbound bytes wait in its queue ([`crate::net::WriteAhead`]); before
//! they leave, [`ManagerWriteAhead::durable`] writes the manager if it changed since its last write
//! (taking LDK's needs-persistence flag, so the background processor does not write it twice) and
//! waits for the latest manager write (its own, the background processor's, or the one a monitor
//! batch carries: [`super::monitor_batch`]). Messages that depend on a monitor update LDK holds
//! back itself until that update is durable.
//!
//! Cost: one manager write (an IndexedDB commit, milliseconds) in front of an outbound batch that
//! follows a state change; batches without one (pings, retransmits) leave at once.

use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use lightning::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::Writeable;

use super::types::{ChannelManager, Kv};
use crate::net::WriteAhead;

/// The node's [`WriteAhead`]: the channel manager and the store it is written to.
pub struct ManagerWriteAhead {
    channel_manager: Arc<ChannelManager>,
    kv: Kv,
}

impl ManagerWriteAhead {
    /// Writes `channel_manager` through `kv` ahead of outbound bytes.
    pub fn new(channel_manager: Arc<ChannelManager>, kv: Kv) -> Self {
        ManagerWriteAhead {
            channel_manager,
            kv,
        }
    }
}

impl WriteAhead for ManagerWriteAhead {
    fn durable(&self) -> Pin<Box<dyn Future<Output = bool>>> {
        // Called from a connection's task, never from inside LDK: `encode` takes the manager's
        // consistency lock, which no caller up this stack holds.
        if self.channel_manager.get_and_clear_needs_persistence() {
            // Issued now (the store keeps call order); its outcome is the latest manager write
            // awaited below, and a failure stops the node through the store's tripwire.
            drop(KVStore::write(
                &*self.kv,
                CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_KEY,
                self.channel_manager.encode(),
            ));
        }
        let latest = self.kv.latest_manager_write();
        let kv = self.kv.clone();
        Box::pin(async move {
            let written = match latest {
                Some(write) => write.await.is_ok(),
                // Never written by this instance: the builder wrote it before the node started.
                None => true,
            };
            // A failed write (ours refused before it was issued included) means storage can no
            // longer keep up with what peers are told: nothing more leaves.
            written && !kv.health().failed()
        })
    }
}

//! Every channel monitor write commits together with a channel manager that knows it.
//!
//! Why: LDK refuses a channel manager older than a monitor on disk: reopened, it force-closes the
//! channel ("A ChannelManager is stale compared to the current ChannelMonitor"). LDK's async
//! persister issues a monitor write at once and the background processor writes the manager some
//! time later, so a tab killed between the two commits (an IndexedDB commit, milliseconds) closed
//! its own channel: the crash matrix's `pay_monitor_durable` row (www/tests/crash.mjs) did so every
//! time. A manager may be ahead of its monitors (it records the monitor updates in flight, and LDK
//! replays them at start-up); it must never be behind.
//!
//! How: monitor writes and removes (LDK's `monitors` and `monitor_updates` namespaces) are queued
//! and issued, in their order, on the next microtask, in one IndexedDB transaction that starts
//! with the manager encoded then. LDK calls `KVStore::write` from inside the manager's locks, so
//! the manager cannot be encoded in that call; on the microtask nothing of LDK runs, and the
//! manager it encodes knows every queued update (LDK records an update before it hands it to the
//! persister). Reads and lists of those namespaces wait for a queued batch first, so they see it.
//!
//! Cost: the manager's bytes in each monitor transaction (one commit, as before); several monitor
//! updates of one LDK call share one transaction.

use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use lightning::io;
use lightning::util::persist::{
    CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};

use crate::store::{store_error_to_io, BatchOp, Store, StoreKey};

/// The outcome of one write, shareable between its issuer and others who wait for it: `Err`
/// carries the failure's kind (an `io::Error` is not `Clone`).
pub type SharedWrite = Shared<Pin<Box<dyn Future<Output = Result<(), io::ErrorKind>>>>>;

/// Makes `outcome` shareable.
pub fn share(outcome: impl Future<Output = Result<(), io::ErrorKind>> + 'static) -> SharedWrite {
    let outcome: Pin<Box<dyn Future<Output = Result<(), io::ErrorKind>>>> = Box::pin(outcome);
    outcome.shared()
}

/// Encodes the channel manager as it is now (and takes its needs-persistence flag).
pub type ManagerEncoder = Rc<dyn Fn() -> Option<Vec<u8>>>;

/// Whether `primary_namespace` holds LDK's channel monitors or their updates.
pub fn is_monitor_namespace(primary_namespace: &str) -> bool {
    primary_namespace == CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE
        || primary_namespace == CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE
}

/// Whether the address is the channel manager's.
pub fn is_manager_key(primary_namespace: &str, secondary_namespace: &str, key: &str) -> bool {
    primary_namespace == CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE
        && secondary_namespace == CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE
        && key == CHANNEL_MANAGER_PERSISTENCE_KEY
}

#[derive(Default)]
struct Queue {
    ops: Vec<BatchOp>,
    /// The queued batch's outcome, once it is issued and settles.
    done: Option<SharedWrite>,
    settle: Option<oneshot::Sender<Result<(), io::ErrorKind>>>,
}

/// The queue of monitor writes and what a batch needs: the store, the manager, and where the
/// latest manager write is kept.
pub struct MonitorBatcher {
    store: Store,
    queue: Rc<RefCell<Queue>>,
    manager: Rc<RefCell<Option<ManagerEncoder>>>,
    latest_manager_write: Rc<RefCell<Option<SharedWrite>>>,
}

impl MonitorBatcher {
    /// A batcher writing to `store` and recording its manager writes in `latest_manager_write`.
    pub fn new(store: Store, latest_manager_write: Rc<RefCell<Option<SharedWrite>>>) -> Self {
        MonitorBatcher {
            store,
            queue: Rc::default(),
            manager: Rc::default(),
            latest_manager_write,
        }
    }

    /// Sets the manager every later batch starts with. Until then (while the node is built)
    /// batches hold monitor operations only, as the manager on disk is the one being read.
    pub fn set_manager(&self, encoder: ManagerEncoder) {
        *self.manager.borrow_mut() = Some(encoder);
    }

    /// Queues `op`; resolves once the batch holding it has committed.
    pub fn queue(&self, op: BatchOp) -> SharedWrite {
        let mut queue = self.queue.borrow_mut();
        queue.ops.push(op);
        if let Some(done) = &queue.done {
            return done.clone();
        }
        let (settle, settled) = oneshot::channel();
        let done = share(settled.map(|r| r.unwrap_or(Err(io::ErrorKind::Interrupted))));
        queue.done = Some(done.clone());
        queue.settle = Some(settle);
        let issue = self.issue_on_next_microtask();
        wasm_bindgen_futures::spawn_local(issue);
        done
    }

    /// The queued batch's outcome, if one is queued: what a read must wait for.
    pub fn queued(&self) -> Option<SharedWrite> {
        self.queue.borrow().done.clone()
    }

    fn issue_on_next_microtask(&self) -> impl Future<Output = ()> + 'static {
        let store = self.store.clone();
        let queue = self.queue.clone();
        let manager = self.manager.clone();
        let latest_manager_write = self.latest_manager_write.clone();
        async move {
            let (ops, settle) = {
                let mut queue = queue.borrow_mut();
                queue.done = None;
                (core::mem::take(&mut queue.ops), queue.settle.take())
            };
            let encoder = manager.borrow().clone();
            let manager_bytes = encoder.and_then(|encode| encode());
            let with_manager = manager_bytes.is_some();
            let mut batch = Vec::with_capacity(ops.len() + 1);
            if let Some(bytes) = manager_bytes {
                let key = StoreKey::new(
                    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                    CHANNEL_MANAGER_PERSISTENCE_KEY,
                )
                .expect("LDK's manager key is a valid store key");
                batch.push(BatchOp::Write(key, bytes));
            }
            batch.extend(ops);
            let write = store.write_batch(batch);
            let outcome = share(write.map(|r| r.map_err(|e| store_error_to_io(e).kind())));
            if with_manager {
                *latest_manager_write.borrow_mut() = Some(outcome.clone());
            }
            let result = outcome.await;
            if let Some(settle) = settle {
                let _ = settle.send(result);
            }
        }
    }
}

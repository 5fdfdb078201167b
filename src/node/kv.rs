//! The store as LDK sees it, with a tripwire: the first failed write or remove marks storage as
//! failed and calls the node's fatal-error handler.
//!
//! Why: LDK's async monitor persister only logs a failed monitor write ("the node will likely
//! stall"), and a failed manager write ends the background processor. Either way the node can no
//! longer promise that what it tells peers is on disk, so it must stop. Writes keep their order
//! and durability (see [`Store`]), except that monitor writes are issued together with the
//! channel manager ([`super::monitor_batch`]); this wrapper also keeps the latest channel manager
//! write for [`super::write_ahead`].

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::FutureExt;
use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::KVStore;

use super::monitor_batch::{
    is_manager_key, is_monitor_namespace, share, ManagerEncoder, MonitorBatcher, SharedWrite,
};
use crate::store::{store_error_to_io, BatchOp, Store, StoreKey};

/// Shared storage health: failed once means failed for good.
#[derive(Default)]
pub struct StorageHealth {
    failed: Cell<bool>,
    on_failure: RefCell<Option<Rc<dyn Fn()>>>,
}

impl StorageHealth {
    /// Whether a write has failed.
    pub fn failed(&self) -> bool {
        self.failed.get()
    }

    /// Sets the handler called (once) on the first failure.
    pub fn set_on_failure(&self, f: Rc<dyn Fn()>) {
        *self.on_failure.borrow_mut() = Some(f);
    }

    /// Records a failure; calls the handler the first time.
    pub fn report_failure(&self) {
        if self.failed.replace(true) {
            return;
        }
        let handler = self.on_failure.borrow().clone();
        if let Some(h) = handler {
            h();
        }
    }
}

/// LDK's `KVStore` over the wallet's [`Store`], reporting failed writes to [`StorageHealth`].
pub struct NodeKv {
    store: Store,
    health: Rc<StorageHealth>,
    /// The channel manager write issued last, by whoever issued it.
    latest_manager_write: Rc<RefCell<Option<SharedWrite>>>,
    monitors: MonitorBatcher,
}

/// What a failed shared write gives its waiters.
fn io_error(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, "write failed")
}

impl NodeKv {
    /// Wraps `store`.
    pub fn new(store: Store, health: Rc<StorageHealth>) -> Self {
        let latest_manager_write = Rc::new(RefCell::new(None));
        NodeKv {
            monitors: MonitorBatcher::new(store.clone(), latest_manager_write.clone()),
            store,
            health,
            latest_manager_write,
        }
    }

    /// Sets how the channel manager is encoded for the monitor batches (once it exists).
    pub fn set_manager(&self, encoder: ManagerEncoder) {
        self.monitors.set_manager(encoder);
    }

    /// Issues `read(store, primary_namespace)` (a read or a list) now, or, in a monitor
    /// namespace with a batch queued, once that batch is issued and settled, so that it sees it.
    fn after_queued_monitors<T: 'static>(
        &self,
        primary_namespace: &str,
        read: impl FnOnce(&Store, &str) -> AsyncResult<'static, T, io::Error> + 'static,
    ) -> AsyncResult<'static, T, io::Error> {
        let queued = self
            .monitors
            .queued()
            .filter(|_| is_monitor_namespace(primary_namespace));
        let Some(queued) = queued else {
            return read(&self.store, primary_namespace);
        };
        let (store, p) = (self.store.clone(), primary_namespace.to_string());
        Box::pin(async move {
            let _ = queued.await;
            read(&store, &p).await
        })
    }

    /// Queues the monitor-namespace operation `op` makes of the key in the monitor batch
    /// ([`super::monitor_batch`]), watched as any write; `durable` runs once it committed.
    fn queue_monitor_op(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        op: impl FnOnce(StoreKey) -> BatchOp,
        durable: impl FnOnce() + 'static,
    ) -> AsyncResult<'static, (), io::Error> {
        let key = match StoreKey::new(primary_namespace, secondary_namespace, key) {
            Ok(key) => key,
            Err(e) => return Box::pin(async move { Err(store_error_to_io(e)) }),
        };
        let batch = self.monitors.queue(op(key));
        self.watch(Box::pin(batch.map(|r| r.map_err(io_error))), durable)
    }

    /// The channel manager write issued last (by LDK's background processor or by the
    /// write-ahead), `None` before the first. Writes complete in the order they were issued, so
    /// once it has, every write issued before it is durable too.
    pub fn latest_manager_write(&self) -> Option<SharedWrite> {
        self.latest_manager_write.borrow().clone()
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The health tracker.
    pub fn health(&self) -> &Rc<StorageHealth> {
        &self.health
    }

    fn watch(
        &self,
        fut: AsyncResult<'static, (), io::Error>,
        durable: impl FnOnce() + 'static,
    ) -> AsyncResult<'static, (), io::Error> {
        let health = self.health.clone();
        Box::pin(async move {
            let result = fut.await;
            match result {
                Ok(()) => durable(),
                Err(_) => health.report_failure(),
            }
            result
        })
    }
}

impl KVStore for NodeKv {
    fn read(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> AsyncResult<'static, Vec<u8>, io::Error> {
        let (s, k) = (secondary_namespace.to_string(), key.to_string());
        self.after_queued_monitors(primary_namespace, move |store, p| {
            KVStore::read(store, p, &s, &k)
        })
    }

    fn write(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> AsyncResult<'static, (), io::Error> {
        if self.health.failed() {
            return Box::pin(async { Err(io::Error::new(io::ErrorKind::Other, "storage failed")) });
        }
        let durable = crate::crash_point::monitor_write_issued(primary_namespace);
        if is_monitor_namespace(primary_namespace) {
            let op = |key| BatchOp::Write(key, buf);
            return self.queue_monitor_op(primary_namespace, secondary_namespace, key, op, durable);
        }
        // Issued now (ordering), watched when awaited.
        let fut = KVStore::write(
            &self.store,
            primary_namespace,
            secondary_namespace,
            key,
            buf,
        );
        let watched = self.watch(fut, durable);
        if !is_manager_key(primary_namespace, secondary_namespace, key) {
            return watched;
        }
        let shared = share(watched.map(|r| r.map_err(|e| e.kind())));
        *self.latest_manager_write.borrow_mut() = Some(shared.clone());
        Box::pin(shared.map(|r| r.map_err(io_error)))
    }

    fn remove(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        lazy: bool,
    ) -> AsyncResult<'static, (), io::Error> {
        if self.health.failed() {
            return Box::pin(async { Err(io::Error::new(io::ErrorKind::Other, "storage failed")) });
        }
        if is_monitor_namespace(primary_namespace) {
            // In the monitor queue, so that it keeps its place among the monitor writes.
            let op = BatchOp::Remove;
            return self.queue_monitor_op(primary_namespace, secondary_namespace, key, op, || {});
        }
        let fut = KVStore::remove(
            &self.store,
            primary_namespace,
            secondary_namespace,
            key,
            lazy,
        );
        self.watch(fut, || {})
    }

    fn list(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
    ) -> AsyncResult<'static, Vec<String>, io::Error> {
        let s = secondary_namespace.to_string();
        self.after_queued_monitors(primary_namespace, move |store, p| {
            KVStore::list(store, p, &s)
        })
    }
}

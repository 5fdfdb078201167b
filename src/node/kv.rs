//! The store as LDK sees it, with a tripwire: the first failed write or remove marks storage as
//! failed and calls the node's fatal-error handler.
//!
//! Why: LDK's async monitor persister only logs a failed monitor write ("the node will likely
//! stall"), and a failed manager write ends the background processor. Either way the node can no
//! longer promise that what it tells peers is on disk, so it must stop. Writes keep their order
//! and durability (see [`Store`]); this wrapper only watches their outcome, and keeps the latest
//! channel manager write for [`super::write_ahead`].

use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use std::rc::Rc;

use futures::future::{FutureExt, Shared};
use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};

use crate::store::Store;

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

/// The outcome of one write, shareable between its issuer and others who wait for it: `Err`
/// carries the failure's kind (an `io::Error` is not `Clone`).
pub type SharedWrite = Shared<Pin<Box<dyn Future<Output = Result<(), io::ErrorKind>>>>>;

/// LDK's `KVStore` over the wallet's [`Store`], reporting failed writes to [`StorageHealth`].
pub struct NodeKv {
    store: Store,
    health: Rc<StorageHealth>,
    /// The channel manager write issued last, by whoever issued it.
    latest_manager_write: RefCell<Option<SharedWrite>>,
}

impl NodeKv {
    /// Wraps `store`.
    pub fn new(store: Store, health: Rc<StorageHealth>) -> Self {
        NodeKv {
            store,
            health,
            latest_manager_write: RefCell::new(None),
        }
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
    ) -> AsyncResult<'static, (), io::Error> {
        let health = self.health.clone();
        Box::pin(async move {
            let result = fut.await;
            if result.is_err() {
                health.report_failure();
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
        KVStore::read(&self.store, primary_namespace, secondary_namespace, key)
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
        // Issued now (ordering), watched when awaited.
        let fut = KVStore::write(
            &self.store,
            primary_namespace,
            secondary_namespace,
            key,
            buf,
        );
        crate::crash_point::monitor_write_issued(primary_namespace);
        let watched = self.watch(fut);
        let is_manager = primary_namespace == CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE
            && secondary_namespace == CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE
            && key == CHANNEL_MANAGER_PERSISTENCE_KEY;
        if !is_manager {
            return watched;
        }
        let kinds: Pin<Box<dyn Future<Output = Result<(), io::ErrorKind>>>> =
            Box::pin(watched.map(|r| r.map_err(|e| e.kind())));
        let shared = kinds.shared();
        *self.latest_manager_write.borrow_mut() = Some(shared.clone());
        Box::pin(
            shared.map(|r| r.map_err(|kind| io::Error::new(kind, "channel manager write failed"))),
        )
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
        let fut = KVStore::remove(
            &self.store,
            primary_namespace,
            secondary_namespace,
            key,
            lazy,
        );
        self.watch(fut)
    }

    fn list(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
    ) -> AsyncResult<'static, Vec<String>, io::Error> {
        KVStore::list(&self.store, primary_namespace, secondary_namespace)
    }
}

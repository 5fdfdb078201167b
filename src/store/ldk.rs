//! LDK's async persistence trait over the IndexedDB store.
//!
//! `lightning` is built without `std`, where `AsyncResult` is
//! `Pin<Box<dyn Future<Output = Result<T, E>> + 'a>>` with no `Send` bound (and `MaybeSend` /
//! `MaybeSync` are implemented for everything), so `!Send` browser futures fit.
//!
//! LDK's ordering rule for `write` ("the state must never contain the first write after the
//! second write's future completes") holds because [`Store`] issues each write's transaction
//! when `write` is called, and IndexedDB commits overlapping read-write transactions in
//! creation order. `remove(.., lazy)` is always done eagerly.

use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::KVStore;

use super::{Store, StoreError};

/// Maps a store error to the `io::Error` LDK expects.
pub fn store_error_to_io(error: StoreError) -> io::Error {
    let kind = match error {
        StoreError::InvalidKey(_) => io::ErrorKind::InvalidInput,
        StoreError::Corrupt(_) => io::ErrorKind::InvalidData,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{}: {error}", error.code()))
}

impl KVStore for Store {
    fn read(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> AsyncResult<'static, Vec<u8>, io::Error> {
        let future = Store::read(self, primary_namespace, secondary_namespace, key);
        let what = format!("{primary_namespace}/{secondary_namespace}/{key}");
        Box::pin(async move {
            match future.await {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no record {what}"),
                )),
                Err(e) => Err(store_error_to_io(e)),
            }
        })
    }

    fn write(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> AsyncResult<'static, (), io::Error> {
        // Issued here, before the future is returned: that is what orders writes.
        let future = match super::StoreKey::new(primary_namespace, secondary_namespace, key) {
            Ok(k) => self.write_batch(vec![super::BatchOp::Write(k, buf)]),
            Err(e) => return Box::pin(async move { Err(store_error_to_io(e)) }),
        };
        Box::pin(async move { future.await.map_err(store_error_to_io) })
    }

    fn remove(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        _lazy: bool,
    ) -> AsyncResult<'static, (), io::Error> {
        let future = Store::remove(self, primary_namespace, secondary_namespace, key);
        Box::pin(async move { future.await.map_err(store_error_to_io) })
    }

    fn list(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
    ) -> AsyncResult<'static, Vec<String>, io::Error> {
        let future = Store::list(self, primary_namespace, secondary_namespace);
        Box::pin(async move { future.await.map_err(store_error_to_io) })
    }
}

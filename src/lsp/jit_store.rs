//! The durable JIT receive records (wasm32): namespace [`JIT_NAMESPACE`] of the wallet's store,
//! key = the payment hash in lowercase hex, value = [`JitRecord::to_json`].
//!
//! Guarantees: [`JitStore::load`] reads every record or fails (`STORAGE_CORRUPT` for a record
//! that does not decode or sits under another key than its hash, `STORAGE_FAILED` for a read
//! that fails); [`JitStore::put`] updates the in-memory copy and issues the write at once (so
//! writes keep call order) and resolves only once the write is durable, else `STORAGE_FAILED`.

use core::cell::RefCell;
use std::collections::BTreeMap;

use crate::error::Error;
use crate::lsp::jit::JitRecord;
use crate::store::{Store, StoreError};

/// The store namespace of JIT records.
pub const JIT_NAMESPACE: &str = "jit";

/// Lowercase hex of a payment hash: a record's key.
pub fn hash_key(hash: &[u8; 32]) -> String {
    hex::DisplayHex::to_lower_hex_string(&hash[..])
}

fn storage_error(e: StoreError) -> Error {
    Error::from_store(e, "jit record")
}

/// The JIT records, with an in-memory copy.
pub struct JitStore {
    store: Store,
    records: RefCell<BTreeMap<String, JitRecord>>,
}

impl JitStore {
    /// Reads every stored record.
    pub async fn load(store: Store) -> Result<JitStore, Error> {
        let keys = store.list(JIT_NAMESPACE, "").await.map_err(storage_error)?;
        let mut records = BTreeMap::new();
        for key in keys {
            let bytes = store
                .read(JIT_NAMESPACE, "", &key)
                .await
                .map_err(storage_error)?
                .ok_or(Error::StorageCorrupt { what: "jit record" })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::StorageCorrupt { what: "jit record" })?;
            let record = JitRecord::from_json(&text)?;
            if hash_key(&record.payment_hash) != key {
                return Err(Error::StorageCorrupt { what: "jit record" });
            }
            records.insert(key, record);
        }
        Ok(JitStore {
            store,
            records: RefCell::new(records),
        })
    }

    /// The record of `hash`.
    pub fn get(&self, hash: &[u8; 32]) -> Option<JitRecord> {
        self.records.borrow().get(&hash_key(hash)).cloned()
    }

    /// Every record, oldest first.
    pub fn all(&self) -> Vec<JitRecord> {
        let mut v: Vec<JitRecord> = self.records.borrow().values().cloned().collect();
        v.sort_by_key(|r| (r.created_at, r.payment_hash));
        v
    }

    /// Stores `record` (replacing the one with its hash): the in-memory copy changes and the
    /// write is issued now (so writes keep call order); the future resolves once it is durable.
    pub fn put(&self, record: JitRecord) -> impl core::future::Future<Output = Result<(), Error>> {
        let key = hash_key(&record.payment_hash);
        let write = self
            .store
            .write(JIT_NAMESPACE, "", &key, record.to_json().as_bytes());
        self.records.borrow_mut().insert(key, record);
        async move { write.await.map_err(|_| Error::StorageFailed) }
    }
}

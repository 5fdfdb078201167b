//! The payment history in the store's `payments` namespace (wasm32), with an in-memory copy.
//!
//! Guarantees: [`PaymentStore::load`] reads every record or fails with `STORAGE_CORRUPT`;
//! [`PaymentStore::put`] updates the copy and issues the write at once (so writes keep call
//! order) and resolves only when the write is durable; a failed write is `STORAGE_FAILED`.

use core::cell::RefCell;
use std::collections::BTreeMap;

use super::record::{store_key, Direction, PaymentRecord};
use crate::error::Error;
use crate::store::{Store, StoreError};

/// The store namespace of payment records.
pub const PAYMENTS_NAMESPACE: &str = "payments";

/// The payment history.
pub struct PaymentStore {
    store: Store,
    records: RefCell<BTreeMap<String, PaymentRecord>>,
}

fn storage_error(e: StoreError) -> Error {
    Error::from_store(e, "payment record")
}

impl PaymentStore {
    /// Reads every stored record.
    pub async fn load(store: Store) -> Result<PaymentStore, Error> {
        let keys = store
            .list(PAYMENTS_NAMESPACE, "")
            .await
            .map_err(storage_error)?;
        let mut records = BTreeMap::new();
        for key in keys {
            let bytes = store
                .read(PAYMENTS_NAMESPACE, "", &key)
                .await
                .map_err(storage_error)?
                .ok_or(Error::StorageCorrupt {
                    what: "payment record",
                })?;
            let record = PaymentRecord::from_bytes(&bytes)?;
            if record.store_key() != key {
                return Err(Error::StorageCorrupt {
                    what: "payment record",
                });
            }
            records.insert(key, record);
        }
        Ok(PaymentStore {
            store,
            records: RefCell::new(records),
        })
    }

    /// The record of `hash_hex` going `direction`.
    pub fn get(&self, direction: Direction, hash_hex: &str) -> Option<PaymentRecord> {
        self.records
            .borrow()
            .get(&store_key(direction, hash_hex))
            .cloned()
    }

    /// Every record, newest first.
    pub fn all(&self) -> Vec<PaymentRecord> {
        let mut v: Vec<PaymentRecord> = self.records.borrow().values().cloned().collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.payment_hash.cmp(&b.payment_hash))
        });
        v
    }

    /// Inbound records still pending.
    pub fn pending_inbound(&self) -> usize {
        self.records
            .borrow()
            .values()
            .filter(|r| {
                r.direction == Direction::Inbound && r.status == super::PaymentStatus::Pending
            })
            .count()
    }

    /// Stores `record` (replacing the one with its key) and waits until it is durable.
    pub async fn put(&self, record: PaymentRecord) -> Result<(), Error> {
        let key = record.store_key();
        let write = self
            .store
            .write(PAYMENTS_NAMESPACE, "", &key, &record.to_bytes());
        self.records.borrow_mut().insert(key, record);
        write.await.map_err(|_| Error::StorageFailed)
    }
}

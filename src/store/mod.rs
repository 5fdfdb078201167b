//! IndexedDB key-value storage for the wallet's LDK state, and the one-instance lock.
//!
//! Records live at LDK's `(primary_namespace, secondary_namespace, key)` addresses
//! ([`StoreKey`]). [`Store`] (wasm32 only) gives ordered, durable writes (see its module
//! docs), a wallet-exists marker, batches, and LDK's async `KVStore`;
//! [`acquire_instance_lock`] keeps a second tab or worker from running the same wallet.
//! Key rules, the marker format and the error type are plain Rust, tested natively.

mod error;
mod key;
mod marker;

pub use error::StoreError;
pub use key::{validate_namespace, BatchOp, StoreKey};
pub use marker::{WalletMarker, STORE_FORMAT_VERSION};

#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod ldk;
#[cfg(target_arch = "wasm32")]
mod lock;
#[cfg(target_arch = "wasm32")]
mod transaction;

#[cfg(target_arch = "wasm32")]
pub use idb::Store;
#[cfg(target_arch = "wasm32")]
pub use ldk::store_error_to_io;
#[cfg(target_arch = "wasm32")]
pub use lock::{acquire_instance_lock, InstanceLock};
#[cfg(target_arch = "wasm32")]
pub use transaction::StoreFuture;

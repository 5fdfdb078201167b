//! The IndexedDB key-value store.
//!
//! Layout (database version 1): object store `kv` maps the array key
//! `[primary_namespace, secondary_namespace, key]` to a `Uint8Array`; object store `meta`
//! holds the wallet marker under `"wallet"`. Array keys sort element-wise, so one
//! `(primary, secondary)` namespace is the key range `[p, s, ""] ..< [p, s, []]` (an array
//! sorts after every string).
//!
//! Guarantees:
//! - Every operation creates its transaction and queues its requests when the method is
//!   called. IndexedDB runs read-write transactions with overlapping scopes in creation
//!   order, and a read sees every write issued before it, so the order of calls is the
//!   order of effects: for one key, the last write issued wins. The returned
//!   [`StoreFuture`] only waits.
//! - Read-write transactions ask for `durability: "strict"`, and a write's future resolves
//!   only on the transaction's `complete` event. An abort (`QuotaExceededError`, a closed
//!   connection, ...) resolves it with a [`StoreError`] and leaves nothing of the
//!   transaction behind.
//! - A batch is one transaction: all of it commits or none.

use core::cell::Cell;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Event, IdbDatabase, IdbKeyRange, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction,
};

use super::transaction::{thrown, TxCompletion};
use super::{
    validate_namespace, BatchOp, StoreError, StoreFuture, StoreKey, WalletMarker,
    STORE_FORMAT_VERSION,
};
use crate::browser;

const DB_VERSION: u32 = 1;
const KV: &str = "kv";
const META: &str = "meta";
const MARKER_KEY: &str = "wallet";

struct Connection {
    name: String,
    db: IdbDatabase,
    closed: Rc<Cell<bool>>,
    /// Set by [`Store::seal`]: no write may be issued any more.
    sealed: Cell<bool>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // close() lets transactions already created finish: issued writes still commit.
        self.db.close();
    }
}

/// A handle on one opened IndexedDB database. Clones share the connection, which closes
/// when the last clone is dropped or [`close`](Store::close) is called.
#[derive(Clone)]
pub struct Store {
    conn: Rc<Connection>,
}

/// Evaluates to the `Ok` value or returns a ready `StoreFuture` with the error.
macro_rules! try_issue {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return StoreFuture::ready(Err(e)),
        }
    };
}

impl Store {
    /// Opens (creating if needed) the database `name` of this origin. Fails with
    /// `Unavailable` when there is no IndexedDB here and `OpenFailed` when the browser
    /// refuses (e.g. `VersionError`: made by a newer wallet).
    ///
    /// The connection closes itself when another context deletes or upgrades the
    /// database (`versionchange`) or the browser closes it; later operations then fail with
    /// [`StoreError::Closed`].
    pub async fn open(name: &str) -> Result<Store, StoreError> {
        let factory = browser::indexed_db().map_err(StoreError::Unavailable)?;
        let request = factory
            .open_with_u32(name, DB_VERSION)
            .map_err(|e| open_failed(&e))?;

        let on_upgrade = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Some(request) = event
                .target()
                .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
            else {
                return;
            };
            let Ok(db) = request.result().and_then(|r| r.dyn_into::<IdbDatabase>()) else {
                return;
            };
            // A failed creation aborts the version-change transaction, so the open fails below
            // (with the abort) instead of handing out a database without its object stores.
            let names = db.object_store_names();
            for store in [KV, META] {
                if !names.contains(store) && db.create_object_store(store).is_err() {
                    if let Some(tx) = request.transaction() {
                        let _ = tx.abort();
                    }
                    return;
                }
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.into_js_value().unchecked_ref()));
        let db = request_outcome(request.unchecked_ref::<IdbRequest>())
            .await
            .map_err(|e| match e {
                StoreError::TransactionFailed { name, message } => {
                    StoreError::OpenFailed { name, message }
                }
                other => other,
            })?
            .dyn_into::<IdbDatabase>()
            .map_err(|_| StoreError::OpenFailed {
                name: "TypeError".into(),
                message: "open gave no IDBDatabase".into(),
            })?;

        let closed = Rc::new(Cell::new(false));
        let on_versionchange = {
            let closed = closed.clone();
            Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                closed.set(true);
                if let Some(db) = event
                    .target()
                    .and_then(|t| t.dyn_into::<IdbDatabase>().ok())
                {
                    db.close();
                }
            })
        };
        let on_close = {
            let closed = closed.clone();
            Closure::<dyn FnMut(Event)>::new(move |_event: Event| closed.set(true))
        };
        db.set_onversionchange(Some(on_versionchange.into_js_value().unchecked_ref()));
        db.set_onclose(Some(on_close.into_js_value().unchecked_ref()));
        Ok(Store {
            conn: Rc::new(Connection {
                name: name.to_string(),
                db,
                closed,
                sealed: Cell::new(false),
            }),
        })
    }

    /// Whether the database `name` exists in this origin, asked with `indexedDB.databases()`:
    /// unlike [`Store::open`] this creates nothing. `Unavailable` when there is no IndexedDB
    /// (or no `databases()`) here.
    pub async fn database_exists(name: &str) -> Result<bool, StoreError> {
        let factory = browser::indexed_db().map_err(StoreError::Unavailable)?;
        let databases = js_sys::Reflect::get(&factory, &JsValue::from_str("databases"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| StoreError::Unavailable("indexedDB.databases() is missing".into()))?;
        let promise = databases
            .call0(&factory)
            .map_err(|e| thrown(&e))?
            .dyn_into::<js_sys::Promise>()
            .map_err(|_| StoreError::Unavailable("indexedDB.databases() is no promise".into()))?;
        let list = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|e| thrown(&e))?;
        Ok(Array::from(&list).iter().any(|info| {
            js_sys::Reflect::get(&info, &JsValue::from_str("name"))
                .ok()
                .and_then(|n| n.as_string())
                .is_some_and(|n| n == name)
        }))
    }

    /// Deletes the database `name`. Open connections of this crate (in any tab) close
    /// themselves when asked; the future resolves once the database is gone.
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        let factory = browser::indexed_db().map_err(StoreError::Unavailable)?;
        let request = factory.delete_database(name).map_err(|e| thrown(&e))?;
        request_outcome(request.unchecked_ref::<IdbRequest>())
            .await
            .map(|_| ())
    }

    /// The database name this store was opened with.
    pub fn name(&self) -> &str {
        &self.conn.name
    }

    /// Closes the connection now. Operations already issued still complete; later ones fail
    /// with [`StoreError::Closed`].
    pub fn close(&self) {
        self.conn.closed.set(true);
        self.conn.db.close();
    }

    /// Closes the connection once every write issued before this call has settled: issues an
    /// empty read-write transaction over both object stores (IndexedDB starts it only after
    /// every earlier overlapping read-write transaction has finished), closes the connection at
    /// once (later writes fail with [`StoreError::Closed`]) and resolves when that barrier
    /// completes. The node awaits it before giving up its instance lock, so no write of this
    /// instance is still pending when another one may start. `Err(Closed)` if the connection was
    /// already closed (then nothing of this instance can still be issued).
    pub fn close_after_writes(&self) -> StoreFuture<()> {
        let (_tx, completion, _) = try_issue!(self.begin_unsealed(&[KV, META], true));
        self.close();
        StoreFuture::waiting(completion, |outcome| outcome)
    }

    /// Refuses every write issued from now on ([`StoreError::Closed`]) while the connection
    /// stays open: what is stored stays as it was (after a failed write, nothing may follow it),
    /// reads still work, and [`close_after_writes`](Store::close_after_writes) can still wait for
    /// the writes issued before, so the instance lock is never given up while one is pending.
    pub fn seal(&self) {
        self.conn.sealed.set(true);
    }

    /// Whether the connection is closed (by [`close`](Store::close), another context, or
    /// the browser).
    pub fn is_closed(&self) -> bool {
        self.conn.closed.get()
    }

    /// Reads one record: `Ok(None)` if there is none (distinct from `Ok(Some(vec![]))`).
    pub fn read(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> StoreFuture<Option<Vec<u8>>> {
        let key = try_issue!(StoreKey::new(primary_namespace, secondary_namespace, key));
        let (tx, completion) = try_issue!(self.begin(&[KV], false));
        let request = try_issue!(with_abort(
            &tx,
            object_store(&tx, KV).and_then(|s| s.get(&key_to_js(&key)).map_err(|e| thrown(&e)))
        ));
        StoreFuture::waiting(completion, move |outcome| {
            outcome?;
            bytes_from_js(&request.result().map_err(|e| thrown(&e))?, &key)
        })
    }

    /// Writes one record (replacing any previous value). Issued at call time; resolves once
    /// durably committed.
    pub fn write(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        value: &[u8],
    ) -> StoreFuture<()> {
        let key = try_issue!(StoreKey::new(primary_namespace, secondary_namespace, key));
        self.write_batch(vec![BatchOp::Write(key, value.to_vec())])
    }

    /// Removes one record; succeeds whether or not it existed. Ordered with writes like a
    /// write.
    pub fn remove(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> StoreFuture<()> {
        let key = try_issue!(StoreKey::new(primary_namespace, secondary_namespace, key));
        self.write_batch(vec![BatchOp::Remove(key)])
    }

    /// Applies all `ops` in one transaction, in order: all commit or none.
    pub fn write_batch(&self, ops: Vec<BatchOp>) -> StoreFuture<()> {
        let (tx, completion) = try_issue!(self.begin(&[KV], true));
        try_issue!(with_abort(
            &tx,
            object_store(&tx, KV).and_then(|store| queue_ops(&store, &ops))
        ));
        StoreFuture::waiting(completion, |outcome| outcome)
    }

    /// The keys stored directly under `(primary_namespace, secondary_namespace)`, sorted;
    /// empty for an unknown namespace.
    pub fn list(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
    ) -> StoreFuture<Vec<String>> {
        try_issue!(validate_namespace(primary_namespace, secondary_namespace));
        let range = try_issue!(namespace_range(primary_namespace, secondary_namespace));
        let (tx, completion) = try_issue!(self.begin(&[KV], false));
        let request = try_issue!(with_abort(
            &tx,
            object_store(&tx, KV)
                .and_then(|s| s.get_all_keys_with_key(&range).map_err(|e| thrown(&e)))
        ));
        StoreFuture::waiting(completion, move |outcome| {
            outcome?;
            let keys = keys_from_js(&request.result().map_err(|e| thrown(&e))?)?;
            Ok(keys.into_iter().map(|k| k.key().to_string()).collect())
        })
    }

    /// Every key in the store, sorted by (primary, secondary, key): for backups and
    /// migrations.
    pub fn list_all(&self) -> StoreFuture<Vec<StoreKey>> {
        let (tx, completion) = try_issue!(self.begin(&[KV], false));
        let request = try_issue!(with_abort(
            &tx,
            object_store(&tx, KV).and_then(|s| s.get_all_keys().map_err(|e| thrown(&e)))
        ));
        StoreFuture::waiting(completion, move |outcome| {
            outcome?;
            keys_from_js(&request.result().map_err(|e| thrown(&e))?)
        })
    }

    /// The wallet marker, or `None` if no wallet was ever created in this database.
    pub fn wallet_marker(&self) -> StoreFuture<Option<WalletMarker>> {
        let (tx, completion) = try_issue!(self.begin(&[META], false));
        let request = try_issue!(with_abort(
            &tx,
            object_store(&tx, META).and_then(|s| s
                .get(&JsValue::from_str(MARKER_KEY))
                .map_err(|e| thrown(&e)))
        ));
        StoreFuture::waiting(completion, move |outcome| {
            outcome?;
            let value = request.result().map_err(|e| thrown(&e))?;
            if value.is_undefined() {
                return Ok(None);
            }
            let bytes = value
                .dyn_into::<Uint8Array>()
                .map_err(|_| StoreError::Corrupt("the wallet marker is not bytes".into()))?
                .to_vec();
            WalletMarker::decode(&bytes).map(Some)
        })
    }

    /// Creates a wallet: in one transaction, checks that there is neither a marker
    /// ([`StoreError::WalletExists`]) nor any record ([`StoreError::DataExists`]), then writes
    /// `initial` records and the marker stamped `created_at_millis`. Atomic across tabs:
    /// of two concurrent calls exactly one succeeds, and a refused call writes nothing.
    pub fn create_wallet(
        &self,
        initial: Vec<(StoreKey, Vec<u8>)>,
        created_at_millis: u64,
    ) -> StoreFuture<WalletMarker> {
        let marker = WalletMarker {
            format_version: STORE_FORMAT_VERSION,
            created_at_millis,
        };
        let (tx, completion, reason) = try_issue!(self.begin_with_reason(&[KV, META], true));
        let issued = (|| -> Result<(), StoreError> {
            let kv = object_store(&tx, KV)?;
            let meta = object_store(&tx, META)?;
            // `add` fails with ConstraintError if the marker exists, aborting everything.
            // It goes first so an existing wallet reads as WalletExists, not DataExists.
            let marker_bytes = Uint8Array::from(marker.encode().as_slice());
            meta.add_with_key(&marker_bytes, &JsValue::from_str(MARKER_KEY))
                .map_err(|e| thrown(&e))?;
            let count = kv.count().map_err(|e| thrown(&e))?;
            let on_count = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let Some(request) = event.target().and_then(|t| t.dyn_into::<IdbRequest>().ok())
                else {
                    return;
                };
                let n = request
                    .result()
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                if n > 0.0 {
                    *reason.borrow_mut() = Some(StoreError::DataExists);
                    if let Some(tx) = request.transaction() {
                        let _ = tx.abort();
                    }
                }
            });
            count.set_onsuccess(Some(on_count.into_js_value().unchecked_ref()));
            let ops: Vec<BatchOp> = initial
                .into_iter()
                .map(|(k, v)| BatchOp::Write(k, v))
                .collect();
            queue_ops(&kv, &ops)
        })();
        try_issue!(with_abort(&tx, issued));
        StoreFuture::waiting(completion, move |outcome| match outcome {
            Ok(()) => Ok(marker),
            Err(StoreError::TransactionFailed { name, .. }) if name == "ConstraintError" => {
                Err(StoreError::WalletExists)
            }
            Err(e) => Err(e),
        })
    }

    fn begin(
        &self,
        stores: &[&str],
        readwrite: bool,
    ) -> Result<(IdbTransaction, TxCompletion), StoreError> {
        self.begin_with_reason(stores, readwrite)
            .map(|(tx, c, _)| (tx, c))
    }

    fn begin_with_reason(
        &self,
        stores: &[&str],
        readwrite: bool,
    ) -> Result<
        (
            IdbTransaction,
            TxCompletion,
            super::transaction::AbortReason,
        ),
        StoreError,
    > {
        if readwrite && self.conn.sealed.get() {
            return Err(StoreError::Closed);
        }
        self.begin_unsealed(stores, readwrite)
    }

    /// [`begin_with_reason`](Self::begin_with_reason) for the closing barrier, which a sealed
    /// store still issues (it writes nothing).
    fn begin_unsealed(
        &self,
        stores: &[&str],
        readwrite: bool,
    ) -> Result<
        (
            IdbTransaction,
            TxCompletion,
            super::transaction::AbortReason,
        ),
        StoreError,
    > {
        if self.conn.closed.get() {
            return Err(StoreError::Closed);
        }
        let tx =
            browser::idb_transaction(&self.conn.db, stores, readwrite).map_err(|e| thrown(&e))?;
        let (completion, reason) = TxCompletion::watch(&tx);
        Ok((tx, completion, reason))
    }
}

/// Aborts `tx` if queuing its requests failed half-way, so nothing partial commits.
fn with_abort<T>(tx: &IdbTransaction, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if result.is_err() {
        let _ = tx.abort();
    }
    result
}

fn object_store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, StoreError> {
    tx.object_store(name).map_err(|e| thrown(&e))
}

fn queue_ops(store: &IdbObjectStore, ops: &[BatchOp]) -> Result<(), StoreError> {
    for op in ops {
        match op {
            BatchOp::Write(key, value) => {
                let value = Uint8Array::from(value.as_slice());
                store
                    .put_with_key(&value, &key_to_js(key))
                    .map_err(|e| thrown(&e))?;
            }
            BatchOp::Remove(key) => {
                store.delete(&key_to_js(key)).map_err(|e| thrown(&e))?;
            }
        }
    }
    Ok(())
}

fn key_to_js(key: &StoreKey) -> JsValue {
    Array::of3(
        &JsValue::from_str(key.primary_namespace()),
        &JsValue::from_str(key.secondary_namespace()),
        &JsValue::from_str(key.key()),
    )
    .into()
}

fn namespace_range(primary: &str, secondary: &str) -> Result<IdbKeyRange, StoreError> {
    let lower = Array::of3(
        &JsValue::from_str(primary),
        &JsValue::from_str(secondary),
        &JsValue::from_str(""),
    );
    let upper = Array::of3(
        &JsValue::from_str(primary),
        &JsValue::from_str(secondary),
        &Array::new(),
    );
    IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, false, true)
        .map_err(|e| thrown(&e))
}

fn bytes_from_js(value: &JsValue, key: &StoreKey) -> Result<Option<Vec<u8>>, StoreError> {
    if value.is_undefined() {
        return Ok(None);
    }
    match value.dyn_ref::<Uint8Array>() {
        Some(bytes) => Ok(Some(bytes.to_vec())),
        None => Err(StoreError::Corrupt(format!("record {key} is not bytes"))),
    }
}

fn keys_from_js(value: &JsValue) -> Result<Vec<StoreKey>, StoreError> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| StoreError::Corrupt("key listing is not an array".into()))?;
    let mut keys = Vec::with_capacity(array.length() as usize);
    for entry in array.iter() {
        let parts = entry.dyn_ref::<Array>().filter(|a| a.length() == 3);
        let parts: Option<Vec<String>> =
            parts.map(|a| a.iter().filter_map(|p| p.as_string()).collect());
        match parts {
            Some(p) if p.len() == 3 => keys.push(
                StoreKey::new(&p[0], &p[1], &p[2])
                    .map_err(|e| StoreError::Corrupt(format!("stored key: {e}")))?,
            ),
            _ => {
                return Err(StoreError::Corrupt(
                    "a stored key is not [primary, secondary, key]".into(),
                ))
            }
        }
    }
    Ok(keys)
}

fn open_failed(value: &JsValue) -> StoreError {
    StoreError::OpenFailed {
        name: browser::dom_exception_name(value).unwrap_or_else(|| "Error".into()),
        message: browser::describe_js_error(value),
    }
}

/// Waits for an open/delete request's `success` (its result) or `error` (its DOMException).
async fn request_outcome(request: &IdbRequest) -> Result<JsValue, StoreError> {
    let (sender, receiver) = oneshot::channel::<Result<JsValue, StoreError>>();
    let sender = Rc::new(core::cell::RefCell::new(Some(sender)));
    let on_success = {
        let sender = sender.clone();
        Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let result = event
                .target()
                .and_then(|t| t.dyn_into::<IdbRequest>().ok())
                .map(|r| r.result().map_err(|e| thrown(&e)))
                .unwrap_or(Ok(JsValue::UNDEFINED));
            if let Some(s) = sender.borrow_mut().take() {
                let _ = s.send(result);
            }
        })
    };
    let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let error = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.error().ok().flatten())
            .map(|e| StoreError::TransactionFailed {
                name: e.name(),
                message: e.message(),
            })
            .unwrap_or(StoreError::TransactionFailed {
                name: "UnknownError".into(),
                message: "request failed".into(),
            });
        if let Some(s) = sender.borrow_mut().take() {
            let _ = s.send(Err(error));
        }
    });
    request.set_onsuccess(Some(on_success.into_js_value().unchecked_ref()));
    request.set_onerror(Some(on_error.into_js_value().unchecked_ref()));
    receiver.await.unwrap_or(Err(StoreError::Closed))
}

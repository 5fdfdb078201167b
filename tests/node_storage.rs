//! The wallet node's storage guarantees, through the JS `Wallet` API, in headless Chromium,
//! against the devnet's chain (tests/support/run_node_tests.sh starts it and passes its
//! endpoints in `DEVNET_ENDPOINTS`).
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use support::*;
use tabnode::store::Store;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

#[wasm_bindgen_test]
async fn new_wallet_opens_against_the_chain_and_reopens_with_the_same_identity() {
    let name = fresh_name("open");
    assert!(!exists(&name).await);
    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("open: {} {}", code_of(&e), err_message(&e)));
    let events = w.record(&["synced", "error"]);
    let node_id = w.node_id();
    assert_eq!(node_id.len(), 66);
    assert_eq!(w.prop("network").as_string().unwrap(), "regtest");
    assert!(exists(&name).await);

    // The chain: a sync reaches the devnet tip.
    w.ok("sync", &[]).await;
    let synced = events
        .wait_for("synced", Duration::from_secs(10), |_| true)
        .await;
    let height = synced["height"].as_u64().unwrap();
    assert!(height > 100, "devnet height {height}");
    say(&format!("new wallet {node_id} synced at height {height}"));

    // Fresh wallet: nothing anywhere, an address, a 12-word phrase.
    let balance = w.ok("balance", &[]).await;
    assert_eq!(
        balance,
        json!({"lightningMsat": 0, "onchainSat": 0, "onchainPendingSat": 0, "anchorReserveSat": 0, "inboundMsat": 0})
    );
    assert_eq!(w.ok("channels", &[]).await, json!([]));
    assert_eq!(w.ok("payments", &[]).await, json!([]));
    let address = w.ok("onchainAddress", &[]).await;
    assert!(address.as_str().unwrap().starts_with("bcrt1q"), "{address}");
    let phrase = w.call("mnemonic", &[]).unwrap().as_string().unwrap();
    assert_eq!(phrase.split(' ').count(), 12);
    assert_eq!(w.call("pendingReceives", &[]).unwrap().as_f64(), Some(0.0));

    // No channel yet: a receive goes through the LSP (an LSPS2 JIT channel; tests/jit_receive.rs
    // pays such receives).
    let r = w
        .ok(
            "receive",
            &[js(&json!({"amountMsat": 10_000_000, "description": "x"}))],
        )
        .await;
    assert_eq!(r["protocol"], "lsps2", "{r}");
    assert_eq!(w.call("pendingReceives", &[]).unwrap().as_f64(), Some(1.0));
    let e = w
        .call_async(
            "receive",
            &[js(&json!({"amountMsat": 1.5, "description": "x"}))],
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "INVALID_AMOUNT");

    // Reopen in the same page after stop: same node, same phrase, same address.
    w.stop().await;
    let e = w.call_async("balance", &[]).await.unwrap_err();
    assert_eq!(code_of(&e), "STOPPED");
    let w2 = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("reopen: {} {}", code_of(&e), err_message(&e)));
    assert_eq!(w2.node_id(), node_id);
    assert_eq!(
        w2.call("mnemonic", &[]).unwrap().as_string().unwrap(),
        phrase
    );
    assert_eq!(w2.ok("onchainAddress", &[]).await, address);
    assert!(
        events.all().iter().all(|(k, _)| k != "error"),
        "{:?}",
        events.all()
    );
    w2.stop().await;
    say("reopened with the same identity");
}

#[wasm_bindgen_test]
async fn a_second_open_of_a_running_wallet_is_already_running() {
    let name = fresh_name("twice");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let e = open(&lsps2_config(&name))
        .await
        .err()
        .expect("second open must fail");
    assert_eq!(code_of(&e), "ALREADY_RUNNING");
    assert!(!err_message(&e).is_empty());
    w.stop().await;
    // Released: now it opens.
    let w = open(&lsps2_config(&name)).await.unwrap();
    w.stop().await;
    say("second open refused with ALREADY_RUNNING while the first ran");
}

/// One node per seed: the same phrase restored under a second storage name while the first
/// runs is refused before anything is written (Web Locks are origin-wide, so a second tab is
/// refused the same way), and opens once the first has stopped.
#[wasm_bindgen_test]
async fn the_same_seed_under_a_second_name_is_already_running() {
    let first = fresh_name("seed-a");
    let second = fresh_name("seed-b");
    let w = open(&lsps2_config(&first)).await.unwrap();
    let phrase = w.call("mnemonic", &[]).unwrap().as_string().unwrap();
    let mut restore = lsps2_config(&second);
    restore["mnemonic"] = json!(phrase);
    let e = open(&restore)
        .await
        .err()
        .expect("a second node on the same seed must not start");
    assert_eq!(code_of(&e), "ALREADY_RUNNING", "{}", err_message(&e));
    assert!(
        !exists(&second).await,
        "nothing written under the second name"
    );
    // The refused open gave its storage-name lock back: a different seed opens there.
    let other = open(&lsps2_config(&second)).await.unwrap();
    assert_ne!(other.node_id(), w.node_id());
    other.stop().await;
    w.stop().await;
    let third = fresh_name("seed-c");
    let mut restore = lsps2_config(&third);
    restore["mnemonic"] = json!(phrase);
    let again = open(&restore)
        .await
        .unwrap_or_else(|e| panic!("after stop: {} {}", code_of(&e), err_message(&e)));
    assert_eq!(again.node_id(), w.node_id());
    again.stop().await;
    say("same seed under a second name refused with ALREADY_RUNNING; opens after stop");
}

/// Opens wallet `name` and expects STORAGE_CORRUPT with nothing in its storage changed.
async fn refused_untouched(name: &str) -> JsValue {
    let before = snapshot(name).await;
    let e = open(&lsps2_config(name))
        .await
        .err()
        .expect("a damaged wallet must not open");
    assert_eq!(code_of(&e), "STORAGE_CORRUPT");
    let after = snapshot(name).await;
    let changed: Vec<&String> = after
        .iter()
        .filter(|r| !before.contains(r))
        .chain(before.iter().filter(|r| !after.contains(r)))
        .map(|(k, _)| k)
        .collect();
    assert!(changed.is_empty(), "written: {changed:?}");
    e
}

#[wasm_bindgen_test]
async fn a_corrupt_manager_is_fatal_and_left_untouched() {
    let name = fresh_name("corrupt");
    let w = open(&lsps2_config(&name)).await.unwrap();
    w.stop().await;

    // Corrupt the channel manager record.
    let store = Store::open(&name).await.unwrap();
    let mut manager = store
        .read("", "", "manager")
        .await
        .unwrap()
        .expect("manager written at creation");
    manager.truncate(manager.len() / 2);
    store.write("", "", "manager", &manager).await.unwrap();
    store.close();
    let e = refused_untouched(&name).await;
    assert_eq!(
        JsValue::from(true),
        js_sys::Reflect::get(&e, &"fatal".into()).unwrap()
    );

    // A missing manager is just as fatal.
    let store = Store::open(&name).await.unwrap();
    store.remove("", "", "manager").await.unwrap();
    store.close();
    refused_untouched(&name).await;
    // The lock was released by the failed opens.
    let e = open(&lsps2_config(&name)).await.err().unwrap();
    assert_eq!(code_of(&e), "STORAGE_CORRUPT");
    say("corrupt and missing manager: STORAGE_CORRUPT, data untouched");
}

#[wasm_bindgen_test]
async fn a_corrupt_or_missing_onchain_wallet_is_fatal_and_left_untouched() {
    let name = fresh_name("onchain");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let address = w.ok("onchainAddress", &[]).await;
    w.stop().await;

    let store = Store::open(&name).await.unwrap();
    let saved = store
        .read("onchain", "", "wallet")
        .await
        .unwrap()
        .expect("the on-chain wallet is written at creation");
    store
        .write("onchain", "", "wallet", &saved[..saved.len() / 2])
        .await
        .unwrap();
    store.close();
    refused_untouched(&name).await;

    // Missing: never a fresh on-chain wallet over an existing one.
    let store = Store::open(&name).await.unwrap();
    store.remove("onchain", "", "wallet").await.unwrap();
    store.close();
    refused_untouched(&name).await;

    // Put back, it opens with the same address.
    let store = Store::open(&name).await.unwrap();
    store.write("onchain", "", "wallet", &saved).await.unwrap();
    store.close();
    let w = open(&lsps2_config(&name)).await.unwrap();
    assert_eq!(w.ok("onchainAddress", &[]).await, address);
    w.stop().await;
    say("corrupt and missing on-chain wallet: STORAGE_CORRUPT, data untouched");
}

#[wasm_bindgen_test]
async fn data_without_a_marker_is_never_overwritten() {
    let name = fresh_name("foreign");
    let store = Store::open(&name).await.unwrap();
    store
        .write("monitors", "", "foreign", b"not ours")
        .await
        .unwrap();
    store.close();
    let before = snapshot(&name).await;
    let e = open(&lsps2_config(&name)).await.err().expect("must refuse");
    assert_eq!(code_of(&e), "STORAGE_CORRUPT");
    assert_eq!(snapshot(&name).await, before);
    assert!(!exists(&name).await);
    say("records without a marker: refused, untouched");
}

#[wasm_bindgen_test]
async fn restore_from_a_mnemonic_and_refuse_a_different_one() {
    let a = fresh_name("restore-a");
    let b = fresh_name("restore-b");
    let mut config = lsps2_config(&a);
    config["mnemonic"] = json!(ABANDON);
    let w = open(&config).await.unwrap();
    let id = w.node_id();
    w.stop().await;
    config["storageName"] = json!(b);
    let w = open(&config).await.unwrap();
    assert_eq!(w.node_id(), id, "same phrase, same node");
    w.stop().await;

    // The stored wallet is not replaced by another phrase.
    let mut other = lsps2_config(&a);
    other["mnemonic"] =
        json!("legal winner thank year wave sausage worth useful legal winner thank yellow");
    let e = open(&other).await.err().unwrap();
    assert_eq!(code_of(&e), "ALREADY_EXISTS");
    // A bad config never reaches storage.
    let mut bad = lsps2_config(&fresh_name("bad"));
    bad["mnemonic"] = json!("abandon abandon");
    assert_eq!(
        code_of(&open(&bad).await.err().unwrap()),
        "INVALID_MNEMONIC"
    );
    let mut bad = lsps2_config(&fresh_name("bad"));
    bad["esploraUrl"] = json!("ftp://x");
    let e = open(&bad).await.err().unwrap();
    assert_eq!(code_of(&e), "INVALID_CONFIG");
    say(&format!(
        "restored {id} from its phrase in two storages; a different phrase refused"
    ));
}

/// Rewrites the format version in wallet `name`'s marker (object store "meta", key "wallet":
/// 8 bytes of magic, then the version as a big-endian u32) with raw IndexedDB, as a newer
/// tabnode would have left it.
async fn stamp_marker_version(name: &str, version: u32) {
    let f = js_sys::Function::new_with_args(
        "name, version",
        "return new Promise((resolve, reject) => {
           const open = indexedDB.open(name);
           open.onerror = () => reject(open.error);
           open.onsuccess = () => {
             const db = open.result;
             const tx = db.transaction('meta', 'readwrite');
             const store = tx.objectStore('meta');
             const get = store.get('wallet');
             get.onsuccess = () => {
               const bytes = new Uint8Array(get.result);
               new DataView(bytes.buffer).setUint32(8, version, false);
               store.put(bytes, 'wallet');
             };
             tx.oncomplete = () => { db.close(); resolve(); };
             tx.onerror = () => { db.close(); reject(tx.error); };
           };
         })",
    );
    let p = f
        .call2(&JsValue::NULL, &name.into(), &JsValue::from(version))
        .unwrap();
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(p))
        .await
        .expect("marker stamped");
}

/// A storage format newer than this build is refused before anything is read as ours or
/// written; back at this build's format the same data opens.
#[wasm_bindgen_test]
async fn a_storage_format_newer_than_this_build_is_refused_untouched() {
    let name = fresh_name("newer-format");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let node_id = w.node_id();
    w.stop().await;

    stamp_marker_version(&name, tabnode::store::STORE_FORMAT_VERSION + 1).await;
    refused_untouched(&name).await;
    stamp_marker_version(&name, tabnode::store::STORE_FORMAT_VERSION).await;
    let w = open(&lsps2_config(&name)).await.unwrap();
    assert_eq!(w.node_id(), node_id, "the same wallet");
    w.stop().await;
    say("a newer storage format: STORAGE_CORRUPT, data untouched; reopens at this format");
}

/// Breaks IndexedDB for wallet `name` only, in this page, until dropped (dropping restores it,
/// a failed assertion included). `install` is the body of a JS function `(name, arg)` that
/// patches a prototype and returns the function that puts it back.
struct IdbFault(js_sys::Function);

impl IdbFault {
    fn install(body: &str, name: &str, arg: &str) -> IdbFault {
        let restore = js_sys::Function::new_with_args("name, arg", body)
            .call2(&JsValue::NULL, &name.into(), &arg.into())
            .expect("fault installed");
        IdbFault(restore.into())
    }

    /// Patches `put` so that every put into `namespace` of wallet `name` also runs `action`, a JS
    /// statement with the object store (`store`), the `key` and the put's `request` in scope.
    fn on_put(name: &str, namespace: &str, action: &str) -> IdbFault {
        IdbFault::install(
            &format!(
                "const proto = IDBObjectStore.prototype;
                 const original = proto.put;
                 proto.put = function (value, key) {{
                   const request = original.call(this, value, key);
                   if (this.transaction.db.name === name && Array.isArray(key) && key[0] === arg) {{
                     const store = this;
                     {action}
                   }}
                   return request;
                 }};
                 return () => {{ proto.put = original; }};"
            ),
            name,
            namespace,
        )
    }

    /// Every `put` into `namespace` of wallet `name` aborts its transaction: what a quota error
    /// does (the transaction aborts, none of its writes land, the request fails).
    fn failing_writes(name: &str, namespace: &str) -> IdbFault {
        IdbFault::on_put(name, namespace, "store.transaction.abort();")
    }

    /// Every `put` into `namespace` of wallet `name` keeps its transaction busy (re-reading the
    /// key) for `millis` before it may commit: a write that is slow to land, as on a loaded disk.
    fn slow_writes(name: &str, namespace: &str, millis: u32) -> IdbFault {
        IdbFault::on_put(
            name,
            namespace,
            &format!(
                "const until = Date.now() + {millis};
                 const spin = () => {{ if (Date.now() < until) store.get(key).onsuccess = spin; }};
                 request.addEventListener('success', spin);"
            ),
        )
    }

    /// Creating object store `store` in database `name` throws, as a full disk or a broken
    /// profile makes it.
    fn failing_object_store_creation(name: &str, store: &str) -> IdbFault {
        IdbFault::install(
            "const proto = IDBDatabase.prototype;
             const original = proto.createObjectStore;
             proto.createObjectStore = function (store, options) {
               if (this.name === name && store === arg) {
                 throw new DOMException('disk full (test fault)', 'QuotaExceededError');
               }
               return original.call(this, store, options);
             };
             return () => { proto.createObjectStore = original; };",
            name,
            store,
        )
    }
}

impl Drop for IdbFault {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::NULL);
    }
}

/// Item 11: a receive whose JIT record or payment-history write fails is refused with
/// `STORAGE_FAILED` and stops the node (a fatal `error` event); nothing is written after; the
/// wallet reopens once storage works, with no invoice in its history that was never handed out.
#[wasm_bindgen_test]
async fn a_failed_write_in_receive_stops_the_node() {
    for namespace in ["jit", "payments"] {
        let name = fresh_name(&format!("receive-write-{namespace}"));
        let w = open(&lsps2_config(&name)).await.unwrap();
        let ev = w.record(&["error"]);
        let request = js(&json!({"amountMsat": 50_000_000u64, "description": "write fails"}));

        let fault = IdbFault::failing_writes(&name, namespace);
        let e = w
            .call_async("receive", std::slice::from_ref(&request))
            .await
            .expect_err("a receive whose write failed must be refused");
        assert_eq!(code_of(&e), "STORAGE_FAILED", "{}", err_message(&e));
        let error = ev
            .wait_for("error", Duration::from_secs(10), |d| {
                d["code"] == "STORAGE_FAILED"
            })
            .await;
        assert_eq!(error["fatal"], json!(true), "{error}");
        drop(fault);
        let after = snapshot(&name).await;

        let refused = w
            .call_async("receive", std::slice::from_ref(&request))
            .await
            .expect_err("a stopped node receives nothing");
        say(&format!(
            "{namespace} write failed: receive STORAGE_FAILED, node stopped, next receive {}",
            code_of(&refused)
        ));
        tabnode::time::sleep(Duration::from_secs(2)).await;
        let later = snapshot(&name).await;
        let changed: Vec<&String> = later
            .iter()
            .filter(|r| !after.contains(r))
            .map(|(k, _)| k)
            .chain(after.iter().filter(|r| !later.contains(r)).map(|(k, _)| k))
            .collect();
        assert!(
            changed.is_empty(),
            "{namespace}: written after the failure: {changed:?}"
        );
        w.stop().await;

        let w = open(&lsps2_config(&name))
            .await
            .unwrap_or_else(|e| panic!("reopen: {} {}", code_of(&e), err_message(&e)));
        assert_eq!(
            w.ok("payments", &[]).await,
            json!([]),
            "no invoice was handed out"
        );
        let receipt = w.ok("receive", &[request]).await;
        assert_eq!(receipt["protocol"], "lsps2", "{receipt}");
        w.stop().await;
    }
}

/// Issue 27, item 9: a write that fails during `stop()` (its last write of the channel manager)
/// is as fatal as one before it: the page gets a fatal `STORAGE_FAILED` `error` event (it used to
/// be dropped because the node was already stopping), and nothing is written after it.
#[wasm_bindgen_test]
async fn a_failed_write_during_stop_is_fatal_and_reported() {
    let name = fresh_name("stop-write");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let ev = w.record(&["error"]);
    // The manager, graph and scorer live under the empty primary namespace.
    let fault = IdbFault::failing_writes(&name, "");
    w.stop().await;
    let error = ev
        .wait_for("error", Duration::from_secs(10), |d| {
            d["code"] == "STORAGE_FAILED"
        })
        .await;
    assert_eq!(error["fatal"], json!(true), "{error}");
    drop(fault);
    say("a failed write during stop(): fatal STORAGE_FAILED reported");
    // The wallet still opens from what was written before.
    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("reopen: {} {}", code_of(&e), err_message(&e)));
    w.stop().await;
}

/// Starts a receive on `w` (wallet `name`) whose payment-history write is held `millis` (it
/// lands that long after it is issued) and gives it 2 s to reach that write (after the LSP's
/// terms). Returns the fault (dropping it restores IndexedDB for later writes), the receive's
/// promise, and when the receive call returned (Unix ms).
async fn receive_with_a_slow_write(
    w: &JsWallet,
    name: &str,
    millis: u32,
) -> (IdbFault, JsValue, u64) {
    let fault = IdbFault::slow_writes(name, "payments", millis);
    let request = js(&json!({"amountMsat": 50_000_000u64, "description": "slow write"}));
    let receive = w.call("receive", &[request]).expect("receive called");
    let called = tabnode::time::now_millis();
    tabnode::time::sleep(Duration::from_secs(2)).await;
    (fault, receive, called)
}

/// Issue 27, item 12: `stop()` gives up the wallet's lock only once the writes issued before it
/// have landed, however slow: with a payment-history write held for 12 s, every second open
/// during the stop is `ALREADY_RUNNING`, and one succeeds once `stop()` has resolved. A `stop()`
/// that let the lock go after a timeout shorter than the write would fail here.
#[wasm_bindgen_test]
async fn stop_keeps_the_lock_until_a_slow_write_lands() {
    let name = fresh_name("stop-slow-write");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let (fault, receive, _) = receive_with_a_slow_write(&w, &name, 12_000).await;
    let started = tabnode::time::now_millis();
    let stop: js_sys::Promise = w.call("stop", &[]).unwrap().dyn_into().unwrap();
    let stopped = Rc::new(Cell::new(false));
    let flag = stopped.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = JsFuture::from(stop).await;
        flag.set(true);
    });
    // Until stop() resolves, every second open is refused: the lock is never given up while
    // the write is pending, however long it takes (a timeout of up to ~10 s would show here).
    let mut refused = 0;
    while !stopped.get() {
        tabnode::time::sleep(Duration::from_secs(1)).await;
        if stopped.get() {
            break;
        }
        let Err(second) = open(&lsps2_config(&name)).await else {
            panic!("a second open while the write is pending: the lock was given up");
        };
        assert_eq!(
            code_of(&second),
            "ALREADY_RUNNING",
            "{}",
            err_message(&second)
        );
        refused += 1;
    }
    let waited = tabnode::time::now_millis() - started;
    assert!(
        refused >= 5,
        "stop() waited for the slow write ({waited} ms, {refused} refusals)"
    );
    drop(fault);
    let _ = JsFuture::from(js_sys::Promise::resolve(&receive)).await;
    say(&format!(
        "stop() with a 12 s write pending resolved after {waited} ms, {refused} opens refused"
    ));
    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("reopen: {} {}", code_of(&e), err_message(&e)));
    w.stop().await;
}

/// Issue 27, item 9: `stop()` ends within its bound. With a payment-history write held for 10 s
/// and `timeoutSecs: 2`, it resolves after about 2 s with `{ complete: false, abandoned:
/// ["IndexedDB writes", ...] }`, and keeps the wallet's lock until the write has landed: a
/// second open in the meantime is `ALREADY_RUNNING`, one after it succeeds.
#[wasm_bindgen_test]
async fn stop_gives_up_at_its_bound_names_what_it_abandoned_and_keeps_the_lock() {
    let name = fresh_name("stop-bound");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let (fault, receive, _) = receive_with_a_slow_write(&w, &name, 10_000).await;
    let started = tabnode::time::now_millis();
    let report = w.stop_with(Some(json!({"timeoutSecs": 2}))).await;
    let took = tabnode::time::now_millis() - started;
    say(&format!(
        "stop({{timeoutSecs: 2}}) with a 10 s write pending: {report} after {took} ms"
    ));
    assert_eq!(report["complete"], json!(false), "{report}");
    let abandoned = report["abandoned"].as_array().expect("abandoned is a list");
    assert!(abandoned.contains(&json!("IndexedDB writes")), "{report}");
    assert!(
        (2_000..5_000).contains(&took),
        "stop() took {took} ms with a 2 s bound"
    );
    // The lock stays until the write lands.
    let mut refused = 0;
    let reopened = loop {
        match open(&lsps2_config(&name)).await {
            Ok(w) => break w,
            Err(e) => {
                assert_eq!(code_of(&e), "ALREADY_RUNNING", "{}", err_message(&e));
                refused += 1;
                assert!(refused < 30, "the lock was never given back");
            }
        }
        tabnode::time::sleep(Duration::from_secs(1)).await;
    };
    let free_after = tabnode::time::now_millis() - started;
    say(&format!(
        "the lock was given back {free_after} ms after stop() began, {refused} opens refused before"
    ));
    assert!(
        free_after >= 6_000,
        "the lock was given back before the slow write landed ({free_after} ms)"
    );
    drop(fault);
    let _ = JsFuture::from(js_sys::Promise::resolve(&receive)).await;
    // A second stop() resolves with the first one's report.
    assert_eq!(w.stop_with(None).await, report);
    reopened.stop().await;
}

/// Issue 27, item 9: after another context steals the wallet's lock (a fatal `LOCK_LOST`),
/// `stop()` still waits for the writes issued before the steal: with a payment-history write
/// held for 8 s, `stop()` resolves only once it has landed. (A store closed at the steal let
/// `stop()` resolve at once.)
#[wasm_bindgen_test]
async fn after_a_stolen_lock_stop_still_waits_for_the_writes_issued_before() {
    let name = fresh_name("stolen-stop");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let ev = w.record(&["error"]);
    let (fault, receive, issued) = receive_with_a_slow_write(&w, &name, 8_000).await;
    steal_lock(&tabnode::node::builder::lock_name(&name)).await;
    ev.wait_for("error", Duration::from_secs(10), |d| {
        d["code"] == "LOCK_LOST"
    })
    .await;
    let report = w.stop_with(None).await;
    let waited = tabnode::time::now_millis() - issued;
    say(&format!(
        "stop() after a stolen lock: {report}, {waited} ms after the slow write began"
    ));
    assert_eq!(report["complete"], json!(true), "{report}");
    assert!(
        waited >= 7_000,
        "stop() resolved {waited} ms into an 8 s write issued before the steal"
    );
    drop(fault);
    let _ = JsFuture::from(js_sys::Promise::resolve(&receive)).await;
}

/// Item 11: an object store that cannot be created fails the open (`STORAGE_FAILED`) and
/// leaves no half-made database: no wallet exists after it, and once storage works the same
/// name opens with every object store.
#[wasm_bindgen_test]
async fn a_failed_object_store_creation_fails_the_open_and_leaves_nothing_half_made() {
    let name = fresh_name("no-object-store");
    {
        let _fault = IdbFault::failing_object_store_creation(&name, "kv");
        let e = open(&lsps2_config(&name))
            .await
            .err()
            .expect("an open without its object stores must fail");
        assert_eq!(code_of(&e), "STORAGE_FAILED", "{}", err_message(&e));
    }
    assert!(!exists(&name).await, "a failed creation leaves no wallet");
    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("open after the fault: {} {}", code_of(&e), err_message(&e)));
    let receipt = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 50_000_000u64, "description": "after"}),
            )],
        )
        .await;
    assert_eq!(receipt["protocol"], "lsps2", "{receipt}");
    w.stop().await;
    say("object-store creation failed: STORAGE_FAILED, nothing half made; reopens and receives");
}

/// `w`'s record of the payment `hash` once its status is `status` (at most 60 s).
async fn wait_payment(w: &JsWallet, hash: &str, status: &str) -> serde_json::Value {
    let deadline = tabnode::time::now_millis() + 60_000;
    loop {
        let payments = w.ok("payments", &[]).await;
        let found = payments
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["paymentHash"] == hash)
            .cloned();
        if let Some(p) = found.filter(|p| p["status"] == status) {
            return p;
        }
        assert!(
            tabnode::time::now_millis() < deadline,
            "payment {hash} not {status} within 60 s: {payments}"
        );
        tabnode::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A new wallet `name` that received 30 000 sat through a JIT channel from the LSPS2 LSP, and
/// its lightning balance after it (the amount less the LSP's fee).
async fn wallet_with_a_channel(name: &str) -> (JsWallet, u64) {
    let w = open(&lsps2_config(name)).await.unwrap();
    let r = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 30_000_000u64, "description": "a channel"}),
            )],
        )
        .await;
    let paid = control("/pay", json!({"invoice": r["invoice"]})).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    wait_payment(&w, r["paymentHash"].as_str().unwrap(), "succeeded").await;
    let balance = 30_000_000 - r["feeMsat"].as_u64().unwrap();
    assert_eq!(w.ok("balance", &[]).await["lightningMsat"], json!(balance));
    wait_quiet(&w, name).await;
    (w, balance)
}

/// Waits until the channel holds no HTLC and nothing has been written for a second: the JIT
/// payment's record lands before its last commitment round (the LSP's `revoke_and_ack` and
/// `commitment_signed`, each a monitor write), so a fault installed at once could refuse that
/// trailing write instead of the one a test means to refuse.
async fn wait_quiet(w: &JsWallet, name: &str) {
    let deadline = js_sys::Date::now() + 30_000.0;
    let mut last = snapshot(name).await;
    loop {
        assert!(
            js_sys::Date::now() < deadline,
            "the channel never went quiet"
        );
        tabnode::time::sleep(Duration::from_secs(1)).await;
        let channels = w.ok("channels", &[]).await;
        let now = snapshot(name).await;
        if channels[0]["pendingInboundMsat"] == json!(0) && now == last {
            return;
        }
        last = now;
    }
}

/// Issue 31: a corrupt channel monitor, JIT record or payment record is `STORAGE_CORRUPT`, and
/// the wallet's data is left exactly as it was (never a fresh start over it); each put back, the
/// wallet opens with its channel and balance.
#[wasm_bindgen_test]
async fn a_corrupt_monitor_jit_or_payment_record_is_fatal_and_left_untouched() {
    let name = fresh_name("corrupt-records");
    let (w, balance) = wallet_with_a_channel(&name).await;
    w.stop().await;

    for namespace in ["monitors", "jit", "payments"] {
        let store = Store::open(&name).await.unwrap();
        let keys = store.list(namespace, "").await.unwrap();
        assert_eq!(keys.len(), 1, "{namespace}: one record ({keys:?})");
        let saved = store.read(namespace, "", &keys[0]).await.unwrap().unwrap();
        store
            .write(namespace, "", &keys[0], &saved[..saved.len() / 2])
            .await
            .unwrap();
        store.close();
        let e = refused_untouched(&name).await;
        say(&format!(
            "a corrupt {namespace} record: STORAGE_CORRUPT ({}), data untouched",
            err_message(&e)
        ));
        let store = Store::open(&name).await.unwrap();
        store.write(namespace, "", &keys[0], &saved).await.unwrap();
        store.close();
    }

    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("put back: {} {}", code_of(&e), err_message(&e)));
    assert_eq!(w.ok("channels", &[]).await.as_array().unwrap().len(), 1);
    assert_eq!(w.ok("balance", &[]).await["lightningMsat"], json!(balance));
    w.stop().await;
}

/// Issue 31: a channel monitor write the browser refuses (as a full quota does: its transaction
/// aborts) while a payment arrives over the wallet's channel stops the node with a fatal
/// `STORAGE_FAILED`, and nothing is written after. With storage working again, the reopened
/// wallet has its channel, the held payment is claimed (the payer paid, exact to the msat), and
/// it pays an invoice.
#[wasm_bindgen_test]
async fn a_refused_monitor_write_stops_the_node_and_the_channel_survives() {
    use futures::future::{select, Either};

    let name = fresh_name("monitor-write");
    let (w, balance) = wallet_with_a_channel(&name).await;
    let ev = w.record(&["error"]);
    let r = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 10_000_000u64, "description": "over the channel"}),
            )],
        )
        .await;
    assert_eq!(r["protocol"], "direct", "{r}");

    let faults = [
        IdbFault::failing_writes(&name, "monitors"),
        IdbFault::failing_writes(&name, "monitor_updates"),
    ];
    let pay = Box::pin(control("/pay", json!({"invoice": r["invoice"]})));
    let failed = Box::pin(ev.wait_for("error", Duration::from_secs(60), |d| {
        d["code"] == "STORAGE_FAILED"
    }));
    let (error, pay) = match select(failed, pay).await {
        Either::Left((error, pay)) => (error, pay),
        Either::Right((paid, _)) => panic!("paid with its monitor write refused: {paid}"),
    };
    assert_eq!(error["fatal"], json!(true), "{error}");
    let after = snapshot(&name).await;
    tabnode::time::sleep(Duration::from_secs(2)).await;
    assert!(snapshot(&name).await == after, "written after the failure");
    w.stop().await;
    // Last installed, first restored: each restores the `put` it wrapped.
    let [monitors, updates] = faults;
    drop(updates);
    drop(monitors);
    say("a refused monitor write: fatal STORAGE_FAILED, nothing written after");

    let w = open(&lsps2_config(&name))
        .await
        .unwrap_or_else(|e| panic!("reopen: {} {}", code_of(&e), err_message(&e)));
    assert_eq!(w.ok("channels", &[]).await.as_array().unwrap().len(), 1);
    let paid = pay.await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    wait_payment(&w, r["paymentHash"].as_str().unwrap(), "succeeded").await;
    let balance = balance + 10_000_000;
    assert_eq!(w.ok("balance", &[]).await["lightningMsat"], json!(balance));

    let invoice = control("/invoice", json!({"amount_msat": 5_000_000u64})).await;
    let sent = w
        .call_async(
            "pay",
            &[
                invoice["invoice"].as_str().unwrap().into(),
                JsValue::UNDEFINED,
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("pay: {} {}", code_of(&e), err_message(&e)));
    let sent = json_of(&sent);
    assert_eq!(sent["amountMsat"], json!(5_000_000u64), "{sent}");
    say(&format!(
        "reopened: the held payment claimed (balance {balance} msat), an invoice paid ({sent})"
    ));
    w.stop().await;
}

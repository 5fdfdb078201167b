//! The wallet node's storage guarantees, through the JS `Wallet` API, in headless Chromium,
//! against the devnet's chain (tests/support/run_node_tests.sh starts it and passes its
//! endpoints in `DEVNET_ENDPOINTS`).
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tabnode::store::Store;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// Every record of a database, sorted, with its bytes.
async fn snapshot(name: &str) -> Vec<(String, Vec<u8>)> {
    let store = Store::open(name).await.unwrap();
    let mut out = Vec::new();
    for key in store.list_all().await.unwrap() {
        let bytes = store
            .read(
                key.primary_namespace(),
                key.secondary_namespace(),
                key.key(),
            )
            .await
            .unwrap()
            .unwrap();
        out.push((key.to_string(), bytes));
    }
    store.close();
    out
}

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
        json!({"lightningMsat": 0, "onchainSat": 0, "onchainPendingSat": 0, "inboundMsat": 0})
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
    let again = open(&restore).await.unwrap_or_else(|e| {
        panic!("after stop: {} {}", code_of(&e), err_message(&e))
    });
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
    assert_eq!(snapshot(name).await, before, "nothing written");
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

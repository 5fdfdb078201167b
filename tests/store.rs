//! The IndexedDB store and the instance lock, in a real browser (headless Chromium via
//! wasm-bindgen-test). Every test uses its own database name.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use futures::future::join_all;
use lightning::util::persist::KVStore;
use tabnode::store::{
    acquire_instance_lock, BatchOp, Store, StoreError, StoreKey, STORE_FORMAT_VERSION,
};
use tabnode::time;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name not used by any earlier run of this page's origin.
fn fresh_name(test: &str) -> String {
    format!(
        "tabnode-test-{test}-{}-{}",
        time::now_millis(),
        js_sys::Math::random().to_bits()
    )
}

async fn fresh_store(test: &str) -> Store {
    let name = fresh_name(test);
    Store::open(&name).await.expect("open")
}

#[wasm_bindgen_test]
async fn write_read_remove_list() {
    let store = fresh_store("crud").await;
    assert_eq!(
        store.read("monitors", "", "a").await.unwrap(),
        None,
        "missing record reads as None"
    );

    store.write("monitors", "", "b", b"bee").await.unwrap();
    store.write("monitors", "", "a", b"ay").await.unwrap();
    store.write("monitors", "", "empty", b"").await.unwrap();
    store
        .write("monitors", "sub", "x", b"nested")
        .await
        .unwrap();
    store
        .write("monitorsX", "", "y", b"other primary")
        .await
        .unwrap();
    store.write("", "", "manager", b"cm").await.unwrap();

    assert_eq!(
        store.read("monitors", "", "a").await.unwrap(),
        Some(b"ay".to_vec())
    );
    assert_eq!(
        store.read("monitors", "", "empty").await.unwrap(),
        Some(Vec::new()),
        "empty is not missing"
    );
    assert_eq!(
        store.read("", "", "manager").await.unwrap(),
        Some(b"cm".to_vec())
    );
    assert_eq!(
        store.list("monitors", "").await.unwrap(),
        vec!["a", "b", "empty"]
    );
    assert_eq!(store.list("monitors", "sub").await.unwrap(), vec!["x"]);
    assert_eq!(store.list("", "").await.unwrap(), vec!["manager"]);
    assert_eq!(
        store.list("nothing", "").await.unwrap(),
        Vec::<String>::new()
    );

    store.write("monitors", "", "a", b"ay2").await.unwrap();
    assert_eq!(
        store.read("monitors", "", "a").await.unwrap(),
        Some(b"ay2".to_vec())
    );
    store.remove("monitors", "", "a").await.unwrap();
    store.remove("monitors", "", "never-there").await.unwrap();
    assert_eq!(store.read("monitors", "", "a").await.unwrap(), None);
    assert_eq!(
        store.list("monitors", "").await.unwrap(),
        vec!["b", "empty"]
    );

    let bad = store
        .write("monitors", "", "bad/key", b"x")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "store_invalid_key");
    assert_eq!(
        store.list("", "sub").await.unwrap_err().code(),
        "store_invalid_key"
    );

    let all: Vec<String> = store
        .list_all()
        .await
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        all,
        vec![
            "//manager",
            "monitors//b",
            "monitors//empty",
            "monitors/sub/x",
            "monitorsX//y"
        ]
    );
    Store::delete(store.name()).await.unwrap();
}

#[wasm_bindgen_test]
async fn batch_is_one_transaction() {
    let store = fresh_store("batch").await;
    store.write("ns", "", "gone", b"1").await.unwrap();
    let k = |key: &str| StoreKey::new("ns", "", key).unwrap();
    store
        .write_batch(vec![
            BatchOp::Write(k("a"), b"A".to_vec()),
            BatchOp::Remove(k("gone")),
            BatchOp::Write(k("a"), b"A2".to_vec()),
            BatchOp::Write(k("b"), b"B".to_vec()),
        ])
        .await
        .unwrap();
    assert_eq!(store.list("ns", "").await.unwrap(), vec!["a", "b"]);
    assert_eq!(
        store.read("ns", "", "a").await.unwrap(),
        Some(b"A2".to_vec()),
        "ops apply in order"
    );
    Store::delete(store.name()).await.unwrap();
}

#[wasm_bindgen_test]
async fn last_issued_write_wins_whatever_the_await_order() {
    let name = fresh_name("order");
    let store = Store::open(&name).await.unwrap();
    // Issue 300 writes to one key (and some to another) without awaiting any, with
    // values of varying sizes so no transaction is trivially the fastest.
    let mut futures = Vec::new();
    for i in 0u32..300 {
        let value = vec![(i % 251) as u8; 1 + (i as usize * 37) % 5000];
        let mut tagged = i.to_be_bytes().to_vec();
        tagged.extend_from_slice(&value);
        futures.push(store.write("ord", "", "key", &tagged));
        if i % 7 == 0 {
            futures.push(store.write("ord", "", "other", &tagged));
        }
    }
    // A read issued after the writes sees the last one, before any write is awaited.
    let read_after = store.read("ord", "", "key");
    // Await in reverse issue order, dropping a few futures unawaited: issue order alone decides.
    futures.reverse();
    let dropped: Vec<_> = futures.drain(..5).collect();
    drop(dropped);
    for r in join_all(futures).await {
        r.unwrap();
    }
    let seen = read_after.await.unwrap().unwrap();
    assert_eq!(u32::from_be_bytes(seen[..4].try_into().unwrap()), 299);

    store.close();
    drop(store);
    let reopened = Store::open(&name).await.unwrap();
    let value = reopened.read("ord", "", "key").await.unwrap().unwrap();
    assert_eq!(
        u32::from_be_bytes(value[..4].try_into().unwrap()),
        299,
        "last issued write survives reopen"
    );
    let other = reopened.read("ord", "", "other").await.unwrap().unwrap();
    assert_eq!(u32::from_be_bytes(other[..4].try_into().unwrap()), 294);
    reopened.close();
    Store::delete(&name).await.unwrap();
}

/// What `stop()` relies on before it releases the instance lock: `close_after_writes`
/// resolves only once every write issued before it has committed, and no write issued after
/// it is accepted.
#[wasm_bindgen_test]
async fn close_after_writes_waits_for_every_write_issued_before() {
    use futures::FutureExt;
    let name = fresh_name("barrier");
    let store = Store::open(&name).await.unwrap();
    // Large writes, not awaited: their commits take a while (strict durability).
    let pending: Vec<_> = (0u8..8)
        .map(|i| store.write("big", "", &format!("k{i}"), &vec![i; 2 * 1024 * 1024]))
        .collect();
    let barrier = store.close_after_writes();
    assert!(
        matches!(
            store.write("big", "", "late", b"x").await,
            Err(StoreError::Closed)
        ),
        "a write after the barrier is refused"
    );
    barrier.await.expect("the barrier completes");
    for (i, w) in pending.into_iter().enumerate() {
        match w.now_or_never() {
            Some(Ok(())) => {}
            other => panic!("write {i} not committed when the barrier resolved: {other:?}"),
        }
    }
    let reopened = Store::open(&name).await.unwrap();
    for i in 0u8..8 {
        let v = reopened
            .read("big", "", &format!("k{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((v.len(), v[0]), (2 * 1024 * 1024, i));
    }
    assert_eq!(reopened.read("big", "", "late").await.unwrap(), None);
    reopened.close();
    Store::delete(&name).await.unwrap();
}

/// What a fatal error relies on: a sealed store refuses every later write and batch, still
/// reads, and `close_after_writes` still waits for the writes issued before the seal.
#[wasm_bindgen_test]
async fn a_sealed_store_refuses_writes_and_still_waits_for_earlier_ones() {
    use futures::FutureExt;
    let name = fresh_name("sealed");
    let store = Store::open(&name).await.unwrap();
    store.write("ns", "", "before", b"kept").await.unwrap();
    let pending = store.write("big", "", "in-flight", &vec![7; 4 * 1024 * 1024]);
    store.seal();
    for refused in [
        store.write("ns", "", "after", b"x").await,
        store.remove("ns", "", "before").await,
    ] {
        assert!(matches!(refused, Err(StoreError::Closed)), "{refused:?}");
    }
    assert_eq!(
        store.read("ns", "", "before").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    store
        .close_after_writes()
        .await
        .expect("the barrier still runs");
    assert!(
        matches!(pending.now_or_never(), Some(Ok(()))),
        "the write issued before the seal committed first"
    );
    let reopened = Store::open(&name).await.unwrap();
    assert_eq!(reopened.read("ns", "", "after").await.unwrap(), None);
    assert!(reopened
        .read("big", "", "in-flight")
        .await
        .unwrap()
        .is_some());
    reopened.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn reopened_database_keeps_everything() {
    let name = fresh_name("reopen");
    {
        let store = Store::open(&name).await.unwrap();
        let mut writes = Vec::new();
        for i in 0..50u32 {
            writes.push(store.write(
                "p",
                &format!("s{}", i % 3),
                &format!("k{i}"),
                &i.to_le_bytes(),
            ));
        }
        for w in join_all(writes).await {
            w.unwrap();
        }
        store.remove("p", "s0", "k0").await.unwrap();
        // Dropping the last handle closes the connection.
    }
    let store = Store::open(&name).await.unwrap();
    let all = store.list_all().await.unwrap();
    assert_eq!(all.len(), 49);
    for i in 1..50u32 {
        let v = store
            .read("p", &format!("s{}", i % 3), &format!("k{i}"))
            .await
            .unwrap();
        assert_eq!(v, Some(i.to_le_bytes().to_vec()), "k{i}");
    }
    assert_eq!(store.read("p", "s0", "k0").await.unwrap(), None);
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn wallet_marker_guards_creation() {
    let name = fresh_name("marker");
    let store = Store::open(&name).await.unwrap();
    assert_eq!(
        store.wallet_marker().await.unwrap(),
        None,
        "a new database has no wallet"
    );

    let seed = StoreKey::new("wallet", "", "seed").unwrap();
    let marker = store
        .create_wallet(vec![(seed.clone(), b"seed-1".to_vec())], 1_700_000_000_000)
        .await
        .unwrap();
    assert_eq!(marker.format_version, STORE_FORMAT_VERSION);
    assert_eq!(marker.created_at_millis, 1_700_000_000_000);

    // A second creation is refused by a real ConstraintError abort, and writes nothing.
    let again = store
        .create_wallet(vec![(seed.clone(), b"seed-2".to_vec())], 5)
        .await
        .unwrap_err();
    assert_eq!(again, StoreError::WalletExists);
    assert_eq!(
        store.read("wallet", "", "seed").await.unwrap(),
        Some(b"seed-1".to_vec())
    );

    store.close();
    let reopened = Store::open(&name).await.unwrap();
    assert_eq!(
        reopened.wallet_marker().await.unwrap(),
        Some(marker),
        "the marker survives reopening"
    );
    reopened.close();
    Store::delete(&name).await.unwrap();

    // Data without a marker: refuse, and leave it alone.
    let other = fresh_store("marker-data").await;
    other
        .write("monitors", "", "m", b"unknown origin")
        .await
        .unwrap();
    let refused = other
        .create_wallet(vec![(seed, b"seed-3".to_vec())], 5)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "store_data_exists");
    assert_eq!(other.wallet_marker().await.unwrap(), None);
    assert_eq!(
        other.read("wallet", "", "seed").await.unwrap(),
        None,
        "nothing of the refused batch was written"
    );
    assert_eq!(other.list_all().await.unwrap().len(), 1);
    other.close();
    Store::delete(other.name()).await.unwrap();
}

#[wasm_bindgen_test]
async fn concurrent_creations_exactly_one_wins() {
    let name = fresh_name("race");
    let a = Store::open(&name).await.unwrap();
    let b = Store::open(&name).await.unwrap(); // a second connection, as another tab would have
    let key = StoreKey::new("wallet", "", "seed").unwrap();
    let fa = a.create_wallet(vec![(key.clone(), b"A".to_vec())], 1);
    let fb = b.create_wallet(vec![(key, b"B".to_vec())], 2);
    let (ra, rb) = futures::join!(fa, fb);
    assert!(ra.is_ok(), "the first issued wins: {ra:?}");
    assert_eq!(rb.unwrap_err(), StoreError::WalletExists);
    assert_eq!(
        b.read("wallet", "", "seed").await.unwrap(),
        Some(b"A".to_vec())
    );
    a.close();
    b.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn errors_surface_as_store_errors() {
    // A closed connection refuses new operations.
    let store = fresh_store("closed").await;
    store.write("p", "", "k", b"v").await.unwrap();
    store.close();
    assert!(store.is_closed());
    assert_eq!(
        store.write("p", "", "k", b"w").await.unwrap_err(),
        StoreError::Closed
    );
    assert_eq!(
        store.read("p", "", "k").await.unwrap_err(),
        StoreError::Closed
    );

    // Another context deleting the database closes our connection (versionchange), and the
    // next write fails instead of vanishing.
    let name = fresh_name("deleted");
    let victim = Store::open(&name).await.unwrap();
    victim.write("p", "", "k", b"v").await.unwrap();
    Store::delete(&name).await.unwrap();
    assert!(victim.is_closed());
    assert_eq!(
        victim.write("p", "", "k", b"w").await.unwrap_err().code(),
        "store_closed"
    );

    // A write issued just before close() still commits (close waits for transactions).
    let name = fresh_name("close-pending");
    let s = Store::open(&name).await.unwrap();
    let pending = s.write("p", "", "k", b"committed");
    s.close();
    pending.await.unwrap();
    let s2 = Store::open(&name).await.unwrap();
    assert_eq!(
        s2.read("p", "", "k").await.unwrap(),
        Some(b"committed".to_vec())
    );
    s2.close();
    Store::delete(&name).await.unwrap();
    Store::delete(store.name()).await.unwrap();
}

#[wasm_bindgen_test]
async fn ldk_kvstore_trait() {
    let store = fresh_store("ldk").await;
    let kv: &dyn KVStore = &store;
    let missing = kv.read("channel_monitors", "", "abc_0").await.unwrap_err();
    assert_eq!(missing.kind(), lightning::io::ErrorKind::NotFound);
    // Issue two writes through the trait, await the second first.
    let first = kv.write("channel_monitors", "", "abc_0", b"v1".to_vec());
    let second = kv.write("channel_monitors", "", "abc_0", b"v2".to_vec());
    second.await.unwrap();
    first.await.unwrap();
    assert_eq!(
        kv.read("channel_monitors", "", "abc_0").await.unwrap(),
        b"v2".to_vec()
    );
    assert_eq!(
        kv.list("channel_monitors", "").await.unwrap(),
        vec!["abc_0".to_string()]
    );
    kv.remove("channel_monitors", "", "abc_0", true)
        .await
        .unwrap();
    assert_eq!(
        kv.list("channel_monitors", "").await.unwrap(),
        Vec::<String>::new()
    );
    let invalid = kv.write("a", "", "no spaces", vec![]).await.unwrap_err();
    assert_eq!(invalid.kind(), lightning::io::ErrorKind::InvalidInput);
    store.close();
    Store::delete(store.name()).await.unwrap();
}

#[wasm_bindgen_test]
async fn instance_lock_is_exclusive_until_released() {
    let name = fresh_name("lock");
    let first = acquire_instance_lock(&name).await.expect("free lock");
    assert!(first.is_held());
    let second = acquire_instance_lock(&name).await;
    assert_eq!(second.err(), Some(StoreError::AlreadyRunning));

    first.release().await;
    let third = acquire_instance_lock(&name)
        .await
        .expect("granted after release");
    assert_eq!(
        acquire_instance_lock(&name).await.err(),
        Some(StoreError::AlreadyRunning)
    );

    // Dropping the guard releases too (a moment later).
    drop(third);
    let mut granted = None;
    for _ in 0..50 {
        match acquire_instance_lock(&name).await {
            Ok(lock) => {
                granted = Some(lock);
                break;
            }
            Err(StoreError::AlreadyRunning) => time::sleep(Duration::from_millis(10)).await,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(granted.is_some(), "dropping the guard released the lock");

    // Different names do not conflict.
    let other = acquire_instance_lock(&format!("{name}-other")).await;
    assert!(other.is_ok());
}

#[wasm_bindgen_test]
async fn time_sleep_and_spawn() {
    use lightning::util::native_async::FutureSpawner;
    let ran = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = ran.clone();
    tabnode::spawn::LocalSpawner.spawn(async move { flag.set(true) });
    assert!(!ran.get(), "spawn does not run the future inline");

    let before = time::now_millis();
    assert!(
        before > 1_600_000_000_000,
        "Date.now() looks like a real clock"
    );
    time::sleep(Duration::from_millis(50)).await;
    let after = time::now_millis();
    assert!(after >= before + 45, "slept {} ms", after - before);
    let r = time::timeout(
        Duration::from_millis(20),
        time::sleep(Duration::from_secs(5)),
    )
    .await;
    assert!(r.is_err());
    let r = time::timeout(Duration::from_secs(5), async { 7 }).await;
    assert_eq!(r, Ok(7));
    assert!(ran.get(), "the spawned future ran while we slept");
}

/// A dedicated worker (another agent of the same origin, like another tab) asking for the
/// lock with `ifAvailable`; answers whether it got it.
fn worker_lock_probe() -> js_sys::Function {
    let make = js_sys::Function::new_no_args(
        r#"
        const src = "onmessage = async (e) => {" +
            " const got = await navigator.locks.request(e.data, { ifAvailable: true }, async (l) => l !== null);" +
            " postMessage(got); };";
        const worker = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
        return (name) => new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage(name); });
        "#,
    );
    make.call0(&wasm_bindgen::JsValue::UNDEFINED)
        .unwrap()
        .into()
}

async fn worker_gets_lock(probe: &js_sys::Function, name: &str) -> bool {
    let promise: js_sys::Promise = probe
        .call1(&wasm_bindgen::JsValue::UNDEFINED, &name.into())
        .unwrap()
        .into();
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

#[wasm_bindgen_test]
async fn instance_lock_is_shared_with_workers() {
    let name = fresh_name("worker-lock");
    let probe = worker_lock_probe();
    let lock = acquire_instance_lock(&name).await.unwrap();
    assert!(
        !worker_gets_lock(&probe, &name).await,
        "a worker is refused while the page holds the lock"
    );
    lock.release().await;
    assert!(
        worker_gets_lock(&probe, &name).await,
        "granted to the worker after release"
    );
}

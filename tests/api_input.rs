//! API edges, in headless Chromium against the devnet (tests/support/run_node_tests.sh):
//! `Wallet.exists()` validates its name and creates no database; a non-string where a string is
//! expected is refused with `INVALID_ARGUMENT`; the read methods after `stop()` reject with
//! `STOPPED`. (The numbers are tests/js_numbers.rs.)
#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::{Array, Reflect};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The names of this origin's IndexedDB databases.
async fn database_names() -> Vec<String> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap();
    let f: js_sys::Function = Reflect::get(&factory, &"databases".into()).unwrap().into();
    let list = JsFuture::from(js_sys::Promise::from(f.call0(&factory).unwrap()))
        .await
        .unwrap();
    Array::from(&list)
        .iter()
        .filter_map(|i| Reflect::get(&i, &"name".into()).ok()?.as_string())
        .collect()
}

/// Things that are not strings.
fn non_strings() -> Vec<(&'static str, JsValue)> {
    vec![
        ("number", JsValue::from_f64(1.0)),
        ("null", JsValue::NULL),
        ("undefined", JsValue::UNDEFINED),
        ("object", js_sys::Object::new().into()),
        ("bool", JsValue::TRUE),
    ]
}

#[wasm_bindgen_test]
async fn exists_validates_its_name_and_creates_no_database() {
    let name = fresh_name("api-exists");
    assert!(!exists(&name).await);
    assert!(
        !database_names().await.contains(&name),
        "exists() created the database {name}"
    );
    for (what, bad) in non_strings().into_iter().chain([
        ("empty", JsValue::from_str("")),
        ("slash", JsValue::from_str("a/b")),
        ("too long", JsValue::from_str(&"a".repeat(65))),
    ]) {
        let e = JsFuture::from(tabnode::api::Wallet::exists(bad))
            .await
            .expect_err(what);
        assert_eq!(code_of(&e), "INVALID_ARGUMENT", "exists({what})");
    }
}

#[wasm_bindgen_test]
async fn non_strings_and_stopped_wallets_are_refused_with_codes() {
    let config = lsps2_config(&fresh_name("api-input"));
    let w = open(&config).await.expect("opens");
    for (what, bad) in non_strings() {
        let e = w
            .call_async("pay", std::slice::from_ref(&bad))
            .await
            .expect_err(what);
        assert_eq!(code_of(&e), "INVALID_ARGUMENT", "pay({what})");
        let e = w
            .call_async("closeChannel", std::slice::from_ref(&bad))
            .await
            .expect_err(what);
        assert_eq!(code_of(&e), "INVALID_ARGUMENT", "closeChannel({what})");
    }
    assert_eq!(
        w.ok("payments", &[]).await,
        serde_json::json!([]),
        "no record"
    );

    w.stop().await;
    for method in ["balance", "channels", "payments", "onchainAddress", "sync"] {
        let e = w.call_async(method, &[]).await.expect_err(method);
        assert_eq!(code_of(&e), "STOPPED", "{method}() after stop()");
    }
    let e = w
        .call_async(
            "receive",
            &[js(
                &serde_json::json!({"amountMsat": 10_000_000u64, "description": "x"}),
            )],
        )
        .await
        .expect_err("receive");
    assert_eq!(code_of(&e), "STOPPED", "receive() after stop()");
    let e = w
        .call_async("pay", &[JsValue::from_str("lnbcrt1")])
        .await
        .expect_err("pay");
    assert_eq!(code_of(&e), "STOPPED", "pay() after stop()");
    let e = w
        .call_async("closeChannel", &[JsValue::from_str("00")])
        .await
        .expect_err("closeChannel");
    assert_eq!(code_of(&e), "STOPPED", "closeChannel() after stop()");
}

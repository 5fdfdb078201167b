//! Every number the JS API takes, given as JS gives it (NaN, ±Infinity, -1, 1.5, 2^53, a string,
//! null), in headless Chromium against the devnet (tests/support/run_node_tests.sh): each is
//! refused with its stable code, none is read as "absent" (a NaN cap switching the cap off, a NaN
//! amount giving an any-amount invoice).
#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::{Object, Reflect};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The bad values, as JS values.
fn bad_numbers() -> Vec<(&'static str, JsValue)> {
    vec![
        ("NaN", JsValue::from_f64(f64::NAN)),
        ("Infinity", JsValue::from_f64(f64::INFINITY)),
        ("-Infinity", JsValue::from_f64(f64::NEG_INFINITY)),
        ("-1", JsValue::from_f64(-1.0)),
        ("1.5", JsValue::from_f64(1.5)),
        ("2^53", JsValue::from_f64(9_007_199_254_740_992.0)),
        ("\"100\"", JsValue::from_str("100")),
        ("null", JsValue::NULL),
    ]
}

/// `base` (JSON) as a JS object with `field` set to `value`.
fn with_field(base: &serde_json::Value, field: &str, value: &JsValue) -> JsValue {
    let o: Object = js(base).into();
    Reflect::set(&o, &field.into(), value).unwrap();
    o.into()
}

#[wasm_bindgen_test]
async fn bad_numbers_are_refused_with_their_codes() {
    let config = lsps2_config(&fresh_name("js-numbers"));
    for (what, bad) in bad_numbers() {
        for field in ["maxFeeMsat", "maxFeePpm"] {
            let c = with_field(&config, field, &bad);
            let e = wasm_bindgen_futures::JsFuture::from(tabnode::api::Wallet::open(c))
                .await
                .err()
                .unwrap_or_else(|| panic!("config {field}: {what} opened a wallet"));
            assert_eq!(code_of(&e), "INVALID_CONFIG", "config {field}: {what}");
        }
    }
    let name = config["storageName"].as_str().unwrap().to_string();
    assert!(!exists(&name).await, "no refused open created the wallet");

    let w = open(&config).await.expect("a good config opens");
    let request = serde_json::json!({"amountMsat": 10_000_000u64, "description": "numbers"});
    for (what, bad) in bad_numbers() {
        for (field, code) in [
            ("amountMsat", "INVALID_AMOUNT"),
            ("maxFeeMsat", "INVALID_AMOUNT"),
            ("maxFeePpm", "INVALID_CONFIG"),
            ("expirySecs", "INVALID_CONFIG"),
        ] {
            let e = w
                .call_async("receive", &[with_field(&request, field, &bad)])
                .await
                .err()
                .unwrap_or_else(|| panic!("receive {field}: {what} gave an invoice"));
            assert_eq!(code_of(&e), code, "receive {field}: {what}");
        }
        for (field, code) in [
            ("amountMsat", "INVALID_AMOUNT"),
            ("timeoutSecs", "INVALID_CONFIG"),
        ] {
            let e = w
                .call_async(
                    "pay",
                    &[
                        JsValue::from_str("lnbcrt1invalid"),
                        with_field(&serde_json::json!({}), field, &bad),
                    ],
                )
                .await
                .err()
                .unwrap_or_else(|| panic!("pay {field}: {what} was accepted"));
            assert_eq!(code_of(&e), code, "pay {field}: {what}");
        }
    }
    let history = w.ok("payments", &[]).await;
    assert_eq!(
        history,
        serde_json::json!([]),
        "no refused call left a record"
    );
    say("NaN, ±Infinity, -1, 1.5, 2^53, \"100\", null: refused in config, receive and pay");
    w.stop().await;
}

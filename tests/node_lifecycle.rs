//! The node's lifecycle against the devnet (tests/support/run_node_tests.sh): a wallet whose
//! instance lock is taken by another context (`steal: true`) stops fatally with `LOCK_LOST`
//! and writes nothing to IndexedDB afterwards.
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Item 5: a stolen lock stops the node with a fatal `LOCK_LOST` error; a later `receive` is
/// refused and the database is unchanged from the moment of the steal.
#[wasm_bindgen_test]
async fn a_stolen_lock_stops_the_node_before_its_next_write() {
    let name = fresh_name("lock-stolen");
    let w = open(&lsps2_config(&name)).await.unwrap();
    let ev = w.record(&["error"]);
    // A first receive proves the wallet writes normally.
    let first = w
        .call_async(
            "receive",
            &[js(
                &json!({"amountMsat": 50_000_000u64, "description": "before"}),
            )],
        )
        .await;
    say(&format!("receive before the steal: ok={}", first.is_ok()));

    steal_lock(&tabnode::node::builder::lock_name(&name)).await;
    let error = ev
        .wait_for("error", Duration::from_secs(10), |d| {
            d["code"] == "LOCK_LOST"
        })
        .await;
    assert_eq!(error["fatal"], json!(true), "{error}");
    let after_steal = snapshot(&name).await;

    let refused = w
        .call_async(
            "receive",
            &[js(
                &json!({"amountMsat": 50_000_000u64, "description": "after"}),
            )],
        )
        .await;
    let e = refused.expect_err("receive after the lock was stolen must be refused");
    say(&format!("receive after the steal refused: {}", code_of(&e)));
    // Give any stray task a chance to write.
    tabnode::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        snapshot(&name).await,
        after_steal,
        "the database changed after the lock was stolen"
    );
    w.stop().await;
}

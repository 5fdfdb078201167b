//! One wallet over a long life, in headless Chromium against the devnet
//! (tests/support/run_node_tests.sh): receives of varied sizes, some larger than any one
//! channel's inbound, alternating both LSPs (the wallet reopened on the other LSP's config),
//! interleaved with payments to the devnet payer. Every invoice the wallet returns must be paid
//! by the payer; the history and the balance must add up exactly.
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tabnode::time;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lsp {
    Lsps2,
    Flow,
}

enum Step {
    /// Receive this many sat from the payer.
    Receive(u64),
    /// Pay the payer an invoice of this many sat.
    Pay(u64),
    /// Reopen the wallet on the other LSP.
    Use(Lsp),
}

fn config(name: &str, lsp: Lsp) -> Value {
    let mut c = lsps2_config(name);
    if lsp == Lsp::Flow {
        let e = endpoints();
        c["lsp"] = json!({
            "protocol": "flow",
            "url": e["flow_lsp"]["url"],
            "nodeId": e["flow_lsp"]["node_id"],
        });
    }
    c
}

fn msat(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a msat amount: {v}"))
}

/// Opens wallet `name` on `lsp` and waits until that LSP is connected.
async fn open_on(name: &str, lsp: Lsp) -> (JsWallet, Events) {
    let e = endpoints();
    let lsp_id = match lsp {
        Lsp::Lsps2 => e["lsps2_lsp"]["node_id"].clone(),
        Lsp::Flow => e["flow_lsp"]["node_id"].clone(),
    };
    let w = open(&config(name, lsp))
        .await
        .unwrap_or_else(|e| panic!("open: {} {}", code_of(&e), err_message(&e)));
    let ev = w.record(&["peer", "error", "receive_state"]);
    ev.wait_for("peer", Duration::from_secs(60), |d| {
        d["nodeId"] == lsp_id && d["connected"] == true
    })
    .await;
    (w, ev)
}

/// Pays `invoice`, retrying while the wallet has no route yet (the LSP's gossip reaches a
/// reopened wallet a moment after it connects).
async fn pay(w: &JsWallet, invoice: &str) -> Value {
    let mut tries = 0;
    loop {
        match w
            .call_async("pay", &[JsValue::from_str(invoice), JsValue::UNDEFINED])
            .await
        {
            Ok(r) => return json_of(&r),
            Err(e) if code_of(&e) == "PAYMENT_FAILED" && tries < 15 => {
                say(&format!("pay attempt {tries}: {}", err_message(&e)));
                tries += 1;
                time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("pay: {} {}", code_of(&e), err_message(&e)),
        }
    }
}

/// Waits until the history has `hash` (inbound) succeeded.
async fn succeeded(w: &JsWallet, hash: &str) -> Value {
    let deadline = time::now_millis() + 60_000;
    loop {
        let payments = w.ok("payments", &[]).await;
        if let Some(p) = payments.as_array().and_then(|a| {
            a.iter()
                .find(|p| p["paymentHash"] == hash && p["direction"] == "inbound")
                .cloned()
        }) {
            if p["status"] == "succeeded" {
                return p;
            }
            assert_ne!(p["status"], "failed", "{p}");
        }
        assert!(time::now_millis() < deadline, "{hash} not received");
        time::sleep(Duration::from_millis(200)).await;
    }
}

#[wasm_bindgen_test]
async fn one_wallet_many_receives_and_payments_through_both_lsps() {
    use Step::*;
    let steps = [
        Receive(50_000),
        Receive(50_000),
        // Two channels of ~48 000 sat inbound each: together enough, alone not. A direct
        // invoice here is one no payer can route (the held-out finding); it must buy a channel.
        Receive(50_000),
        Receive(20_000),
        Pay(10_000),
        Use(Lsp::Flow),
        Receive(60_000),
        Receive(15_000),
        Pay(12_000),
        Receive(120_000),
        Pay(5_000),
        Use(Lsp::Lsps2),
        Receive(30_000),
        Receive(75_000),
        Pay(8_000),
        Receive(10_000),
        Pay(20_000),
        Use(Lsp::Flow),
        Receive(40_000),
        Receive(25_000),
        Receive(200_000),
        Pay(6_000),
    ];
    let started = time::now_millis();
    let name = fresh_name("long-lived");
    let mut lsp = Lsp::Lsps2;
    let (mut w, mut ev) = open_on(&name, lsp).await;
    // What the history must hold: (hash, direction, amount, fee) for every payment.
    let mut expected: Vec<(String, &str, u64, u64)> = Vec::new();
    let mut balance_msat: i128 = 0;
    let (mut receives, mut jit, mut pays, mut lsp_fees, mut routing_fees) = (0, 0, 0, 0u64, 0u64);

    for step in steps {
        match step {
            Use(next) => {
                w.stop().await;
                assert!(ev.all().iter().all(|(k, _)| k != "error"), "{:?}", ev.all());
                lsp = next;
                (w, ev) = open_on(&name, lsp).await;
                say(&format!("reopened on {lsp:?}"));
            }
            Receive(sat) => {
                let amount = sat * 1000;
                let r = w
                    .call_async(
                        "receive",
                        &[js(
                            &json!({"amountMsat": amount, "description": format!("{sat} sat")}),
                        )],
                    )
                    .await
                    .unwrap_or_else(|e| {
                        panic!("receive {sat}: {} {}", code_of(&e), err_message(&e))
                    });
                let r = json_of(&r);
                let fee = msat(&r["feeMsat"]);
                let paid = control("/pay", json!({"invoice": r["invoice"]})).await;
                assert_eq!(
                    paid["status"], "succeeded",
                    "receive {sat} sat via {} ({lsp:?}): the payer could not pay the invoice the wallet handed out: {paid}",
                    r["protocol"]
                );
                let hash = r["paymentHash"].as_str().unwrap().to_string();
                let p = succeeded(&w, &hash).await;
                assert_eq!(msat(&p["amountMsat"]), amount - fee, "{p}");
                assert_eq!(msat(&p["feeMsat"]), fee, "{p}");
                receives += 1;
                if r["protocol"] != "direct" {
                    jit += 1;
                    assert!(fee > 0, "a JIT channel is not free: {r}");
                } else {
                    assert_eq!(fee, 0);
                }
                lsp_fees += fee;
                balance_msat += i128::from(amount - fee);
                say(&format!(
                    "receive {sat} sat via {} ({lsp:?}): fee {fee} msat",
                    r["protocol"]
                ));
                expected.push((hash, "inbound", amount - fee, fee));
            }
            Pay(sat) => {
                let invoice = control("/invoice", json!({"amount_msat": sat * 1000})).await;
                let invoice = invoice["invoice"].as_str().unwrap().to_string();
                let r = pay(&w, &invoice).await;
                let fee = msat(&r["feeMsat"]);
                assert_eq!(msat(&r["amountMsat"]), sat * 1000);
                pays += 1;
                routing_fees += fee;
                balance_msat -= i128::from(sat * 1000 + fee);
                say(&format!("pay {sat} sat ({lsp:?}): routing fee {fee} msat"));
                expected.push((
                    r["paymentHash"].as_str().unwrap().to_string(),
                    "outbound",
                    sat * 1000,
                    fee,
                ));
            }
        }
        // The balance follows every step. LDK's claimable balances are whole sat per channel,
        // so the wallet's figure is the exact msat sum rounded down per channel.
        let b = w.ok("balance", &[]).await;
        let channels = w.ok("channels", &[]).await.as_array().unwrap().len() as i128;
        let shown = i128::from(msat(&b["lightningMsat"]));
        assert!(
            shown <= balance_msat && balance_msat - shown < 1000 * channels.max(1),
            "balance {shown} msat, expected {balance_msat} msat over {channels} channels"
        );
    }

    // The history is complete and exact.
    let history = w.ok("payments", &[]).await;
    let history = history.as_array().unwrap();
    for (hash, direction, amount, fee) in &expected {
        let p = history
            .iter()
            .find(|p| p["paymentHash"] == hash.as_str() && p["direction"] == *direction)
            .unwrap_or_else(|| panic!("{direction} {hash} missing from the history"));
        assert_eq!(p["status"], "succeeded", "{p}");
        assert_eq!(msat(&p["amountMsat"]), *amount, "{p}");
        assert_eq!(msat(&p["feeMsat"]), *fee, "{p}");
    }
    assert_eq!(
        history.len(),
        expected.len(),
        "no other entries: {history:?}"
    );
    let channels = w.ok("channels", &[]).await;
    say(&format!(
        "long-lived: {receives} receives ({jit} through a new channel), {pays} payments, {} channels, \
         LSP fees {lsp_fees} msat, routing fees {routing_fees} msat, balance {balance_msat} msat, {} s",
        channels.as_array().unwrap().len(),
        (time::now_millis() - started) / 1000
    ));
    w.stop().await;
}

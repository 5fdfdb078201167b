//! The wallet node against the devnet, through the JS `Wallet` API, in headless Chromium:
//! connect to the LSPS2 LSP through the websocket proxy, get a channel from it, receive and pay
//! over it, reload, survive a deleted monitor record (refused, untouched), close cooperatively
//! and see the funds reach the on-chain (BDK) wallet; force close and see the sweeper's output
//! reach it; restore each wallet from its phrase and find the same on-chain balance.
//! Run with tests/support/run_node_tests.sh (starts the devnet, sets `DEVNET_ENDPOINTS`).
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tabnode::store::Store;
use tabnode::time;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const EVENTS: &[&str] = &[
    "receive_state",
    "payment_received",
    "payment_sent",
    "payment_failed",
    "channel_opened",
    "channel_closed",
    "synced",
    "peer",
    "graph_sync_started",
    "graph_synced",
    "error",
];

async fn open_ok(config: &Value) -> (JsWallet, Events) {
    let w = open(config)
        .await
        .unwrap_or_else(|e| panic!("open: {} {}", code_of(&e), err_message(&e)));
    let ev = w.record(EVENTS);
    (w, ev)
}

/// Receives `amount_msat` from the devnet payer, retrying while the LSP's forwarding
/// parameters for the new channel have not reached the wallet yet.
async fn receive_from_payer(w: &JsWallet, ev: &Events, amount_msat: u64) -> Value {
    let mut tries = 0;
    let receipt = loop {
        match w
            .call_async(
                "receive",
                &[js(
                    &json!({"amountMsat": amount_msat, "description": "devnet receive"}),
                )],
            )
            .await
        {
            Ok(r) => break json_of(&r),
            Err(e) if code_of(&e) == "NO_INBOUND_CAPACITY" && tries < 30 => {
                tries += 1;
                time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("receive: {} {}", code_of(&e), err_message(&e)),
        }
    };
    assert_eq!(receipt["protocol"], "direct");
    assert_eq!(receipt["feeMsat"], 0);
    assert_eq!(receipt["amountMsat"], amount_msat);
    let hash = receipt["paymentHash"].as_str().unwrap().to_string();
    let paid = control("/pay", json!({"invoice": receipt["invoice"]})).await;
    assert_eq!(paid["status"], "succeeded", "payer: {paid}");
    let got = ev
        .wait_for("payment_received", Duration::from_secs(30), |d| {
            d["paymentHash"] == hash.as_str()
        })
        .await;
    assert_eq!(got["status"], "succeeded");
    assert_eq!(got["amountMsat"], amount_msat);
    assert_eq!(got["direction"], "inbound");
    say(&format!(
        "received {amount_msat} msat ({hash}) in {} ms at the payer",
        paid["elapsed_ms"]
    ));
    got
}

/// Pays a payer invoice, retrying while the route to the payer is not known yet (gossip from
/// the LSP still arriving).
async fn pay_payer(w: &JsWallet, amount_msat: u64) -> Value {
    let invoice = control(
        "/invoice",
        json!({"amount_msat": amount_msat, "description": "wallet pays"}),
    )
    .await;
    let invoice = invoice["invoice"].as_str().unwrap().to_string();
    let mut tries = 0;
    loop {
        match w
            .call_async("pay", &[JsValue::from_str(&invoice), JsValue::UNDEFINED])
            .await
        {
            Ok(r) => return json_of(&r),
            Err(e) if code_of(&e) == "PAYMENT_FAILED" && tries < 20 => {
                say(&format!("pay attempt {tries}: {}", err_message(&e)));
                tries += 1;
                time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => panic!("pay: {} {}", code_of(&e), err_message(&e)),
        }
    }
}

async fn wait_connected(ev: &Events, lsp: &str) {
    ev.wait_for("peer", Duration::from_secs(60), |d| {
        d["nodeId"] == lsp && d["connected"] == true
    })
    .await;
}

/// Closes `channel_id` cooperatively and returns its `channel_closed` event, checked to say so.
async fn close_cooperatively(w: &JsWallet, ev: &Events, channel_id: &str) -> Value {
    w.ok(
        "closeChannel",
        &[JsValue::from_str(channel_id), JsValue::UNDEFINED],
    )
    .await;
    let closed = ev
        .wait_for("channel_closed", Duration::from_secs(60), |d| {
            d["channelId"] == channel_id
        })
        .await;
    assert_eq!(closed["reason"], "cooperative", "{closed}");
    closed
}

/// The first `graph_synced` detail `ev` recorded (waiting up to 30 s for it).
async fn graph_synced(ev: &Events) -> Value {
    ev.wait_for("graph_synced", Duration::from_secs(30), |_| true)
        .await
}

/// The LSP opens a `capacity_sat` channel that no receive asked for: the wallet accepts it but
/// does not trust it at zero confirmations (receive_rules::decide_channel_offer). It is listed,
/// not ready, until its funding confirms; then `channel_opened` comes. Returns that event.
async fn unsolicited_lsp_channel(
    w: &JsWallet,
    ev: &Events,
    capacity_sat: u64,
) -> serde_json::Value {
    unsolicited_channel_from(Lsp::Lsps2, w, ev, capacity_sat).await
}

/// The two LSP implementations of the devnet, as a wallet of each is configured.
#[derive(Clone, Copy, Debug)]
enum Lsp {
    /// The LSPS2 LSP: ldk-node.
    Lsps2,
    /// The REST flow LSP: raw LDK (its own channel manager, sweeper and bump handler).
    Flow,
}

impl Lsp {
    /// The name `/open-channel` and `/force-close` take.
    fn control_name(self) -> &'static str {
        match self {
            Lsp::Lsps2 => "lsps2",
            Lsp::Flow => "flow",
        }
    }

    fn node_id(self) -> String {
        let key = match self {
            Lsp::Lsps2 => "lsps2_lsp",
            Lsp::Flow => "flow_lsp",
        };
        endpoints()[key]["node_id"].as_str().unwrap().to_string()
    }

    /// A wallet config with this LSP, stored under `storage_name`.
    fn config(self, storage_name: &str) -> Value {
        let mut config = lsps2_config(storage_name);
        if let Lsp::Flow = self {
            let e = endpoints();
            config["lsp"] =
                json!({"protocol": "flow", "url": e["flow_lsp"]["url"], "nodeId": self.node_id()});
        }
        config
    }
}

/// [`unsolicited_lsp_channel`] from the LSP `lsp`.
async fn unsolicited_channel_from(
    lsp: Lsp,
    w: &JsWallet,
    ev: &Events,
    capacity_sat: u64,
) -> serde_json::Value {
    // Answers once the funding transaction is in the mempool, so the blocks mined below
    // confirm it.
    let opened = control(
        "/open-channel",
        json!({"from": lsp.control_name(), "node_id": w.node_id(), "capacity_sat": capacity_sat, "push_msat": 0}),
    )
    .await;
    let funding_txid = opened["funding_txid"]
        .as_str()
        .expect("a funding txid")
        .to_string();
    let deadline = time::now_millis() + 60_000;
    let pending = loop {
        let channels = w.ok("channels", &[]).await;
        if let Some(c) = channels.as_array().and_then(|a| a.first()).cloned() {
            break c;
        }
        assert!(
            time::now_millis() < deadline,
            "the LSP's channel never showed"
        );
        time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        pending["isReady"], false,
        "not trusted at zero conf: {pending}"
    );
    assert!(
        ev.all().iter().all(|(k, _)| k != "channel_opened"),
        "no channel_opened before it confirms"
    );
    say(&format!(
        "unsolicited channel listed, not ready at 0 conf: {pending}"
    ));
    control("/mine", json!({"count": 6})).await;
    w.ok("sync", &[]).await;
    let ready = ev
        .wait_for("channel_opened", Duration::from_secs(60), |_| true)
        .await;
    assert_eq!(ready["fundingTxid"], funding_txid.as_str(), "{ready}");
    ready
}

#[wasm_bindgen_test]
async fn channel_from_the_lsp_receive_pay_reload_close_sweep() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let name = fresh_name("devnet");
    let config = lsps2_config(&name);
    let started = time::now_millis();

    // 1. Open, connect to the LSP through the proxy.
    let (w, ev) = open_ok(&config).await;
    let node_id = w.node_id();
    wait_connected(&ev, &lsp).await;
    say(&format!(
        "wallet {node_id} connected to the LSPS2 LSP after {} ms",
        time::now_millis() - started
    ));

    // 2. The LSP opens a 1 000 000 sat channel no receive asked for: usable once confirmed.
    let opened = unsolicited_lsp_channel(&w, &ev, 1_000_000).await;
    assert_eq!(opened["capacitySat"], 1_000_000);
    assert_eq!(opened["counterpartyNodeId"], lsp.as_str());
    assert_eq!(opened["isReady"], true);
    let channel_id = opened["channelId"].as_str().unwrap().to_string();
    say(&format!("channel_opened {opened}"));
    control("/mine", json!({"count": 6})).await;
    w.ok("sync", &[]).await;

    // 3. Receive from the payer (through the LSP), twice; the second is large enough that the
    //    wallet holds more than its own 1% reserve (10 000 sat) and can pay after it.
    receive_from_payer(&w, &ev, 10_000_000).await;
    receive_from_payer(&w, &ev, 150_000_000).await;

    // 4. Pay a payer invoice.
    let paid = pay_payer(&w, 5_000_000).await;
    assert_eq!(paid["amountMsat"], 5_000_000);
    assert_eq!(paid["preimage"].as_str().unwrap().len(), 64);
    let sent = ev
        .wait_for("payment_sent", Duration::from_secs(10), |d| {
            d["paymentHash"] == paid["paymentHash"]
        })
        .await;
    assert_eq!(sent["status"], "succeeded");
    say(&format!("paid 5000000 msat, fee {} msat", paid["feeMsat"]));

    let balance = w.ok("balance", &[]).await;
    say(&format!("balance {balance}"));
    let lightning = balance["lightningMsat"].as_u64().unwrap();
    assert!(
        (154_000_000..=155_000_000).contains(&lightning),
        "{balance}"
    );
    let payments = w.ok("payments", &[]).await;
    assert_eq!(payments.as_array().unwrap().len(), 3, "{payments}");
    assert!(
        payments
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "succeeded"),
        "{payments}"
    );

    // 5. Reload: same node, channel and history.
    w.stop().await;
    let (w, ev) = open_ok(&config).await;
    assert_eq!(w.node_id(), node_id);
    let channels = w.ok("channels", &[]).await;
    assert_eq!(channels.as_array().unwrap().len(), 1, "{channels}");
    assert_eq!(channels[0]["channelId"], channel_id.as_str());
    assert_eq!(w.ok("payments", &[]).await, payments);
    wait_connected(&ev, &lsp).await;
    say("reloaded: channel and history intact, LSP reconnected");

    // 6. A deleted monitor record: refused with STORAGE_CORRUPT, nothing touched; restored, it opens.
    w.stop().await;
    let store = Store::open(&name).await.unwrap();
    let monitors = store.list("monitors", "").await.unwrap();
    assert_eq!(monitors.len(), 1, "{monitors:?}");
    let key = monitors[0].clone();
    let saved = store.read("monitors", "", &key).await.unwrap().unwrap();
    store.remove("monitors", "", &key).await.unwrap();
    let keys_before = store.list_all().await.unwrap();
    store.close();
    let e = open(&config)
        .await
        .err()
        .expect("a missing monitor must not open");
    assert_eq!(code_of(&e), "STORAGE_CORRUPT");
    let store = Store::open(&name).await.unwrap();
    assert_eq!(
        store.list_all().await.unwrap(),
        keys_before,
        "nothing written"
    );
    store.write("monitors", "", &key, &saved).await.unwrap();
    store.close();
    say("deleted monitor: STORAGE_CORRUPT, records untouched; restored");
    let (w, ev) = open_ok(&config).await;
    wait_connected(&ev, &lsp).await;
    assert_eq!(w.ok("channels", &[]).await.as_array().unwrap().len(), 1);

    // 7. Close cooperatively, mine, and find the funds at the wallet's address.
    let address = w.ok("onchainAddress", &[]).await;
    let closed = close_cooperatively(&w, &ev, &channel_id).await;
    say(&format!("channel_closed {closed}; address {address}"));
    let deadline = time::now_millis() + 120_000;
    let onchain = loop {
        control("/mine", json!({"count": 1})).await;
        w.ok("sync", &[]).await;
        let b = w.ok("balance", &[]).await;
        let sat = b["onchainSat"].as_u64().unwrap();
        if sat > 0 {
            break sat;
        }
        assert!(time::now_millis() < deadline, "no funds at {address}: {b}");
        time::sleep(Duration::from_secs(1)).await;
    };
    assert!(
        onchain * 1000 <= lightning && onchain * 1000 + 1_000_000 >= lightning,
        "on-chain {onchain} sat after {lightning} msat"
    );
    say(&format!(
        "{onchain} sat confirmed in the on-chain wallet (address {address}) after the close"
    ));
    assert!(ev.all().iter().all(|(k, _)| k != "error"), "{:?}", ev.all());
    let phrase = w.call("mnemonic", &[]).unwrap().as_string().unwrap();
    w.stop().await;
    assert_restores(&phrase, onchain).await;
    say(&format!(
        "devnet flow done in {} s",
        (time::now_millis() - started) / 1000
    ));
}

#[wasm_bindgen_test]
async fn connects_to_the_flow_lsp_found_through_its_info_endpoint() {
    let e = endpoints();
    let flow_id = e["flow_lsp"]["node_id"].as_str().unwrap().to_string();
    let mut config = lsps2_config(&fresh_name("flow"));
    config["lsp"] = json!({"protocol": "flow", "url": e["flow_lsp"]["url"], "nodeId": flow_id});
    let (w, ev) = open_ok(&config).await;
    wait_connected(&ev, &flow_id).await;
    say(&format!(
        "connected to the flow LSP {flow_id} from /api/v1/info"
    ));
    w.stop().await;

    // A pinned node id the LSP does not have: never connected, reported on the console only.
    let mut wrong = lsps2_config(&fresh_name("flow-wrong"));
    wrong["lsp"] =
        json!({"protocol": "flow", "url": e["flow_lsp"]["url"], "nodeId": e["payer"]["node_id"]});
    let (w, ev) = open_ok(&wrong).await;
    time::sleep(Duration::from_secs(3)).await;
    assert!(ev.all().iter().all(|(k, _)| k != "peer"), "{:?}", ev.all());
    w.stop().await;
}

/// Issue 28: the routing graph comes from the devnet's Rapid Gossip Sync server, not from
/// peers: a new wallet gets a full snapshot (the payer's announced channels to both LSPs in
/// it), and after a reopen only what changed since the stored timestamp (the graph itself was
/// stored: it is not downloaded again).
#[wasm_bindgen_test]
async fn the_routing_graph_comes_from_rapid_gossip_sync_and_is_stored() {
    let name = fresh_name("rgs");
    let (w, ev) = open_ok(&lsps2_config(&name)).await;
    let first = graph_synced(&ev).await;
    say(&format!("first graph sync: {first}"));
    let started = ev
        .wait_for("graph_sync_started", Duration::from_secs(1), |_| true)
        .await;
    assert_eq!(started, json!({"full": true, "since": 0}));
    assert_eq!(first["full"], true, "{first}");
    assert!(first["channels"].as_u64().unwrap() >= 2, "{first}");
    assert!(first["nodes"].as_u64().unwrap() >= 3, "{first}");
    w.stop().await;

    let (w, ev) = open_ok(&lsps2_config(&name)).await;
    let second = graph_synced(&ev).await;
    say(&format!("graph sync after a reopen: {second}"));
    let started = ev
        .wait_for("graph_sync_started", Duration::from_secs(1), |_| true)
        .await;
    assert_eq!(started, json!({"full": false, "since": first["timestamp"]}));
    assert_eq!(second["full"], false, "{second}");
    assert_eq!(second["channels"], first["channels"], "{second}");
    assert!(
        second["bytes"].as_u64() < first["bytes"].as_u64(),
        "an incremental snapshot is smaller: {second} vs {first}"
    );
    assert!(second["timestamp"].as_u64() >= first["timestamp"].as_u64());
    w.stop().await;
}

/// Pays the merchant's invoice for `amount_msat` (no route hints: the merchant is reachable only
/// over announced channels, from the payer and from the LSPS2 LSP) and checks the payment end to
/// end: the merchant received exactly the amount, the wallet's history has the payment with the
/// fee `pay` returned and its route (each path from the LSP to the merchant, amounts and fees
/// adding up), and the wallet's balance fell by the amount plus that fee (to the sat: the balance
/// is what a close would pay, in whole sat).
async fn pay_merchant(w: &JsWallet, amount_msat: u64) -> Value {
    let invoice = control(
        "/invoice",
        json!({"amount_msat": amount_msat, "description": "merchant", "node": "merchant"}),
    )
    .await;
    let invoice = invoice["invoice"].as_str().unwrap().to_string();
    let before = w.ok("balance", &[]).await["lightningMsat"]
        .as_u64()
        .unwrap();
    let paid = w.ok("pay", &[JsValue::from_str(&invoice)]).await;
    let hash = paid["paymentHash"].as_str().unwrap().to_string();
    let fee = paid["feeMsat"].as_u64().unwrap();
    assert_eq!(paid["amountMsat"], amount_msat, "{paid}");
    assert!(fee > 0, "two hops beyond the wallet take a fee: {paid}");
    let got = control("/merchant/received", json!({ "payment_hash": hash })).await;
    assert_eq!(
        (got["status"].as_str(), got["amount_msat"].as_u64()),
        (Some("succeeded"), Some(amount_msat)),
        "the merchant's view: {got}"
    );
    let history = w.ok("payments", &[]).await;
    let record = history
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["paymentHash"] == hash.as_str())
        .unwrap_or_else(|| panic!("{hash} not in the history: {history}"))
        .clone();
    assert_eq!(
        (
            record["direction"].as_str(),
            record["status"].as_str(),
            record["amountMsat"].as_u64(),
            record["feeMsat"].as_u64()
        ),
        (
            Some("outbound"),
            Some("succeeded"),
            Some(amount_msat),
            Some(fee)
        ),
        "{record}"
    );
    let after = w.ok("balance", &[]).await["lightningMsat"]
        .as_u64()
        .unwrap();
    let spent = before - after;
    assert!(
        spent.abs_diff(amount_msat + fee) < 1_000,
        "the balance fell by {spent} msat for {amount_msat} + {fee} msat"
    );
    // The route, path by path, as each settled (LDK reports them after `PaymentSent`): from the
    // LSP to the merchant, amounts summing to the payment's and fees to its fee.
    let e = endpoints();
    let (lsp, merchant) = (&e["lsps2_lsp"]["node_id"], &e["merchant"]["node_id"]);
    let sum = |paths: &[Value], k: &str| paths.iter().map(|p| p[k].as_u64().unwrap()).sum::<u64>();
    let deadline = time::now_millis() + 10_000;
    let paths = loop {
        let history = w.ok("payments", &[]).await;
        let record = history
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["paymentHash"] == hash.as_str())
            .cloned()
            .unwrap();
        let paths = record["paths"].as_array().cloned().unwrap_or_default();
        if sum(&paths, "amountMsat") == amount_msat {
            break paths;
        }
        assert!(
            time::now_millis() < deadline,
            "the paths never added up: {record}"
        );
        time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(sum(&paths, "feeMsat"), fee, "{paths:?}");
    for path in &paths {
        let hops = path["hops"].as_array().unwrap();
        assert_eq!(&hops[0]["nodeId"], lsp, "{path}");
        assert_eq!(&hops[hops.len() - 1]["nodeId"], merchant, "{path}");
        assert!(
            hops.len() == 2 || hops.len() == 3,
            "LSP -> (payer ->) merchant: {path}"
        );
    }
    json!({ "paid": paid, "paths": paths })
}

/// Issue 28: a wallet pays a node beyond its LSP on a route found in the routing graph from
/// Rapid Gossip Sync (the merchant's invoice has no route hints and the wallet takes no gossip):
/// 10 000 sat along one path, then 30 000 sat, more than either of the merchant's two ways in
/// carries (each takes at most 10% of its 200 000 sat in flight), by multi-path payment.
#[wasm_bindgen_test]
async fn pays_beyond_the_lsp_on_the_routing_graph_and_by_mpp_when_one_path_is_too_small() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("merchant"))).await;
    wait_connected(&ev, &lsp).await;
    let graph = graph_synced(&ev).await;
    assert!(
        graph["channels"].as_u64().unwrap() >= 4,
        "the merchant's channels are in the graph: {graph}"
    );
    unsolicited_lsp_channel(&w, &ev, 500_000).await;
    receive_from_payer(&w, &ev, 200_000_000).await;

    let one = pay_merchant(&w, 10_000_000).await;
    say(&format!("paid the merchant 10 000 sat: {one}"));
    let mpp = pay_merchant(&w, 30_000_000).await;
    say(&format!("paid the merchant 30 000 sat by MPP: {mpp}"));
    assert!(
        mpp["paths"].as_array().unwrap().len() >= 2,
        "more than either way in carries takes two paths: {mpp}"
    );
    w.stop().await;
}

/// Puts the devnet's RGS server back to honest when dropped (a failed assertion included), so
/// no later test meets a hostile snapshot.
struct HonestRgsOnDrop;

impl Drop for HonestRgsOnDrop {
    fn drop(&mut self) {
        wasm_bindgen_futures::spawn_local(async {
            control("/rgs/fault", json!({"mode": "none"})).await;
        });
    }
}

/// Issue 28: the wallet receives while its routing graph is still loading: with the RGS server
/// answering only after 15 s, a new wallet connects, buys a JIT channel and is paid before its
/// first `graph_synced`, which comes afterwards.
#[wasm_bindgen_test]
async fn receiving_does_not_wait_for_the_routing_graph() {
    let lsp = endpoints()["lsps2_lsp"]["node_id"]
        .as_str()
        .unwrap()
        .to_string();
    let _honest = HonestRgsOnDrop;
    control("/rgs/fault", json!({"mode": "slow"})).await;
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("rgs-slow"))).await;
    wait_connected(&ev, &lsp).await;
    let r = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 50_000_000u64, "description": "while the graph loads"}),
            )],
        )
        .await;
    assert_eq!(r["protocol"], "lsps2", "{r}");
    let paid = control("/pay", json!({"invoice": r["invoice"]})).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    ev.wait_for("payment_received", Duration::from_secs(30), |d| {
        d["paymentHash"] == hash.as_str()
    })
    .await;
    assert!(
        ev.all().iter().all(|(k, _)| k != "graph_synced"),
        "received before the graph loaded: {:?}",
        ev.all()
    );
    control("/rgs/fault", json!({"mode": "none"})).await;
    let graph = graph_synced(&ev).await;
    say(&format!("received while the graph loaded; then {graph}"));
    w.stop().await;
}

/// Issue 28: a hostile snapshot (truncated, another chain's, three weeks old, above 16 MiB) is
/// refused with `GRAPH_SYNC_FAILED` and its reason, non-fatal, and the stored graph is kept: once
/// the server is honest again, the next sync is incremental over the same channels.
#[wasm_bindgen_test]
async fn a_hostile_snapshot_is_refused_and_the_stored_graph_kept() {
    let name = fresh_name("rgs-hostile");
    let (w, ev) = open_ok(&lsps2_config(&name)).await;
    let first = graph_synced(&ev).await;
    w.stop().await;
    let _honest = HonestRgsOnDrop;
    for (mode, reason) in [
        ("truncated", "malformed"),
        ("wrong_chain", "wrong_chain"),
        ("stale", "stale"),
        ("too_large", "too_large"),
    ] {
        control("/rgs/fault", json!({ "mode": mode })).await;
        let (w, ev) = open_ok(&lsps2_config(&name)).await;
        let e = ev
            .wait_for("error", Duration::from_secs(60), |d| {
                d["code"] == "GRAPH_SYNC_FAILED"
            })
            .await;
        say(&format!("{mode} snapshot: {e}"));
        assert_eq!(
            (e["reason"].as_str(), &e["fatal"]),
            (Some(reason), &json!(false)),
            "{mode}: {e}"
        );
        assert!(
            ev.all().iter().all(|(k, _)| k != "graph_synced"),
            "{mode}: {:?}",
            ev.all()
        );
        w.stop().await;
    }
    control("/rgs/fault", json!({"mode": "none"})).await;
    let (w, ev) = open_ok(&lsps2_config(&name)).await;
    let next = graph_synced(&ev).await;
    assert_eq!(next["full"], false, "the stored graph was kept: {next}");
    assert_eq!(next["channels"], first["channels"], "{next}");
    w.stop().await;
}

/// Issue 27, item 8: `stop()` waits for the node's work still in flight, here a broadcast, and
/// nothing of the wallet happens after it resolves. Every transaction posted to Esplora is held
/// 3 s (a slow chain source); a force close posts the commitment and `stop()` is called while
/// the post is held: it resolves only once the post has answered, and in the 4 s after it no
/// post starts or ends, no event is dispatched and the database does not change. (A broadcast
/// spawned outside the node's tasks let `stop()` resolve with the post still held.)
#[wasm_bindgen_test]
async fn stop_waits_for_a_broadcast_in_flight_and_nothing_happens_after_it() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let name = fresh_name("stop-broadcast");
    let (w, ev) = open_ok(&lsps2_config(&name)).await;
    wait_connected(&ev, &lsp).await;
    let opened = unsolicited_lsp_channel(&w, &ev, 300_000).await;
    let channel_id = opened["channelId"].as_str().unwrap().to_string();

    let restore: js_sys::Function = js_sys::Function::new_no_args(
        "const original = globalThis.fetch;
         const posts = globalThis.__heldTxPosts = { started: 0, finished: 0 };
         globalThis.fetch = function (input, init) {
           const url = input instanceof Request ? input.url : String(input);
           const method = input instanceof Request ? input.method : (init && init.method) || 'GET';
           if (method !== 'POST' || !url.endsWith('/tx')) return original.call(globalThis, input, init);
           posts.started++;
           return new Promise((r) => setTimeout(r, 3000))
             .then(() => original.call(globalThis, input, init))
             .finally(() => { posts.finished++; });
         };
         return () => { globalThis.fetch = original; };",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .into();
    let posts = || {
        let p = js_sys::Reflect::get(&js_sys::global(), &"__heldTxPosts".into()).unwrap();
        let n = |k: &str| {
            js_sys::Reflect::get(&p, &k.into())
                .unwrap()
                .as_f64()
                .unwrap() as u32
        };
        (n("started"), n("finished"))
    };

    w.ok(
        "closeChannel",
        &[JsValue::from_str(&channel_id), js(&json!({"force": true}))],
    )
    .await;
    let deadline = time::now_millis() + 30_000;
    while posts().0 == 0 {
        assert!(
            time::now_millis() < deadline,
            "the force close broadcast nothing"
        );
        time::sleep(Duration::from_millis(50)).await;
    }
    let started = time::now_millis();
    let report = w.stop_with(None).await;
    let took = time::now_millis() - started;
    let at_stop = (posts(), ev.all().len());
    let stored = snapshot(&name).await;
    say(&format!(
        "stop() with a held broadcast: {report} after {took} ms; posts (started, finished) {:?}",
        at_stop.0
    ));
    assert_eq!(report["complete"], json!(true), "{report}");
    assert_eq!(
        at_stop.0 .0, at_stop.0 .1,
        "stop() resolved with a broadcast still in flight"
    );
    time::sleep(Duration::from_secs(4)).await;
    assert_eq!(posts(), at_stop.0, "a post after stop()");
    assert_eq!(
        ev.all().len(),
        at_stop.1,
        "an event after stop(): {:?}",
        ev.all()
    );
    assert!(
        snapshot(&name).await == stored,
        "the database changed after stop()"
    );
    restore.call0(&JsValue::NULL).unwrap();
}

#[wasm_bindgen_test]
async fn force_close_sweeps_the_delayed_output_to_the_onchain_address() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let sockets = track_websockets();
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("sweep"))).await;
    wait_connected(&ev, &lsp).await;
    let opened = unsolicited_lsp_channel(&w, &ev, 500_000).await;
    let channel_id = opened["channelId"].as_str().unwrap().to_string();
    receive_from_payer(&w, &ev, 120_000_000).await;

    // An invoice nobody pays: pending now, expired (failed) after its 60 s.
    let unpaid = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 1_000_000, "description": "unpaid", "expirySecs": 60}),
            )],
        )
        .await;
    assert_eq!(w.call("pendingReceives", &[]).unwrap().as_f64(), Some(1.0));

    // Force close: our output on our commitment waits for the LSP's to_self_delay, then the
    // sweeper spends it to the wallet's address. The wallet has no on-chain coins to bump its
    // anchor channel's commitment: it goes out at its own feerate. The LSP hears of the close
    // only from the chain (its own commitment would otherwise race ours).
    sockets.cut();
    ev.wait_for("peer", Duration::from_secs(30), |d| {
        d["nodeId"] == lsp.as_str() && d["connected"] == false
    })
    .await;
    w.ok(
        "closeChannel",
        &[JsValue::from_str(&channel_id), js(&json!({"force": true}))],
    )
    .await;
    let closed = ev
        .wait_for("channel_closed", Duration::from_secs(30), |d| {
            d["channelId"] == channel_id.as_str()
        })
        .await;
    say(&format!("channel_closed {closed}"));
    let funding = opened["fundingTxid"].as_str().unwrap().to_string();
    let deadline = time::now_millis() + 30_000;
    let commitment = loop {
        let spends = esplora(&format!("/tx/{funding}/outspends")).await;
        if let Some(s) = spends
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["spent"] == true)
        {
            break esplora(&format!("/tx/{}", s["txid"].as_str().unwrap())).await;
        }
        assert!(time::now_millis() < deadline, "no commitment broadcast");
        time::sleep(Duration::from_millis(200)).await;
    };
    say(&format!(
        "commitment {} ({} sat fee) broadcast with no on-chain coins",
        commitment["txid"], commitment["fee"]
    ));
    control("/mine", json!({"count": 1})).await;
    let status = esplora(&format!(
        "/tx/{}/status",
        commitment["txid"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        status["confirmed"], true,
        "the commitment alone confirms: {status}"
    );
    sockets.restore();
    w.ok("sync", &[]).await;
    control("/mine", json!({"count": 150})).await;
    w.ok("sync", &[]).await;
    let address = w.ok("onchainAddress", &[]).await;
    let deadline = time::now_millis() + 180_000;
    let swept = loop {
        let b = w.ok("balance", &[]).await;
        if b["onchainSat"].as_u64().unwrap() > 0 {
            break b;
        }
        // LDK's sweeper (re)broadcasts as blocks connect: keep the chain moving, whether the
        // sweep is still to go out or waiting to confirm.
        control("/mine", json!({"count": 1})).await;
        w.ok("sync", &[]).await;
        assert!(time::now_millis() < deadline, "no sweep to {address}: {b}");
        time::sleep(Duration::from_secs(2)).await;
    };
    let sat = swept["onchainSat"].as_u64().unwrap();
    assert!(
        sat > 110_000 && sat < 120_000,
        "swept {sat} sat (120 000 sat minus commitment and sweep fees)"
    );
    say(&format!(
        "swept {sat} sat into the on-chain wallet (address {address}) after a force close"
    ));

    let hash = unpaid["paymentHash"].as_str().unwrap().to_string();
    ev.wait_for("receive_state", Duration::from_secs(120), |d| {
        d["paymentHash"] == hash.as_str() && d["state"] == "expired"
    })
    .await;
    let payments = w.ok("payments", &[]).await;
    let record = payments
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["paymentHash"] == hash.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (record["status"].as_str(), record["failure"].as_str()),
        (Some("failed"), Some("expired")),
        "{record}"
    );
    assert_eq!(w.call("pendingReceives", &[]).unwrap().as_f64(), Some(0.0));
    say("unpaid invoice expired");
    assert!(ev.all().iter().all(|(k, _)| k != "error"), "{:?}", ev.all());
    let phrase = w.call("mnemonic", &[]).unwrap().as_string().unwrap();
    w.stop().await;
    assert_restores(&phrase, sat).await;
}

/// GETs an Esplora path of the devnet's chain.
async fn esplora(path: &str) -> Value {
    let url = format!("{}{}", endpoints()["esplora_url"].as_str().unwrap(), path);
    tabnode::net::HttpClient::new(Duration::from_secs(30))
        .get_json(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Issue 29: the LSP's channels are anchor channels, and the wallet's own force close of one
/// goes out with a CPFP child paid from its confirmed on-chain coins. Fees spike to 10 sat/vB
/// after the channel opened, so the commitment's own feerate (the LSP's, signed at the
/// devnet's 1008-block estimate) is far below LDK's target for the close (2 500 sat/kw); the
/// child spends the commitment's anchor (330 sat) and the wallet's coin and brings the package
/// to the target; both confirm in one block, and the on-chain balance is the coin plus the
/// anchor minus the child's fee, exactly.
/// Run against both LSP implementations (ldk-node and raw LDK), each answering the close on
/// chain in its own way.
async fn the_wallets_force_close_is_bumped_from_its_coins(from: Lsp) {
    let lsp = from.node_id();
    let sockets = track_websockets();
    let (w, ev) = open_ok(&from.config(&fresh_name("cpfp"))).await;
    wait_connected(&ev, &lsp).await;
    let opened = unsolicited_channel_from(from, &w, &ev, 500_000).await;
    assert_eq!(opened["anchors"], true, "an anchor channel: {opened}");
    let channel_id = opened["channelId"].as_str().unwrap().to_string();
    let funding_txid = opened["fundingTxid"].as_str().unwrap().to_string();
    receive_from_payer(&w, &ev, 120_000_000).await;

    let address = w.ok("onchainAddress", &[]).await;
    let address = address.as_str().unwrap().to_string();
    let sent = control(
        "/send-onchain",
        json!({"address": address, "amount_sat": 50_000}),
    )
    .await;
    let coin_txid = sent["txid"].as_str().unwrap().to_string();
    control("/mine", json!({"count": 1})).await;
    w.ok("sync", &[]).await;
    let before = w.ok("balance", &[]).await;
    assert_eq!(
        (
            before["onchainSat"].as_u64(),
            before["onchainPendingSat"].as_u64()
        ),
        (Some(50_000), Some(0)),
        "{before}"
    );

    // The LSP would answer the close with its own commitment, and whichever reaches the
    // mempool first is mined: close while it cannot hear of it, and let it find out on chain.
    sockets.cut();
    ev.wait_for("peer", Duration::from_secs(30), |d| {
        d["nodeId"] == lsp.as_str() && d["connected"] == false
    })
    .await;
    control("/chain/fee-spike", json!({"sat_per_vb": 10})).await;
    w.ok("sync", &[]).await;
    w.ok(
        "closeChannel",
        &[JsValue::from_str(&channel_id), js(&json!({"force": true}))],
    )
    .await;
    let coin_tx = esplora(&format!("/tx/{coin_txid}")).await;
    let vout = coin_tx["vout"]
        .as_array()
        .unwrap()
        .iter()
        .position(|o| o["scriptpubkey_address"] == address.as_str())
        .expect("the coin pays the wallet");
    let deadline = time::now_millis() + 60_000;
    let child_txid = loop {
        let spend = esplora(&format!("/tx/{coin_txid}/outspend/{vout}")).await;
        if spend["spent"] == true {
            break spend["txid"].as_str().unwrap().to_string();
        }
        assert!(
            time::now_millis() < deadline,
            "the coin was never spent: no CPFP"
        );
        time::sleep(Duration::from_millis(200)).await;
    };
    let child = esplora(&format!("/tx/{child_txid}")).await;
    let inputs = child["vin"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "the anchor and the coin: {child}");
    let anchor = inputs
        .iter()
        .find(|i| i["txid"] != coin_txid.as_str())
        .unwrap();
    assert_eq!(anchor["prevout"]["value"], 330, "an anchor output: {child}");
    let commitment_txid = anchor["txid"].as_str().unwrap().to_string();
    let commitment = esplora(&format!("/tx/{commitment_txid}")).await;
    assert_eq!(
        commitment["vin"][0]["txid"],
        funding_txid.as_str(),
        "the anchor is the channel's commitment's"
    );
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
    let (commitment_fee, commitment_weight) = (n(&commitment, "fee"), n(&commitment, "weight"));
    let (child_fee, child_weight) = (n(&child, "fee"), n(&child, "weight"));
    let own_rate = commitment_fee * 1000 / commitment_weight;
    let package_rate = (commitment_fee + child_fee) * 1000 / (commitment_weight + child_weight);
    say(&format!(
        "{from:?}: force close: commitment {commitment_txid} at {own_rate} sat/kw, CPFP child {child_txid} ({child_fee} sat) brings the package to {package_rate} sat/kw"
    ));
    assert!(own_rate < 2_500, "the commitment alone is below the target");
    assert!(package_rate >= 2_500, "the package reaches LDK's target");

    control("/chain/fee-spike", json!({"sat_per_vb": null})).await;
    let mined = control("/mine", json!({"count": 1})).await;
    let height = mined["height"].as_u64();
    for txid in [&commitment_txid, &child_txid] {
        let status = esplora(&format!("/tx/{txid}/status")).await;
        assert_eq!(status["block_height"].as_u64(), height, "{txid}: {status}");
    }
    ev.wait_for("channel_closed", Duration::from_secs(30), |d| {
        d["channelId"] == channel_id.as_str()
    })
    .await;
    w.ok("sync", &[]).await;
    let after = w.ok("balance", &[]).await;
    assert_eq!(
        (
            after["onchainSat"].as_u64(),
            after["onchainPendingSat"].as_u64()
        ),
        (Some(50_000 + 330 - child_fee), Some(0)),
        "the coin and the anchor, less the child's fee: {after}"
    );
    sockets.restore();
    let errors: Vec<_> = ev.all().into_iter().filter(|(k, _)| k == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    w.stop().await;
}

#[wasm_bindgen_test]
async fn the_wallets_force_close_of_an_anchor_channel_is_bumped_from_its_coins() {
    the_wallets_force_close_is_bumped_from_its_coins(Lsp::Lsps2).await;
}

#[wasm_bindgen_test]
async fn the_wallets_force_close_of_a_raw_ldk_lsps_anchor_channel_is_bumped_from_its_coins() {
    the_wallets_force_close_is_bumped_from_its_coins(Lsp::Flow).await;
}

/// Issue 29: the raw LDK LSP's anchor channel closes cooperatively although the wallet has no
/// on-chain coins (a cooperative close needs none: the closing transaction has no anchors and
/// the LSP, which funded the channel, pays its fee), and the wallet's channel balance arrives on
/// chain to the sat. (`channel_from_the_lsp_receive_pay_reload_close_sweep` does the same with
/// the ldk-node LSP.)
#[wasm_bindgen_test]
async fn closes_a_raw_ldk_lsps_anchor_channel_cooperatively_without_coins() {
    let from = Lsp::Flow;
    let lsp = from.node_id();
    let (w, ev) = open_ok(&from.config(&fresh_name("coop"))).await;
    wait_connected(&ev, &lsp).await;
    let opened = unsolicited_channel_from(from, &w, &ev, 500_000).await;
    assert_eq!(opened["anchors"], true, "an anchor channel: {opened}");
    let channel_id = opened["channelId"].as_str().unwrap().to_string();
    receive_from_payer(&w, &ev, 120_000_000).await;
    let before = w.ok("balance", &[]).await;
    assert_eq!(before["onchainSat"], 0, "no coins: {before}");
    let lightning = before["lightningMsat"].as_u64().unwrap();

    close_cooperatively(&w, &ev, &channel_id).await;
    let deadline = time::now_millis() + 120_000;
    let after = loop {
        control("/mine", json!({"count": 1})).await;
        w.ok("sync", &[]).await;
        let b = w.ok("balance", &[]).await;
        if b["onchainSat"].as_u64().unwrap() > 0 && b["onchainPendingSat"] == 0 {
            break b;
        }
        assert!(time::now_millis() < deadline, "no funds on chain: {b}");
        time::sleep(Duration::from_secs(1)).await;
    };
    say(&format!(
        "cooperative close with the raw LDK LSP: {lightning} msat in the channel, then {after}"
    ));
    assert_eq!(
        after["onchainSat"].as_u64(),
        Some(lightning / 1000),
        "the channel balance, to the sat: {after}"
    );
    assert_eq!(after["lightningMsat"], 0, "{after}");
    assert_eq!(
        after["anchorReserveSat"], 0,
        "no anchor channel left: {after}"
    );
    assert!(ev.all().iter().all(|(k, _)| k != "error"), "{:?}", ev.all());
    w.stop().await;
}

/// Issue 30: a chain source that rate-limits the wallet, then drops its connections. The
/// devnet's Esplora answers the wallet (only: its own nodes are served) 429 with
/// `Retry-After: 20` for 12 s. The wallet's next round fails; it says so (a non-fatal
/// `CHAIN_SOURCE_UNAVAILABLE` error, reason `rate_limited`) and asks nothing more for the 20 s
/// the server asked for, then catches up: `synced` at the height mined meanwhile. Then the
/// server drops every connection for 8 s: `unreachable`, the wait doubling from the 5 s
/// interval (two refused rounds at most), and `synced` again after. The wallet works
/// throughout: its balance reads, nothing fatal, and it stops cleanly.
#[wasm_bindgen_test]
async fn a_rate_limiting_or_dropping_chain_source_is_waited_for_and_caught_up_with() {
    let lsp = endpoints()["lsps2_lsp"]["node_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("ratelimit"))).await;
    wait_connected(&ev, &lsp).await;
    ev.wait_for("synced", Duration::from_secs(30), |_| true)
        .await;

    control(
        "/chain/esplora-fault",
        json!({"mode": "rate_limit", "retry_after_secs": 20, "secs": 12}),
    )
    .await;
    let refused = ev
        .wait_for("error", Duration::from_secs(30), |d| {
            d["code"] == "CHAIN_SOURCE_UNAVAILABLE"
        })
        .await;
    assert_eq!(
        (refused["reason"].as_str(), refused["fatal"].as_bool()),
        (Some("rate_limited"), Some(false)),
        "{refused}"
    );
    let height = control("/mine", json!({"count": 1})).await["height"].clone();
    ev.wait_for("synced", Duration::from_secs(60), |d| d["height"] == height)
        .await;
    let caught_up = time::now_millis();
    let report = control_get("/chain/esplora-fault").await;
    let at: Vec<u64> = report["refused_at_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    say(&format!(
        "rate limited: {} request(s) refused, caught up {} ms after the first",
        at.len(),
        caught_up - at[0]
    ));
    assert!(
        at.last().unwrap() - at[0] < 2_000,
        "one round refused, then nothing until the server's 20 s passed: {at:?}"
    );
    assert!(
        caught_up - at[0] >= 19_000,
        "Retry-After honoured: caught up {} ms after the refusal",
        caught_up - at[0]
    );

    control("/chain/esplora-fault", json!({"mode": "drop", "secs": 8})).await;
    let errors_before = ev.all().iter().filter(|(k, _)| k == "error").count();
    let dropped = ev
        .wait_for("error", Duration::from_secs(30), |d| {
            d["code"] == "CHAIN_SOURCE_UNAVAILABLE" && d["reason"] != "rate_limited"
        })
        .await;
    assert_eq!(dropped["reason"], "unreachable", "{dropped}");
    let height = control("/mine", json!({"count": 1})).await["height"].clone();
    ev.wait_for("synced", Duration::from_secs(60), |d| d["height"] == height)
        .await;
    let rounds = ev.all().iter().filter(|(k, _)| k == "error").count() - errors_before;
    let report = control_get("/chain/esplora-fault").await;
    say(&format!(
        "dropped connections: {rounds} failed round(s), {} request(s) refused",
        report["refused_at_ms"].as_array().unwrap().len()
    ));
    assert!(
        (1..=2).contains(&rounds),
        "8 s of drops: a round at once, the next after 5 s, then 10 s: {rounds}"
    );

    // A server error (503) for 8 s: reported with its own reason, backed off, caught up.
    control(
        "/chain/esplora-fault",
        json!({"mode": "server_error", "secs": 8}),
    )
    .await;
    let failed = ev
        .wait_for("error", Duration::from_secs(30), |d| {
            d["code"] == "CHAIN_SOURCE_UNAVAILABLE" && d["reason"] == "server_error"
        })
        .await;
    assert_eq!(failed["fatal"], false, "{failed}");
    let height = control("/mine", json!({"count": 1})).await["height"].clone();
    ev.wait_for("synced", Duration::from_secs(60), |d| d["height"] == height)
        .await;
    let report = control_get("/chain/esplora-fault").await;
    let refused = report["refused_at_ms"].as_array().unwrap().len();
    say(&format!(
        "server errors: {refused} request(s) refused in 8 s, then caught up"
    ));
    assert!(
        (1..=6).contains(&refused),
        "8 s of 503: a round at once, one after 5 s, none after 10 s: {refused} refused"
    );

    let balance = w.ok("balance", &[]).await;
    assert_eq!(balance["onchainSat"], 0, "{balance}");
    assert!(
        ev.all()
            .iter()
            .all(|(k, d)| k != "error" || d["fatal"] == false),
        "{:?}",
        ev.all()
    );
    w.stop().await;
}

/// The browser's Esplora requests the devnet counted since the last reset, printed under
/// `label`; the report, checked: no immutable answer (a header, a transaction) asked twice, and
/// at most two requests at once (the sync asks one thing at a time; a broadcast may overlap it).
async fn esplora_requests(label: &str) -> Value {
    let report = control_get("/chain/esplora-requests").await;
    say(&format!(
        "chain requests, {label}: {} in all, at most {} at once; by route {}; immutable answers asked again {}",
        report["total"], report["max_in_flight"], report["by_route"], report["repeated_immutable"]
    ));
    assert_eq!(report["repeated_immutable"], json!({}), "{label}");
    assert!(
        report["max_in_flight"].as_u64().unwrap() <= 2,
        "{label}: {report}"
    );
    report
}

/// Mines a block and waits for the wallet's background sync to report it.
async fn mine_and_wait_synced(ev: &Events) {
    let height = control("/mine", json!({"count": 1})).await["height"].clone();
    ev.wait_for("synced", Duration::from_secs(60), |d| d["height"] == height)
        .await;
}

/// Issue 30: what the wallet asks a public Esplora, counted by the devnet's server (browser
/// requests only), for the figures in BENCHMARKS.md: an idle wallet's rounds, one JIT receive
/// until its channel is confirmed, one cooperative close until the funds are in the on-chain
/// wallet. An idle round asks the tip and nothing else (and, on regtest, the fee estimates,
/// which public networks refresh every 5 minutes).
#[wasm_bindgen_test]
async fn chain_requests_of_an_idle_wallet_a_receive_and_a_close() {
    let lsp = endpoints()["lsps2_lsp"]["node_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("requests"))).await;
    wait_connected(&ev, &lsp).await;
    ev.wait_for("synced", Duration::from_secs(30), |_| true)
        .await;

    // Idle: 20 s is four rounds of the regtest interval (5 s).
    control("/chain/esplora-requests/reset", json!({})).await;
    time::sleep(Duration::from_millis(20_500)).await;
    let idle = esplora_requests("idle for 20 s (4 rounds)").await;
    let routes: Vec<&String> = idle["by_route"].as_object().unwrap().keys().collect();
    assert_eq!(
        routes,
        ["GET /blocks/tip/hash", "GET /fee-estimates"],
        "an idle round asks the tip (and on regtest the fees) only"
    );
    let tips = idle["by_route"]["GET /blocks/tip/hash"].as_u64().unwrap();
    assert!(
        (3..=5).contains(&tips),
        "one tip request per 5 s round: {tips}"
    );

    // One JIT receive, until its channel's funding is confirmed and the wallet synced past it.
    control("/chain/esplora-requests/reset", json!({})).await;
    let r = w
        .ok(
            "receive",
            &[js(
                &json!({"amountMsat": 30_000_000u64, "description": "requests"}),
            )],
        )
        .await;
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control("/pay", json!({"invoice": r["invoice"]})).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    ev.wait_for("payment_received", Duration::from_secs(60), |d| {
        d["paymentHash"] == hash.as_str()
    })
    .await;
    for _ in 0..6 {
        mine_and_wait_synced(&ev).await;
    }
    esplora_requests("one JIT receive, then 6 blocks").await;

    // One cooperative close, until the funds are confirmed in the on-chain wallet.
    let channels = w.ok("channels", &[]).await;
    let channel_id = channels[0]["channelId"].as_str().unwrap().to_string();
    control("/chain/esplora-requests/reset", json!({})).await;
    close_cooperatively(&w, &ev, &channel_id).await;
    let deadline = time::now_millis() + 120_000;
    loop {
        mine_and_wait_synced(&ev).await;
        let b = w.ok("balance", &[]).await;
        if b["onchainSat"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(time::now_millis() < deadline, "no funds on chain: {b}");
    }
    esplora_requests("one cooperative close, until the funds are on chain").await;
    assert!(ev.all().iter().all(|(k, _)| k != "error"), "{:?}", ev.all());
    w.stop().await;
}

/// Issue 30: a second Esplora server (`esploraFallbackUrl`) takes over a round the first fails,
/// at once and with nothing to tell the user; the wallet stays on it while it works, so the
/// first server is asked once (by the round that failed) and not again: a round never reads both.
/// Only when both fail is `CHAIN_SOURCE_UNAVAILABLE` emitted, and the wallet catches up after.
#[wasm_bindgen_test]
async fn a_fallback_esplora_takes_over_the_rounds_the_first_fails() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let mut config = lsps2_config(&fresh_name("fallback"));
    config["esploraFallbackUrl"] = e["esplora_fallback_url"].clone();
    let (w, ev) = open_ok(&config).await;
    wait_connected(&ev, &lsp).await;
    ev.wait_for("synced", Duration::from_secs(30), |_| true)
        .await;
    let errors = |ev: &Events| ev.all().iter().filter(|(k, _)| k == "error").count();
    let errors_before = errors(&ev);

    // The first server answers 503 to everything; blocks are still seen, through the fallback.
    control("/chain/esplora-requests/reset?server=fallback", json!({})).await;
    control(
        "/chain/esplora-fault",
        json!({"mode": "server_error", "secs": 60}),
    )
    .await;
    mine_and_wait_synced(&ev).await;
    mine_and_wait_synced(&ev).await;
    let refused: Vec<u64> = control_get("/chain/esplora-fault").await["refused_at_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let fallback = control_get("/chain/esplora-requests?server=fallback").await;
    say(&format!(
        "first server down: {} request(s) refused there within {} ms, {} served by the fallback ({})",
        refused.len(),
        refused.last().unwrap() - refused[0],
        fallback["total"],
        fallback["by_route"]
    ));
    // The round that failed asked for the fee estimates (a failure there is only logged) and
    // the tip (which ends the round); nothing after.
    assert!(
        (1..=2).contains(&refused.len()) && refused.last().unwrap() - refused[0] < 2_000,
        "asked by the round that failed only, then not again while the fallback serves: {refused:?}"
    );
    assert!(fallback["total"].as_u64().unwrap() >= 2, "{fallback}");
    assert_eq!(
        errors(&ev),
        errors_before,
        "nothing to tell: {:?}",
        ev.all()
    );
    control("/chain/esplora-fault", json!({"mode": "none"})).await;

    // Both down: now the user is told; both back: caught up.
    for server in ["primary", "fallback"] {
        control(
            "/chain/esplora-fault",
            json!({"mode": "server_error", "secs": 8, "server": server}),
        )
        .await;
    }
    let told = ev
        .wait_for("error", Duration::from_secs(30), |d| {
            d["code"] == "CHAIN_SOURCE_UNAVAILABLE"
        })
        .await;
    assert_eq!(
        (told["reason"].as_str(), told["fatal"].as_bool()),
        (Some("server_error"), Some(false)),
        "{told}"
    );
    mine_and_wait_synced(&ev).await;
    say("both servers down for 8 s: told once they both failed, caught up after");
    w.stop().await;
}

/// The code `w.method(args)` rejects with.
async fn rejection(w: &JsWallet, method: &str, args: &[JsValue]) -> String {
    match w.call_async(method, args).await {
        Ok(v) => panic!("{method} resolved: {}", json_of(&v)),
        Err(e) => code_of(&e),
    }
}

/// Issue 29, on-chain send: with an anchor channel open the wallet keeps 10 000 sat (regtest)
/// on chain; bad addresses, dust, a send into the reserve, too much and a feerate above the
/// ceiling are refused with their codes; a quoted send pays exactly its amount at its fee, shows
/// in the history, confirms, and the balance is exact; sending everything leaves the reserve.
/// Then the channel closes cooperatively (no reserve any more) and everything goes: 0 left.
#[wasm_bindgen_test]
async fn sends_on_chain_exactly_and_keeps_the_anchor_reserve() {
    let e = endpoints();
    let lsp = e["lsps2_lsp"]["node_id"].as_str().unwrap().to_string();
    let (w, ev) = open_ok(&lsps2_config(&fresh_name("send"))).await;
    wait_connected(&ev, &lsp).await;
    let opened = unsolicited_lsp_channel(&w, &ev, 300_000).await;
    let channel_id = opened["channelId"].as_str().unwrap().to_string();
    receive_from_payer(&w, &ev, 50_000_000).await;

    let own = w.ok("onchainAddress", &[]).await;
    control(
        "/send-onchain",
        json!({"address": own, "amount_sat": 100_000}),
    )
    .await;
    control("/mine", json!({"count": 1})).await;
    w.ok("sync", &[]).await;
    let b = w.ok("balance", &[]).await;
    assert_eq!(
        (b["onchainSat"].as_u64(), b["anchorReserveSat"].as_u64()),
        (Some(100_000), Some(10_000)),
        "{b}"
    );

    // A devnet address nobody here owns (BIP84's test vector key, on regtest).
    let to = "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx";
    let req = |v: Value| js(&v);
    let cases = [
        (
            json!({"address": "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "amountSat": 20_000}),
            None,
            "NETWORK_MISMATCH",
        ),
        (
            json!({"address": "not an address", "amountSat": 20_000}),
            None,
            "INVALID_ADDRESS",
        ),
        (
            json!({"address": to, "amountSat": 293}),
            None,
            "AMOUNT_BELOW_DUST",
        ),
        (
            json!({"address": to, "amountSat": 95_000}),
            None,
            "ANCHOR_RESERVE",
        ),
        (
            json!({"address": to, "amountSat": 100_001}),
            None,
            "INSUFFICIENT_FUNDS",
        ),
        (
            json!({"address": to, "amountSat": 20_000}),
            Some(json!({"feeRateSatPerVb": 101})),
            "INVALID_ARGUMENT",
        ),
    ];
    for (request, opts, code) in cases {
        let mut args = vec![req(request.clone())];
        if let Some(o) = opts {
            args.push(js(&o));
        }
        assert_eq!(
            rejection(&w, "quoteOnchain", &args).await,
            code,
            "{request}"
        );
        assert_eq!(rejection(&w, "sendOnchain", &args).await, code, "{request}");
    }

    let request = json!({"address": to, "amountSat": 30_000});
    let rate = json!({"feeRateSatPerVb": 2});
    let quote = w
        .ok("quoteOnchain", &[req(request.clone()), js(&rate)])
        .await;
    let sent = w
        .ok("sendOnchain", &[req(request.clone()), js(&rate)])
        .await;
    say(&format!("quote {quote}, sent {sent}"));
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
    let fee = n(&sent, "feeSat");
    assert_eq!(n(&sent, "amountSat"), 30_000);
    assert_eq!(
        (n(&quote, "feeSat"), n(&quote, "changeSat")),
        (fee, n(&sent, "changeSat")),
        "the send is what was quoted"
    );
    assert_eq!(n(&sent, "changeSat"), 100_000 - 30_000 - fee);
    assert_eq!(sent["feeRateSatPerVb"], 2.0);
    let txid = sent["txid"].as_str().unwrap().to_string();
    let in_mempool = esplora(&format!("/tx/{txid}")).await;
    assert_eq!(n(&in_mempool, "fee"), fee, "{in_mempool}");
    assert!(
        fee * 1000 >= n(&in_mempool, "weight") * 500,
        "at least 2 sat/vB"
    );
    let history = w.ok("onchainTransactions", &[]).await;
    let first = &history[0];
    assert_eq!(first["txid"], txid.as_str(), "newest first: {history}");
    assert_eq!(
        (
            n(first, "sentSat"),
            n(first, "receivedSat"),
            first["feeSat"].as_u64(),
            n(first, "confirmations")
        ),
        (100_000, 100_000 - 30_000 - fee, Some(fee), 0)
    );

    control("/mine", json!({"count": 1})).await;
    w.ok("sync", &[]).await;
    let b = w.ok("balance", &[]).await;
    assert_eq!(
        (n(&b, "onchainSat"), n(&b, "onchainPendingSat")),
        (100_000 - 30_000 - fee, 0),
        "{b}"
    );
    let utxos = esplora(&format!("/address/{to}/utxo")).await;
    assert!(
        utxos
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["txid"] == txid.as_str() && u["value"] == 30_000),
        "{utxos}"
    );
    let history = w.ok("onchainTransactions", &[]).await;
    assert_eq!(n(&history[0], "confirmations"), 1, "{history}");

    // Everything but the reserve.
    let all = w
        .ok("sendOnchain", &[req(json!({"address": to, "all": true}))])
        .await;
    let left = n(&b, "onchainSat");
    assert_eq!(n(&all, "changeSat"), 10_000, "{all}");
    assert_eq!(
        n(&all, "amountSat"),
        left - 10_000 - n(&all, "feeSat"),
        "{all}"
    );
    control("/mine", json!({"count": 1})).await;
    w.ok("sync", &[]).await;
    let b = w.ok("balance", &[]).await;
    assert_eq!(
        (n(&b, "onchainSat"), n(&b, "onchainPendingSat")),
        (10_000, 0),
        "{b}"
    );

    // Close: no anchor channel, no reserve; the closing output and the reserve all go.
    w.ok("closeChannel", &[JsValue::from_str(&channel_id)])
        .await;
    ev.wait_for("channel_closed", Duration::from_secs(30), |d| {
        d["channelId"] == channel_id.as_str()
    })
    .await;
    let deadline = time::now_millis() + 60_000;
    let closed = loop {
        control("/mine", json!({"count": 1})).await;
        w.ok("sync", &[]).await;
        let b = w.ok("balance", &[]).await;
        if n(&b, "onchainSat") > 10_000 && n(&b, "onchainPendingSat") == 0 {
            break b;
        }
        assert!(
            time::now_millis() < deadline,
            "the close never paid the wallet: {b}"
        );
        time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(n(&closed, "anchorReserveSat"), 0, "{closed}");
    assert_eq!(
        n(&closed, "onchainSat"),
        10_000 + 50_000,
        "the reserve and the channel's 50 000 sat: {closed}"
    );
    let everything = w
        .ok("sendOnchain", &[req(json!({"address": to, "all": true}))])
        .await;
    assert_eq!(
        (
            n(&everything, "amountSat") + n(&everything, "feeSat"),
            n(&everything, "changeSat")
        ),
        (60_000, 0),
        "{everything}"
    );
    control("/mine", json!({"count": 1})).await;
    w.ok("sync", &[]).await;
    let b = w.ok("balance", &[]).await;
    assert_eq!(
        (n(&b, "onchainSat"), n(&b, "onchainPendingSat")),
        (0, 0),
        "{b}"
    );
    let errors: Vec<_> = ev.all().into_iter().filter(|(k, _)| k == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    w.stop().await;
}

/// A wallet restored from `phrase` in a new storage finds `onchain_sat` confirmed after its
/// first sync (the on-chain wallet is BIP84 from the phrase; the first sync scans past the
/// scripts it has not revealed).
async fn assert_restores(phrase: &str, onchain_sat: u64) {
    let mut config = lsps2_config(&fresh_name("restored"));
    config["mnemonic"] = json!(phrase);
    let (r, _ev) = open_ok(&config).await;
    r.ok("sync", &[]).await;
    let b = r.ok("balance", &[]).await;
    assert_eq!(b["onchainSat"].as_u64(), Some(onchain_sat), "restored: {b}");
    assert_eq!(b["onchainPendingSat"].as_u64(), Some(0), "restored: {b}");
    say(&format!(
        "restored from the phrase: {onchain_sat} sat on chain"
    ));
    r.stop().await;
}

//! JIT receive end to end in headless Chromium, against a running devnet (both LSPs, the payer,
//! the chain), through the JS API (`Wallet.open`, `receive`, `payments`, events).
//!
//! The devnet's endpoints JSON is baked in at build time from `DEVNET_ENDPOINTS` (as for the
//! node's tests). Run with `tests/support/run_node_tests.sh --test jit_receive` (it starts a fresh
//! devnet and sets it; the default run includes these tests). Without it every test here fails.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};
use tabnode::api::Wallet;
use tabnode::config::{Config, LspProtocol};
use tabnode::net::{HttpClient, HttpError};
use tabnode::time;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ENDPOINTS: Option<&str> = option_env!("DEVNET_ENDPOINTS");

async fn endpoints() -> String {
    ENDPOINTS
        .expect("DEVNET_ENDPOINTS not set at build time: run tests/support/run_node_tests.sh")
        .to_string()
}

fn control() -> String {
    let e: Value = serde_json::from_str(ENDPOINTS.unwrap_or("{}")).expect("endpoints JSON");
    e["control_url"]
        .as_str()
        .expect("DEVNET_ENDPOINTS not set at build time: run tests/support/run_node_tests.sh")
        .to_string()
}

fn http() -> HttpClient {
    HttpClient::new(Duration::from_secs(120))
}

/// POST to the control API; `Err` carries the error body.
async fn control_post(path: &str, body: Value) -> Result<Value, String> {
    match http()
        .post_json::<Value, Value>(&format!("{}{path}", control()), &body)
        .await
    {
        Ok(v) => Ok(v),
        Err(HttpError::Status { status, body, .. }) => Err(format!("HTTP {status}: {body}")),
        Err(e) => Err(e.to_string()),
    }
}

async fn set_fault(fault: Value) {
    control_post("/flow/fault", fault.clone())
        .await
        .unwrap_or_else(|e| panic!("setting fault {fault}: {e}"));
}

fn log(s: &str) {
    web_sys::console::log_1(&JsValue::from_str(s));
}

/// A wallet, the `receive_state` and `peer` events it emitted, and the listeners keeping them.
struct TestWallet {
    wallet: Wallet,
    events: Rc<RefCell<Vec<Value>>>,
    peers: Rc<RefCell<Vec<Value>>>,
    _listeners: Vec<Listener>,
}

type Listener = Closure<dyn FnMut(web_sys::CustomEvent)>;

fn collect(wallet: &Wallet, kind: &str) -> (Rc<RefCell<Vec<Value>>>, Listener) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    let listener =
        Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
            let detail: Value = serde_wasm_bindgen::from_value(e.detail()).unwrap_or(Value::Null);
            sink.borrow_mut().push(detail);
        });
    wallet
        .add_event_listener(
            kind.into(),
            listener
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .clone(),
        )
        .unwrap();
    (events, listener)
}

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        time::now_millis(),
        (js_sys::Math::random() * 1e9) as u64
    )
}

async fn open_wallet(protocol: LspProtocol, edit: impl FnOnce(&mut Value)) -> TestWallet {
    let config = Config::from_devnet_endpoints(&endpoints().await, protocol).unwrap();
    let mut v = serde_json::to_value(&config).unwrap();
    v["storageName"] = json!(unique_name("jit"));
    edit(&mut v);
    let js = v
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap();
    let w = JsFuture::from(Wallet::open(js))
        .await
        .map_err(|e| format!("{:?}", e))
        .expect("wallet opens");
    let wallet = Wallet::try_from_js_value(w).expect("a Wallet");
    let (events, l1) = collect(&wallet, "receive_state");
    let (peers, l2) = collect(&wallet, "peer");
    TestWallet {
        wallet,
        events,
        peers,
        _listeners: vec![l1, l2],
    }
}

use serde::Serialize;

/// The JS error's `code` and `reason`.
fn js_error(e: &JsValue) -> (String, Option<String>) {
    let get = |k: &str| {
        js_sys::Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    (get("code").unwrap_or_default(), get("reason"))
}

async fn call(p: js_sys::Promise) -> Result<Value, (String, Option<String>)> {
    match JsFuture::from(p).await {
        Ok(v) => Ok(serde_wasm_bindgen::from_value(v).unwrap_or(Value::Null)),
        Err(e) => Err(js_error(&e)),
    }
}

impl TestWallet {
    async fn receive(&self, req: Value) -> Result<Value, (String, Option<String>)> {
        let js = req
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .unwrap();
        call(self.wallet.receive(js)).await
    }

    async fn payment(&self, hash: &str) -> Option<Value> {
        let all = call(self.wallet.payments()).await.ok()?;
        all.as_array()?
            .iter()
            .find(|p| p["paymentHash"] == hash)
            .cloned()
    }

    /// Waits until the payment `hash` has `status`, at most `secs`.
    async fn wait_status(&self, hash: &str, status: &str, secs: u64) -> Value {
        let deadline = time::now_millis() + secs * 1000;
        loop {
            if let Some(p) = self.payment(hash).await {
                if p["status"] == status {
                    return p;
                }
            }
            assert!(
                time::now_millis() < deadline,
                "payment {hash} not {status} within {secs} s: {:?}",
                self.payment(hash).await
            );
            time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Mines a block every 2 s until the payment `hash` succeeded (claimed on chain), at most
    /// `secs`; returns its record.
    async fn mine_until_claimed(&self, hash: &str, secs: u64) -> Value {
        let deadline = time::now_millis() + secs * 1000;
        loop {
            if let Some(p) = self.payment(hash).await {
                if p["status"] == "succeeded" {
                    return p;
                }
            }
            assert!(
                time::now_millis() < deadline,
                "not claimed on chain: {:?} {:?}",
                self.payment(hash).await,
                self.states(hash)
            );
            control_post("/mine", json!({"count": 1})).await.unwrap();
            time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// Waits until the receive `hash` has reported `state`, at most `secs`.
    async fn wait_state(&self, hash: &str, state: &str, secs: u64) {
        let deadline = time::now_millis() + secs * 1000;
        while !self.states(hash).iter().any(|s| s == state) {
            assert!(
                time::now_millis() < deadline,
                "no {state} within {secs} s: {:?}",
                self.states(hash)
            );
            time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn states(&self, hash: &str) -> Vec<String> {
        self.events
            .borrow()
            .iter()
            .filter(|e| e["paymentHash"] == hash)
            .map(|e| e["state"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// The wallet's Lightning balance (`balance().lightningMsat`).
    async fn lightning_msat(&self) -> u64 {
        msat(&call(self.wallet.balance()).await.expect("balance")["lightningMsat"])
    }

    async fn channels(&self) -> Vec<Value> {
        call(self.wallet.channels())
            .await
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the wallet reported its LSP connected, at most `secs`.
    async fn wait_connected(&self, secs: u64) {
        let deadline = time::now_millis() + secs * 1000;
        while !self.peers.borrow().iter().any(|p| p["connected"] == true) {
            assert!(
                time::now_millis() < deadline,
                "LSP not connected within {secs} s"
            );
            time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(self) {
        let _ = JsFuture::from(self.wallet.stop(JsValue::UNDEFINED)).await;
    }
}

/// The devnet payer paying an invoice in the background: its `/pay` answers only once the
/// payment settles, which a test may want to happen later (a held HTLC, a closed wallet).
struct BackgroundPay(Rc<RefCell<Option<Result<Value, String>>>>);

impl BackgroundPay {
    fn start(invoice: &Value) -> BackgroundPay {
        let slot = Rc::new(RefCell::new(None));
        let fill = slot.clone();
        let invoice = invoice.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let res = control_post("/pay", json!({ "invoice": invoice })).await;
            *fill.borrow_mut() = Some(res);
        });
        BackgroundPay(slot)
    }

    /// The payer's answer (its call must have succeeded), mining a block every 2 s until it
    /// comes, at most `secs`: for a payment settled on chain.
    async fn answer_while_mining(&self, secs: u64) -> Value {
        let deadline = time::now_millis() + secs * 1000;
        while self.waiting() {
            assert!(time::now_millis() < deadline, "the payer never heard back");
            control_post("/mine", json!({"count": 1})).await.unwrap();
            time::sleep(Duration::from_secs(2)).await;
        }
        self.answer(1).await
    }

    /// Whether the payer has not answered yet.
    fn waiting(&self) -> bool {
        self.0.borrow().is_none()
    }

    /// The payer's answer (its call must have succeeded), waiting for it at most `secs`.
    async fn answer(&self, secs: u64) -> Value {
        let deadline = time::now_millis() + secs * 1000;
        while self.waiting() {
            assert!(time::now_millis() < deadline, "the payer never heard back");
            time::sleep(Duration::from_millis(200)).await;
        }
        self.0.borrow().clone().unwrap().expect("the payer's call")
    }
}

/// A trust-minimized wallet `w` with an unconfirmed channel holds a direct payment of
/// `amount_msat`: the chain source hides its mempool (for at most `hide_secs`), the payer pays
/// in the background, and the wallet says `awaiting_funding`. Returns the payment hash and the
/// payer's call.
async fn hold_a_direct_payment(
    w: &TestWallet,
    amount_msat: u64,
    description: &str,
    hide_secs: u64,
) -> (String, BackgroundPay) {
    control_post(
        "/chain/hide-mempool",
        json!({"hidden": true, "max_secs": hide_secs}),
    )
    .await
    .expect("hide the mempool");
    let r = w
        .receive(json!({"amountMsat": amount_msat, "description": description}))
        .await
        .expect("direct receive");
    assert_eq!(r["protocol"], "direct", "{r}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let pay = BackgroundPay::start(&r["invoice"]);
    w.wait_state(&hash, "awaiting_funding", 60).await;
    (hash, pay)
}

/// The LSP `from` (`/force-close`'s name) force-closes its channels with `w`; returns its
/// answer once the wallet has seen every channel close (at most 30 s).
async fn lsp_force_closes(w: &TestWallet, from: &str) -> Value {
    let closed = control_post(
        "/force-close",
        json!({"from": from, "node_id": w.wallet.node_id()}),
    )
    .await
    .expect("the LSP force-closes");
    let deadline = time::now_millis() + 30_000;
    while !w.channels().await.is_empty() {
        assert!(
            time::now_millis() < deadline,
            "the wallet never saw the close"
        );
        time::sleep(Duration::from_millis(200)).await;
    }
    closed
}

/// GETs `path` of the devnet's Esplora as JSON.
async fn esplora_get(path: String) -> Value {
    let e: Value = serde_json::from_str(&endpoints().await).unwrap();
    let url = format!("{}{path}", e["esplora_url"].as_str().unwrap());
    http()
        .get_json::<Value>(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The wallet's on-chain transactions, once checked to add up to `balance`'s `onchainSat`
/// (received less sent, to the sat).
async fn balance_is_its_transactions(w: &TestWallet, balance: &Value) -> Value {
    let history = call(w.wallet.onchain_transactions()).await.unwrap();
    let net: i64 = history
        .as_array()
        .unwrap()
        .iter()
        .map(|t| msat(&t["receivedSat"]) as i64 - msat(&t["sentSat"]) as i64)
        .sum();
    assert_eq!(
        net,
        msat(&balance["onchainSat"]) as i64,
        "the balance is its transactions: {balance}; {history}"
    );
    history
}

/// `w`'s first receive, 30 000 000 msat paid by the payer through a new JIT channel from its
/// LSP; returns that channel, checked to be an anchor channel.
async fn first_jit_channel(w: &TestWallet, description: &str) -> Value {
    let r = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": description}))
        .await
        .expect("receive");
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("payer pays");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    w.wait_status(r["paymentHash"].as_str().unwrap(), "succeeded", 60)
        .await;
    let channel = w.channels().await[0].clone();
    assert_eq!(channel["anchors"], true, "{channel}");
    channel
}

fn msat(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an amount: {v}"))
}

/// The first JIT receive of a wallet with no channel, paid by the devnet's payer, then a second
/// receive over the new channel: amounts and fee exact to the msat, history, events.
async fn jit_then_direct(protocol: LspProtocol, expected_protocol: &str) {
    let w = open_wallet(protocol, |_| {}).await;
    assert!(w.channels().await.is_empty());
    let amount = 50_000_000u64;
    let r = w
        .receive(json!({"amountMsat": amount, "description": "jit e2e", "expirySecs": 900}))
        .await
        .expect("receive");
    log(&format!("{expected_protocol} receive: {r}"));
    assert_eq!(r["protocol"], expected_protocol);
    assert_eq!(msat(&r["amountMsat"]), amount);
    let fee = msat(&r["feeMsat"]);
    // Both devnet LSPs: max(1000 sat, 1 %) = 1000 sat at 50k sat.
    assert_eq!(fee, 1_000_000);
    if expected_protocol == "lsps2" {
        // Sold as a fixed-size buy, MPP offered: the devnet's ldk-node LSP advertises LSPS.
        assert_eq!(invoice_shape(&r["invoice"]), (Some(amount), true), "{r}");
    }
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    assert_eq!(w.wallet.pending_receives(), 1);

    let started = time::now_millis();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("payer pays the JIT invoice");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    log(&format!(
        "payer: {paid} ({} ms)",
        time::now_millis() - started
    ));
    let p = w.wait_status(&hash, "succeeded", 60).await;
    log(&format!("history: {p}"));
    assert_eq!(
        msat(&p["amountMsat"]),
        amount - fee,
        "received exactly amount - fee"
    );
    assert_eq!(msat(&p["feeMsat"]), fee, "fee exactly as quoted");
    assert_eq!(p["viaJit"], expected_protocol);
    assert_eq!(p["direction"], "inbound");
    let states = w.states(&hash);
    log(&format!("receive_state events: {states:?}"));
    for s in [
        "invoice_ready",
        "payment_arriving",
        "channel_opening",
        "channel_ready",
        "claimed",
    ] {
        assert!(states.iter().any(|x| x == s), "no {s} in {states:?}");
    }
    assert_eq!(states.first().map(String::as_str), Some("invoice_ready"));
    assert_eq!(states.last().map(String::as_str), Some("claimed"));
    let channels = w.channels().await;
    log(&format!("channels: {}", Value::Array(channels.clone())));
    assert_eq!(channels.len(), 1);
    // Issue 29: both LSPs open anchor channels, as Olympus does.
    assert_eq!(channels[0]["anchors"], true, "{}", channels[0]);
    assert_eq!(w.wallet.pending_receives(), 0);

    // A second payment uses the channel: direct, no fee.
    let small = 5_000_000u64;
    let r2 = w
        .receive(json!({"amountMsat": small, "description": "second"}))
        .await
        .expect("second receive");
    log(&format!("second receive: {r2}"));
    assert_eq!(r2["protocol"], "direct");
    assert_eq!(msat(&r2["feeMsat"]), 0);
    let paid2 = control_post("/pay", json!({"invoice": r2["invoice"]}))
        .await
        .expect("payer pays the direct invoice");
    assert_eq!(paid2["status"], "succeeded", "{paid2}");
    let hash2 = r2["paymentHash"].as_str().unwrap();
    let p2 = w.wait_status(hash2, "succeeded", 60).await;
    assert_eq!(msat(&p2["amountMsat"]), small);
    assert_eq!(p2["viaJit"], Value::Null);
    assert_eq!(w.channels().await.len(), 1, "no new channel");

    // An amountless receive is never direct, even with inbound capacity: its payer could pick
    // more than the channel takes. LSPS2 buys in variable-amount mode; a REST LSP needs an amount.
    let any = w
        .receive(json!({"description": "any amount", "expirySecs": 900}))
        .await;
    log(&format!("amountless receive with a channel: {any:?}"));
    if expected_protocol == "lsps2" {
        let any = any.expect("an amountless LSPS2 receive");
        assert_eq!(any["protocol"], "lsps2", "{any}");
        assert_eq!(any["amountMsat"], Value::Null);
        let big = 200_000_000u64;
        let paid3 = control_post(
            "/pay",
            json!({"invoice": any["invoice"], "amount_msat": big}),
        )
        .await
        .expect("payer pays the amountless invoice");
        assert_eq!(paid3["status"], "succeeded", "{paid3}");
        let p3 = w
            .wait_status(any["paymentHash"].as_str().unwrap(), "succeeded", 60)
            .await;
        // 1 % of 200k sat, above the 1000 sat minimum.
        assert_eq!(msat(&p3["amountMsat"]), big - 2_000_000);
        assert_eq!(w.channels().await.len(), 2, "a channel bought for it");
    } else {
        let (code, _) = any.expect_err("an amountless REST receive");
        assert_eq!(code, "INVALID_AMOUNT");
    }
    let node_id = w.wallet.node_id();
    w.stop().await;
    if expected_protocol == "flow" {
        // stop() let the last payment's removal finish: nothing is left on the LSP's side of
        // the channel that it would force-close for at the HTLC's expiry.
        let status = support::control_get("/status").await;
        let left: Vec<&Value> = status["flow_lsp"]["channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["counterparty"] == node_id.as_str() && c["pending_htlcs"] != 0)
            .collect();
        assert!(
            left.is_empty(),
            "HTLCs left on the LSP's side after stop(): {left:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn flow_jit_receive_then_direct() {
    jit_then_direct(LspProtocol::Flow, "flow").await;
}

#[wasm_bindgen_test]
async fn lsps2_jit_receive_then_direct() {
    jit_then_direct(LspProtocol::Lsps2, "lsps2").await;
}

/// An LSPS2 receive without an amount (variable mode): the payer chooses the amount, the fee is
/// the LSP's skim, within the menu's terms.
#[wasm_bindgen_test]
async fn lsps2_variable_amount() {
    let w = open_wallet(LspProtocol::Lsps2, |_| {}).await;
    let r = w
        .receive(json!({"description": "any amount", "expirySecs": 900}))
        .await
        .expect("receive");
    log(&format!("variable receive: {r}"));
    assert_eq!(r["protocol"], "lsps2");
    assert_eq!(r["amountMsat"], Value::Null);
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = 200_000_000u64;
    let result = control_post(
        "/pay",
        json!({"invoice": r["invoice"], "amount_msat": paid}),
    )
    .await
    .expect("payer pays");
    assert_eq!(result["status"], "succeeded", "{result}");
    let p = w.wait_status(&hash, "succeeded", 60).await;
    log(&format!("history: {p}"));
    // 1 % of 200k sat = 2000 sat, above the 1000 sat minimum.
    assert_eq!(msat(&p["feeMsat"]), 2_000_000);
    assert_eq!(msat(&p["amountMsat"]), paid - 2_000_000);
    w.stop().await;
}

/// The REST LSP's fault modes each give their error; the honest LSP's refusals and a fee above
/// the caller's cap give theirs; `never_open` leaves nothing claimed; `open_late` still pays.
#[wasm_bindgen_test]
async fn flow_faults() {
    let w = open_wallet(LspProtocol::Flow, |_| {}).await;
    let req = || json!({"amountMsat": 30_000_000u64, "description": "fault", "expirySecs": 600});
    let cases = [
        (
            json!({"mode": "overcharge_fee", "extra_msat": 5000}),
            "INVALID_WRAPPED_INVOICE",
            Some("wrong_amount"),
        ),
        (
            json!({"mode": "wrong_payment_hash"}),
            "INVALID_WRAPPED_INVOICE",
            Some("wrong_hash"),
        ),
        (
            json!({"mode": "wrong_payee"}),
            "INVALID_WRAPPED_INVOICE",
            Some("wrong_payee"),
        ),
        (
            json!({"mode": "wrong_network", "network": "bitcoin"}),
            "INVALID_WRAPPED_INVOICE",
            Some("wrong_network"),
        ),
        // Issue 27, item 1: the lies that had only unit tests.
        (
            json!({"mode": "expiry_past_inner", "extra_secs": 3600}),
            "INVALID_WRAPPED_INVOICE",
            Some("expiry_too_long"),
        ),
        (
            json!({"mode": "final_cltv_delta", "delta": 9}),
            "INVALID_WRAPPED_INVOICE",
            Some("cltv_insane"),
        ),
        (
            json!({"mode": "final_cltv_delta", "delta": 2016}),
            "INVALID_WRAPPED_INVOICE",
            Some("cltv_insane"),
        ),
        (
            json!({"mode": "route_hint", "from": "lsp"}),
            "INVALID_WRAPPED_INVOICE",
            Some("foreign_route_hint"),
        ),
        (
            json!({"mode": "route_hint", "from": "client"}),
            "INVALID_WRAPPED_INVOICE",
            Some("foreign_route_hint"),
        ),
        (
            json!({"mode": "fee_fields_differ", "extra_msat": 1}),
            "LSP_BAD_RESPONSE",
            None,
        ),
        (json!({"mode": "fee_at_amount"}), "FEE_ABOVE_CAP", None),
    ];
    for (fault, code, reason) in cases {
        set_fault(fault.clone()).await;
        let e = w.receive(req()).await.expect_err("the fault is caught");
        log(&format!("fault {fault}: {e:?}"));
        assert_eq!(e.0, code, "{fault}");
        assert_eq!(e.1.as_deref(), reason, "{fault}");
        // Refused before anything is handed out: no receive in flight, nothing in the history.
        assert_eq!(w.wallet.pending_receives(), 0, "{fault}");
        let history = call(w.wallet.payments()).await.expect("payments");
        assert_eq!(history, json!([]), "{fault}");
    }
    set_fault(json!({"mode": "none"})).await;

    // The caller's cap: the devnet's fee is 1000 sat.
    let e = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "cap", "maxFeeMsat": 999_999}))
        .await
        .expect_err("fee above cap");
    log(&format!("cap: {e:?}"));
    assert_eq!(e.0, "FEE_ABOVE_CAP");
    // The LSP's own limit (500k sat): refused with a reason, never its text.
    let e = w
        .receive(json!({"amountMsat": 600_000_000u64, "description": "too big"}))
        .await
        .expect_err("amount above the LSP's maximum");
    log(&format!("too big: {e:?}"));
    assert_eq!(e.0, "LSP_REJECTED");
    assert_eq!(e.1.as_deref(), Some("payment_too_large"));

    // never_open: the LSP holds the payment and never opens; the payer's payment fails, nothing
    // is claimed, and the receive is still waiting (it expires after its invoice).
    set_fault(json!({"mode": "never_open"})).await;
    let r = w.receive(req()).await.expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
    log(&format!("never_open pay: {paid:?}"));
    assert!(
        paid.as_ref().map_or(true, |p| p["status"] == "failed"),
        "the payer's payment fails"
    );
    let p = w.payment(&hash).await.unwrap();
    assert_eq!(p["status"], "pending");
    assert!(w.channels().await.is_empty());
    let states = w.states(&hash);
    log(&format!("never_open states: {states:?}"));
    assert!(!states.iter().any(|s| s == "claimed"));
    assert_eq!(w.wallet.pending_receives(), 1, "still waiting until expiry");

    // open_late: the LSP waits, then opens and pays.
    set_fault(json!({"mode": "open_late", "delay_secs": 5})).await;
    let r = w.receive(req()).await.expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let started = time::now_millis();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("paid despite the late open");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let elapsed = time::now_millis() - started;
    log(&format!("open_late paid in {elapsed} ms"));
    assert!(elapsed >= 5000);
    let p = w.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["amountMsat"]), 30_000_000 - msat(&r["feeMsat"]));
    set_fault(json!({"mode": "none"})).await;
    w.stop().await;
}

/// Issue 9, item 1: the wrapped invoice already carries the REST LSP's fee, so an LSP that also
/// withholds part of the inner amount at arrival (the devnet's `skim` fault: the client's invoice
/// paid with `msat` kept back, flagged as a skimmed fee) takes the fee twice. The wallet fails
/// that HTLC back at once (`SKIM_TOO_HIGH`): nothing is claimed, the receive ends `failed`, the
/// payer's payment fails. Issue 27, item 13: exact to the msat. 1 sat skimmed over an exact
/// wrapped invoice is refused too; a wrapped invoice rounded down by 600 msat lets the LSP skim
/// exactly 600 msat (it keeps its quoted fee, claimed) and not 601.
#[wasm_bindgen_test]
async fn flow_fee_taken_twice_is_refused_at_arrival() {
    let amount = 30_000_000u64;
    let req = || json!({"amountMsat": amount, "description": "skim", "expirySecs": 600});

    // The devnet's fee at 30k sat is its 1000-sat minimum; the fault applies to proposals made
    // while it is set.
    let fee = 1_000_000u64;
    let w = open_wallet(LspProtocol::Flow, |_| {}).await;
    set_fault(json!({"mode": "skim", "msat": fee})).await;
    let r = w
        .receive(req())
        .await
        .expect("receive: the wrapped invoice is honest");
    assert_eq!(msat(&r["feeMsat"]), fee);
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
    set_fault(json!({"mode": "none"})).await;
    log(&format!("skim {fee} pay: {paid:?}"));
    assert!(
        paid.as_ref().map_or(true, |p| p["status"] == "failed"),
        "the payer's payment fails: {paid:?}"
    );
    let p = w.wait_status(&hash, "failed", 60).await;
    log(&format!("skim {fee} history: {p}"));
    assert_eq!(p["failure"], "skim_too_high");
    let refused: Vec<Value> = w
        .events
        .borrow()
        .iter()
        .filter(|e| e["paymentHash"] == hash.as_str() && e["state"] == "failed")
        .cloned()
        .collect();
    assert_eq!(refused.len(), 1, "one failed event: {refused:?}");
    assert_eq!(refused[0]["code"], "SKIM_TOO_HIGH");
    assert!(!w.states(&hash).iter().any(|s| s == "claimed"));
    let balance = call(w.wallet.balance()).await.expect("balance");
    assert_eq!(
        msat(&balance["lightningMsat"]),
        0,
        "nothing claimed: {balance}"
    );
    assert_eq!(w.wallet.pending_receives(), 0);
    w.stop().await;

    // Over one wallet (its channel opened by the first claimed payment, later ones direct
    // through the LSP would carry no skim): each case a fresh wallet.
    for (fault, claimed) in [
        (json!({"mode": "skim", "msat": 1_000}), false),
        (
            json!({"mode": "skim", "msat": 601, "undercharge_msat": 600}),
            false,
        ),
        (
            json!({"mode": "skim", "msat": 600, "undercharge_msat": 600}),
            true,
        ),
    ] {
        let w = open_wallet(LspProtocol::Flow, |_| {}).await;
        set_fault(fault.clone()).await;
        let r = w.receive(req()).await.expect("receive");
        let hash = r["paymentHash"].as_str().unwrap().to_string();
        let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
        set_fault(json!({"mode": "none"})).await;
        log(&format!("{fault} pay: {paid:?}"));
        let skim = fault["msat"].as_u64().unwrap();
        if claimed {
            let paid = paid.expect("payer pays");
            assert_eq!(paid["status"], "succeeded", "{paid}");
            let p = w.wait_status(&hash, "succeeded", 60).await;
            log(&format!("{fault} history: {p}"));
            assert_eq!(
                msat(&p["amountMsat"]),
                amount - fee - skim,
                "the skim was withheld"
            );
            assert_eq!(
                msat(&p["feeMsat"]),
                fee,
                "the LSP kept its quoted fee, no more"
            );
        } else {
            assert!(
                paid.as_ref().map_or(true, |p| p["status"] == "failed"),
                "{fault}: the payer's payment fails: {paid:?}"
            );
            let p = w.wait_status(&hash, "failed", 60).await;
            assert_eq!(p["failure"], "skim_too_high", "{fault}");
            assert!(!w.states(&hash).iter().any(|s| s == "claimed"));
        }
        w.stop().await;
    }
}

/// Identity and reachability of the REST LSP.
#[wasm_bindgen_test]
async fn flow_identity_and_unreachable() {
    let payer_id = serde_json::from_str::<Value>(&endpoints().await).unwrap()["payer"]["node_id"]
        .as_str()
        .unwrap()
        .to_string();
    let w = open_wallet(LspProtocol::Flow, |v| v["lsp"]["nodeId"] = json!(payer_id)).await;
    let e = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "x"}))
        .await
        .expect_err("pinned id differs");
    log(&format!("pinned other id: {e:?}"));
    assert_eq!(e.0, "LSP_IDENTITY_MISMATCH");
    w.stop().await;

    let w = open_wallet(LspProtocol::Flow, |v| {
        v["lsp"]["url"] = json!("http://127.0.0.1:9");
        v["lsp"].as_object_mut().unwrap().remove("nodeId");
    })
    .await;
    let e = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "x"}))
        .await
        .expect_err("nobody listens");
    log(&format!("unreachable: {e:?}"));
    assert_eq!(e.0, "LSP_UNREACHABLE");
    w.stop().await;
}

/// Trust on first use of the REST LSP's identity: with no pinned `nodeId`, the node id the
/// first `/api/v1/info` names is stored with the wallet; a later `/info` naming another node
/// (the devnet's `impostor_identity` fault) is refused with `LSP_IDENTITY_MISMATCH`, also after a
/// restart, and never adopted: once the LSP names its own node again, receiving works again.
#[wasm_bindgen_test]
async fn flow_identity_is_trusted_on_first_use() {
    let name = unique_name("jit-tofu");
    let unpinned = |name: String| {
        move |v: &mut Value| {
            v["storageName"] = json!(name);
            v["lsp"].as_object_mut().unwrap().remove("nodeId");
        }
    };
    let req = || json!({"amountMsat": 30_000_000u64, "description": "tofu", "expirySecs": 600});
    let w = open_wallet(LspProtocol::Flow, unpinned(name.clone())).await;
    w.wait_connected(60).await;
    w.receive(req())
        .await
        .expect("first use: the LSP's own id is trusted");

    set_fault(json!({"mode": "impostor_identity"})).await;
    let e = w.receive(req()).await.expect_err("another node named");
    log(&format!("impostor: {e:?}"));
    assert_eq!(e.0, "LSP_IDENTITY_MISMATCH");
    w.stop().await;

    // Reopened while the LSP still names the impostor: the stored id holds, the receive is
    // refused and the page is told once by an `error` event (not fatal).
    let w = open_wallet(LspProtocol::Flow, unpinned(name.clone())).await;
    let (errors, _l) = collect(&w.wallet, "error");
    let e = w.receive(req()).await.expect_err("still another node");
    assert_eq!(e.0, "LSP_IDENTITY_MISMATCH");
    let deadline = time::now_millis() + 30_000;
    while errors.borrow().is_empty() && time::now_millis() < deadline {
        time::sleep(Duration::from_millis(200)).await;
    }
    let seen = errors.borrow().clone();
    let dialled = w.peers.borrow().iter().any(|p| p["connected"] == true);
    set_fault(json!({"mode": "none"})).await;
    log(&format!("error events: {seen:?}"));
    assert!(
        seen.iter()
            .any(|d| d["code"] == "LSP_IDENTITY_MISMATCH" && d["fatal"] == false),
        "{seen:?}"
    );
    assert!(!dialled, "the impostor is never dialled");

    // The LSP names its own node again: the stored identity was never replaced.
    let deadline = time::now_millis() + 60_000;
    let r = loop {
        match w.receive(req()).await {
            Ok(r) => break r,
            Err(e) if e.0 == "LSP_IDENTITY_MISMATCH" || e.0 == "LSP_UNREACHABLE" => {
                assert!(time::now_millis() < deadline, "still refused: {e:?}");
                time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("receive after the fault: {e:?}"),
        }
    };
    assert!(r["invoice"].as_str().is_some());
    w.stop().await;
}

/// The JIT record is written before the invoice is returned and loaded at open: a wallet stopped
/// right after `receive` and reopened from its storage still accepts the LSP's skim on the
/// payment (checked against the stored LSPS2 terms) and claims it.
#[wasm_bindgen_test]
async fn lsps2_receive_survives_reload() {
    let name = unique_name("jit-reload");
    let n = name.clone();
    let w = open_wallet(LspProtocol::Lsps2, move |v| v["storageName"] = json!(n)).await;
    let r = w
        .receive(json!({"amountMsat": 40_000_000u64, "description": "reload", "expirySecs": 900}))
        .await
        .expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    w.stop().await;

    let n = name.clone();
    let w = open_wallet(LspProtocol::Lsps2, move |v| v["storageName"] = json!(n)).await;
    assert_eq!(
        w.wallet.pending_receives(),
        1,
        "the stored receive is pending"
    );
    w.wait_connected(30).await;
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("payer pays");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let p = w.wait_status(&hash, "succeeded", 60).await;
    log(&format!("after reload: {p}"));
    assert_eq!(msat(&p["amountMsat"]), 40_000_000 - 1_000_000);
    assert_eq!(msat(&p["feeMsat"]), 1_000_000);
    let states = w.states(&hash);
    log(&format!("states after reload: {states:?}"));
    assert_eq!(states.last().map(String::as_str), Some("claimed"));
    assert_eq!(w.wallet.pending_receives(), 0);
    w.stop().await;
}

/// Issue 27, item 10: the payer pays while the wallet is closed; the REST LSP holds the HTLC and
/// opens the channel as soon as the wallet connects, which is while it reopens. Here the node is
/// reopened without its JIT receive for 5 s (what a slow load of the records looks like), so the
/// LSP's channel request surely arrives before the records are loaded: it is decided once they
/// are (LDK replays it), not refused. The channel is accepted, the payment claimed, the payer's
/// payment completes.
#[wasm_bindgen_test]
async fn flow_channel_opened_before_the_receives_load() {
    let name = unique_name("jit-reopen");
    let n = name.clone();
    let w = open_wallet(LspProtocol::Flow, move |v| v["storageName"] = json!(n)).await;
    let r = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "reopen", "expirySecs": 900}))
        .await
        .expect("receive");
    w.stop().await;

    let pay = BackgroundPay::start(&r["invoice"]);
    // The HTLC reaches the LSP, which waits for the wallet.
    time::sleep(Duration::from_secs(3)).await;
    assert!(pay.waiting(), "the payer waits for the wallet");

    let mut config = Config::from_devnet_endpoints(&endpoints().await, LspProtocol::Flow).unwrap();
    config.storage_name = name.clone();
    let node = tabnode::node::open(config).await.expect("the node reopens");
    // Connected to the LSP, which asks to open the channel; no JIT receive to decide it yet.
    time::sleep(Duration::from_secs(5)).await;
    assert!(pay.waiting(), "the payer still waits: {:?}", pay.0.borrow());
    let _jit = tabnode::lsp::receive::start(&node)
        .await
        .expect("the receives load");
    let paid = pay.answer(60).await;
    log(&format!("paid after the late load: {paid}"));
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let report = node.stop(Duration::from_secs(30)).await;
    assert!(report.complete, "{report:?}");
}

/// A payment held by the wallet when it stops is claimed after it reopens. `trustMinimized`
/// makes the wallet hold the arrived HTLC until the new channel's funding transaction is seen,
/// and the devnet's chain source hides its mempool meanwhile, so the HTLC is still held (its
/// skim and payment secret durable) when the wallet stops. LDK does not hand that
/// `PaymentClaimable` out again: the reopened wallet resumes the claim from its record, once the
/// funding transaction shows, and the payer's payment completes.
#[wasm_bindgen_test]
async fn held_payment_is_claimed_after_a_restart() {
    let name = unique_name("jit-held");
    // At most 150 s: if this test dies before showing it again, the devnet does.
    control_post(
        "/chain/hide-mempool",
        json!({"hidden": true, "max_secs": 150}),
    )
    .await
    .expect("hide the mempool");
    let config = |n: String| {
        move |v: &mut Value| {
            v["storageName"] = json!(n);
            v["trustMinimized"] = json!(true);
        }
    };
    let w = open_wallet(LspProtocol::Lsps2, config(name.clone())).await;
    let r = w
        .receive(json!({"amountMsat": 25_000_000u64, "description": "held over a restart"}))
        .await
        .expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();

    // The payer's payment completes only when the wallet claims: run it in the background.
    let pay = BackgroundPay::start(&r["invoice"]);

    // The HTLC reaches the wallet over the new channel and is held there.
    let deadline = time::now_millis() + 60_000;
    loop {
        let held: u64 = w
            .channels()
            .await
            .iter()
            .map(|c| msat(&c["pendingInboundMsat"]))
            .sum();
        if held > 0 {
            assert_eq!(
                held,
                25_000_000 - 1_000_000,
                "the HTLC minus the LSP's skim"
            );
            break;
        }
        assert!(
            time::now_millis() < deadline,
            "the HTLC never reached the wallet"
        );
        time::sleep(Duration::from_millis(200)).await;
    }
    // The wallet decides it (LDK decodes HTLCs no sooner than 2 s after the node started),
    // writes the record and says it holds the payment for the funding check: stop then.
    w.wait_state(&hash, "awaiting_funding", 60).await;
    let p = w.payment(&hash).await.expect("a payment record");
    assert_eq!(
        p["status"], "pending",
        "nothing claimed while the funding is unseen: {p}"
    );
    assert!(pay.waiting(), "the payer is still waiting");
    w.stop().await;

    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");
    let w = open_wallet(LspProtocol::Lsps2, config(name)).await;
    let p = w.wait_status(&hash, "succeeded", 90).await;
    log(&format!("held payment after the restart: {p}"));
    assert_eq!(msat(&p["amountMsat"]), 25_000_000 - 1_000_000);
    assert_eq!(msat(&p["feeMsat"]), 1_000_000);
    let paid = pay.answer(60).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(w.wallet.pending_receives(), 0);
    w.stop().await;
}

/// `trustMinimized` with an LSPS2 LSP that does not ask the client to trust it: the wallet
/// claims only once the new channel's funding transaction is on the chain source with the right
/// output (the devnet LSP broadcasts it first, so the payment completes). Issue 27, item 6: so
/// does a direct receive over that channel while its funding is unconfirmed (the LSP picks the
/// channel it forwards over): with the chain source hiding the funding transaction the payment is
/// held (`awaiting_funding`, nothing claimed, the payer waiting), and claimed once it shows. A
/// wallet that trusts the LSP claims such a payment at once (the other half of the test).
#[wasm_bindgen_test]
async fn lsps2_trust_minimized_claims_after_funding_seen() {
    let w = open_wallet(LspProtocol::Lsps2, |v| v["trustMinimized"] = json!(true)).await;
    let r = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "trust-minimized"}))
        .await
        .expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("payer pays");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let p = w.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["amountMsat"]), 30_000_000 - 1_000_000);
    let channels = w.channels().await;
    let txid = channels[0]["fundingTxid"].as_str().unwrap().to_string();
    let esplora = serde_json::from_str::<Value>(&endpoints().await).unwrap()["esplora_url"]
        .as_str()
        .unwrap()
        .to_string();
    let hex = http()
        .get_text(&format!("{esplora}/tx/{txid}/hex"))
        .await
        .expect("the funding transaction is on the chain source");
    log(&format!("funding {txid}: {} bytes", hex.len() / 2));
    assert_eq!(channels[0]["confirmations"], json!(0), "{channels:?}");

    // A direct receive over the unconfirmed channel, with the chain source hiding it.
    let small = 5_000_000u64;
    let (hash2, pay2) = hold_a_direct_payment(&w, small, "direct, trust-minimized", 120).await;
    time::sleep(Duration::from_secs(5)).await;
    let p2 = w.payment(&hash2).await.expect("a payment record");
    let held = p2["status"] == "pending" && pay2.waiting();
    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");
    assert!(held, "nothing claimed while the funding is hidden: {p2}");
    assert!(!w.states(&hash2).iter().any(|s| s == "claimed"));
    let p2 = w.wait_status(&hash2, "succeeded", 60).await;
    assert_eq!(msat(&p2["amountMsat"]), small);
    let paid2 = pay2.answer(60).await;
    assert_eq!(paid2["status"], "succeeded", "{paid2}");
    w.stop().await;

    // A wallet that trusts its LSP claims a direct payment over an unconfirmed channel at once,
    // hidden funding or not.
    let w = open_wallet(LspProtocol::Lsps2, |_| {}).await;
    first_jit_channel(&w, "trusting").await;
    control_post(
        "/chain/hide-mempool",
        json!({"hidden": true, "max_secs": 120}),
    )
    .await
    .expect("hide the mempool");
    let r2 = w
        .receive(json!({"amountMsat": small, "description": "direct, trusting"}))
        .await
        .expect("direct receive");
    assert_eq!(r2["protocol"], "direct", "{r2}");
    let paid2 = control_post("/pay", json!({"invoice": r2["invoice"]})).await;
    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");
    assert_eq!(paid2.expect("payer")["status"], "succeeded");
    let hash2 = r2["paymentHash"].as_str().unwrap();
    w.wait_status(hash2, "succeeded", 30).await;
    assert!(!w.states(hash2).iter().any(|s| s == "awaiting_funding"));
    w.stop().await;
}

/// Issue 30: a trust-minimized JIT receive whose chain source fails while the wallet waits for
/// the new channel's funding waits rather than fails: 12 s of 503s from Esplora (the wallet's
/// funding checks refused and backed off), the payment held (`awaiting_funding`, pending, the
/// payer waiting), then claimed once the server answers, 29 000 000 msat exact.
#[wasm_bindgen_test]
async fn lsps2_trust_minimized_receive_waits_through_a_chain_outage() {
    let w = open_wallet(LspProtocol::Lsps2, |v| v["trustMinimized"] = json!(true)).await;
    w.wait_connected(30).await;
    let r = w
        .receive(json!({"amountMsat": 30_000_000u64, "description": "through an outage"}))
        .await
        .expect("receive");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    control_post(
        "/chain/esplora-fault",
        json!({"mode": "server_error", "secs": 12}),
    )
    .await
    .expect("fault set");
    let started = time::now_millis();
    let pay = BackgroundPay::start(&r["invoice"]);
    w.wait_state(&hash, "awaiting_funding", 30).await;
    // While the server fails, the payment stays held: pending, not failed, the payer waiting.
    while time::now_millis() < started + 10_000 {
        let p = w.payment(&hash).await.expect("a payment record");
        assert_eq!(p["status"], "pending", "{p}");
        assert!(pay.waiting(), "the payer was answered during the outage");
        time::sleep(Duration::from_secs(1)).await;
    }
    let p = w.wait_status(&hash, "succeeded", 90).await;
    assert_eq!(msat(&p["amountMsat"]), 29_000_000);
    let paid = pay.answer(30).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let refused = support::control_get("/chain/esplora-fault").await["refused_at_ms"]
        .as_array()
        .unwrap()
        .len();
    log(&format!(
        "trust-minimized receive through a 12 s outage: {refused} request(s) refused, claimed {} ms after the payer started",
        time::now_millis() - started
    ));
    assert!(refused >= 1, "the outage was met");
    assert!(
        !w.states(&hash).iter().any(|s| s == "failed"),
        "{:?}",
        w.states(&hash)
    );
    w.stop().await;
}

/// The LSPS2 menu checked against the request: an amount outside the LSP's limits and a fee
/// above the caller's cap are refused before anything is bought.
#[wasm_bindgen_test]
async fn lsps2_refusals() {
    let w = open_wallet(LspProtocol::Lsps2, |_| {}).await;
    // The devnet LSP's smallest payment is 10k sat.
    let e = w
        .receive(json!({"amountMsat": 5_000_000u64, "description": "small"}))
        .await
        .expect_err("below the LSP's minimum");
    log(&format!("below minimum: {e:?}"));
    assert_eq!(e.0, "INVALID_LSPS2_OFFER");
    assert_eq!(e.1.as_deref(), Some("amount_out_of_range"));
    // Its fee is 1000 sat at 50k sat.
    let e = w
        .receive(json!({"amountMsat": 50_000_000u64, "description": "cap", "maxFeeMsat": 999_999}))
        .await
        .expect_err("fee above the cap");
    log(&format!("cap: {e:?}"));
    assert_eq!(e.0, "FEE_ABOVE_CAP");
    assert!(w.channels().await.is_empty());
    assert_eq!(w.wallet.pending_receives(), 0);
    w.stop().await;
}

/// A wallet of the LSPS2 service on the REST LSP's node (`lsps2_raw_lsp`: lightning-liquidity's
/// service handler, which the devnet can make lie).
async fn open_raw_lsps2_wallet() -> TestWallet {
    open_raw_lsps2_wallet_with(|_| {}).await
}

/// [`open_raw_lsps2_wallet`] with its config edited by `edit` first.
async fn open_raw_lsps2_wallet_with(edit: impl FnOnce(&mut Value)) -> TestWallet {
    let e: Value = serde_json::from_str(&endpoints().await).unwrap();
    let raw = e["lsps2_raw_lsp"].clone();
    open_wallet(LspProtocol::Lsps2, |v| {
        v["lsp"]["nodeId"] = raw["node_id"].clone();
        v["lsp"]["address"] = json!(format!("{}:{}", raw["host"].as_str().unwrap(), raw["port"]));
        edit(v);
    })
    .await
}

/// Issue 30: an LSP whose node speaks websockets itself (Core Lightning's `bind-addr=ws:…`) is
/// dialled at its `websocketUrl` with no proxy in between: the wallet's `proxyUrl` points where
/// nothing listens, it has no `address`, and still it connects, buys a JIT channel and is paid
/// through it, exact to the msat.
#[wasm_bindgen_test]
async fn lsps2_reaches_a_node_that_speaks_websockets_itself() {
    let e: Value = serde_json::from_str(&endpoints().await).unwrap();
    let node_ws = e["flow_node_websocket_url"].clone();
    assert!(
        node_ws.as_str().is_some_and(|u| u.starts_with("ws://")),
        "{node_ws}"
    );
    let w = open_raw_lsps2_wallet_with(|v| {
        v["lsp"].as_object_mut().unwrap().remove("address");
        v["lsp"]["websocketUrl"] = node_ws;
        v["proxyUrl"] = json!("ws://127.0.0.1:1");
    })
    .await;
    w.wait_connected(30).await;
    first_jit_channel(&w, "no proxy").await;
    assert_eq!(
        w.lightning_msat().await,
        29_000_000,
        "30 000 000 less the 1 000 000 fee"
    );
    w.stop().await;
}

/// Issue 10: `client_trusts_lsp` is accepted only by a wallet that trusts: a `trustMinimized`
/// wallet (which claims only once the funding is seen) refuses that `buy` answer before any
/// invoice (`INVALID_LSPS2_OFFER` / `client_trusts_lsp`); a trusting wallet receives through it.
/// Issue 27, item 4: the service really holds the funding transaction (lightning-liquidity's
/// `client_trusts_lsp` flow): the chain does not have it until the wallet's claim has paid the
/// fee, and has it right after.
#[wasm_bindgen_test]
async fn lsps2_client_trusts_lsp_only_when_the_wallet_trusts() {
    let req = || json!({"amountMsat": 30_000_000u64, "description": "trust", "expirySecs": 600});
    let minimized = open_raw_lsps2_wallet_with(|v| v["trustMinimized"] = json!(true)).await;
    minimized.wait_connected(30).await;
    set_lsps2_fault(json!({"mode": "client_trusts_lsp"})).await;
    let refused = minimized.receive(req()).await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    let e = refused.expect_err("a trust-minimized wallet refuses client_trusts_lsp");
    assert_eq!(
        (e.0.as_str(), e.1.as_deref()),
        ("INVALID_LSPS2_OFFER", Some("client_trusts_lsp"))
    );
    assert_eq!(minimized.wallet.pending_receives(), 0);
    minimized.stop().await;

    let trusting = open_raw_lsps2_wallet().await;
    trusting.wait_connected(30).await;
    set_lsps2_fault(json!({"mode": "client_trusts_lsp"})).await;
    let r = trusting.receive(req()).await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    let r = r.expect("a trusting wallet accepts client_trusts_lsp");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("paid");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let p = trusting.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["amountMsat"]), 29_000_000);
    // The service kept its word: the JIT channel's funding transaction was held until the
    // wallet's claim paid the fee, and broadcast then.
    let channels = call(trusting.wallet.channels()).await.expect("channels");
    let funding = channels[0]["fundingTxid"]
        .as_str()
        .expect("a funding txid")
        .to_string();
    let deadline = time::now_millis() + 30_000;
    let held = loop {
        let all: Value = http()
            .get_json(&format!("{}/lsps2-raw/held-funding", control()))
            .await
            .expect("held funding");
        let found = all["held"].as_array().and_then(|a| {
            a.iter()
                .find(|h| h["txid"] == funding.as_str() && !h["on_chain_after_fee"].is_null())
                .cloned()
        });
        if let Some(h) = found {
            break h;
        }
        assert!(
            time::now_millis() < deadline,
            "{funding} never held, or its fee never collected: {all}"
        );
        time::sleep(Duration::from_millis(250)).await;
    };
    log(&format!("client_trusts_lsp funding {held}"));
    assert_eq!(
        (&held["on_chain_before_fee"], &held["on_chain_after_fee"]),
        (&json!(false), &json!(true)),
        "the funding is broadcast only once the fee is collected: {held}"
    );
    trusting.stop().await;
}

/// Issue 27, item 2: a skim on a payment that is no JIT receive (a direct payment over a channel
/// the LSP already opened) is refused end to end, for a wallet of the REST LSP and one of the
/// raw LSPS2 service (the same node): the REST LSP's node forwards the wallet's direct invoice
/// with 1 sat withheld as a skimmed fee; the wallet fails it back (`UNEXPECTED_SKIM`), the sender's
/// payment fails, nothing is claimed; the same invoice paid honestly afterwards is claimed.
#[wasm_bindgen_test]
async fn a_skim_on_a_direct_payment_is_refused() {
    for raw_lsps2 in [false, true] {
        let w = if raw_lsps2 {
            open_raw_lsps2_wallet().await
        } else {
            open_wallet(LspProtocol::Flow, |_| {}).await
        };
        let r = w
            .receive(json!({"amountMsat": 30_000_000u64, "description": "jit"}))
            .await
            .expect("JIT receive");
        let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
            .await
            .expect("payer pays");
        assert_eq!(paid["status"], "succeeded", "{paid}");
        w.wait_status(r["paymentHash"].as_str().unwrap(), "succeeded", 60)
            .await;
        let before = w.lightning_msat().await;

        let d = w
            .receive(json!({"amountMsat": 5_000_000u64, "description": "direct"}))
            .await
            .expect("direct receive");
        assert_eq!(d["protocol"], "direct", "{d}");
        let hash = d["paymentHash"].as_str().unwrap().to_string();
        let skimmed = control_post(
            "/flow/pay-skimmed",
            json!({"invoice": d["invoice"], "skim_msat": 1_000}),
        )
        .await
        .expect("the control API answers");
        log(&format!(
            "raw_lsps2 {raw_lsps2}: skimmed direct payment: {skimmed}"
        ));
        assert_eq!(skimmed["status"], "failed", "{skimmed}");
        let refused = w.events.borrow().iter().any(|e| {
            e["paymentHash"] == hash.as_str()
                && e["state"] == "failed"
                && e["code"] == "UNEXPECTED_SKIM"
        });
        assert!(
            refused,
            "a failed event with UNEXPECTED_SKIM: {:?}",
            w.events.borrow()
        );
        assert_eq!(w.lightning_msat().await, before, "nothing claimed");

        let paid = control_post("/pay", json!({"invoice": d["invoice"]}))
            .await
            .expect("payer pays");
        assert_eq!(paid["status"], "succeeded", "{paid}");
        let p = w.wait_status(&hash, "succeeded", 60).await;
        assert_eq!(msat(&p["amountMsat"]), 5_000_000);
        w.stop().await;
    }
}

/// Issue 27, item 2: an HTLC for less than the invoice is refused end to end. The REST LSP's
/// node pays 1 000 sat short (`/flow/pay-short`, from its skim source):
/// - a JIT invoice of the raw LSPS2 service: the service opens the channel and forwards the HTLC
///   anyway, less its fee; the wallet fails it back (`UNDERPAID`, the receive `failed`), the
///   payer's payment fails and nothing is claimed;
/// - a direct invoice over that channel, and over a REST LSP wallet's channel: LDK refuses it
///   (the invoice's amount is bound to its payment secret); the payer's payment fails, nothing is
///   claimed, and the same invoice paid in full afterwards is claimed.
#[wasm_bindgen_test]
async fn an_htlc_for_less_than_the_invoice_is_refused() {
    let short = json!(1_000_000u64);
    let raw = open_raw_lsps2_wallet().await;
    raw.wait_connected(30).await;
    let r = raw
        .receive(json!({"amountMsat": 30_000_000u64, "description": "short jit"}))
        .await
        .expect("JIT receive");
    assert_eq!(r["protocol"], "lsps2", "{r}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post(
        "/flow/pay-short",
        json!({"invoice": r["invoice"], "short_msat": short}),
    )
    .await
    .expect("the short payment is answered");
    log(&format!("JIT invoice paid 1 000 sat short: {paid}"));
    assert_eq!(paid["status"], "failed", "{paid}");
    raw.wait_state(&hash, "failed", 30).await;
    let refused = raw.events.borrow().iter().any(|e| {
        e["paymentHash"] == hash.as_str() && e["state"] == "failed" && e["code"] == "UNDERPAID"
    });
    assert!(refused, "failed with UNDERPAID: {:?}", raw.events.borrow());
    raw.wait_status(&hash, "failed", 30).await;
    assert_eq!(raw.lightning_msat().await, 0, "nothing claimed");

    let flow = open_wallet(LspProtocol::Flow, |_| {}).await;
    let j = flow
        .receive(json!({"amountMsat": 30_000_000u64, "description": "jit"}))
        .await
        .expect("JIT receive");
    let paid = control_post("/pay", json!({"invoice": j["invoice"]}))
        .await
        .expect("payer pays");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    flow.wait_status(j["paymentHash"].as_str().unwrap(), "succeeded", 60)
        .await;

    for (name, w) in [("raw LSPS2", &raw), ("REST", &flow)] {
        let before = w.lightning_msat().await;
        let d = w
            .receive(json!({"amountMsat": 5_000_000u64, "description": "direct"}))
            .await
            .expect("direct receive");
        assert_eq!(d["protocol"], "direct", "{name}: {d}");
        let hash = d["paymentHash"].as_str().unwrap().to_string();
        let paid = control_post(
            "/flow/pay-short",
            json!({"invoice": d["invoice"], "short_msat": short}),
        )
        .await
        .expect("the short payment is answered");
        log(&format!(
            "{name}: direct invoice paid 1 000 sat short: {paid}"
        ));
        assert_eq!(paid["status"], "failed", "{name}: {paid}");
        assert_eq!(w.lightning_msat().await, before, "{name}: nothing claimed");
        let paid = control_post("/pay", json!({"invoice": d["invoice"]}))
            .await
            .expect("payer pays");
        assert_eq!(paid["status"], "succeeded", "{name}: {paid}");
        let p = w.wait_status(&hash, "succeeded", 60).await;
        assert_eq!(msat(&p["amountMsat"]), 5_000_000, "{name}");
    }
    raw.stop().await;
    flow.stop().await;
}

/// Issue 27, item 3 (its announced half): the wallet's LSP, of either kind, opening a channel
/// the wallet did not ask for. An announced one is refused (the open fails, no channel); a
/// private one is taken but not trusted at zero conf (not ready until it confirms).
#[wasm_bindgen_test]
async fn channels_the_wallet_did_not_ask_for() {
    for (protocol, from) in [(LspProtocol::Flow, "flow"), (LspProtocol::Lsps2, "lsps2")] {
        let w = open_wallet(protocol, |_| {}).await;
        w.wait_connected(60).await;
        let node_id = w.wallet.node_id();
        let announced = control_post(
            "/open-channel",
            json!({"from": from, "node_id": node_id, "capacity_sat": 100_000, "announced": true}),
        )
        .await;
        log(&format!("{from}: announced channel: {announced:?}"));
        let refusal = announced.expect_err("an announced channel is refused");
        assert!(
            refusal.contains("open_refused"),
            "the wallet refused it (not the opener): {refusal}"
        );
        assert!(w.channels().await.is_empty());

        control_post(
            "/open-channel",
            json!({"from": from, "node_id": node_id, "capacity_sat": 100_000}),
        )
        .await
        .expect("a private channel is taken");
        let deadline = time::now_millis() + 30_000;
        let channels = loop {
            let channels = w.channels().await;
            if !channels.is_empty() {
                break channels;
            }
            assert!(time::now_millis() < deadline, "no channel");
            time::sleep(Duration::from_millis(200)).await;
        };
        time::sleep(Duration::from_secs(2)).await;
        let channels_now = w.channels().await;
        log(&format!(
            "{from}: private channel nobody asked for: {channels_now:?}"
        ));
        assert_eq!(channels.len(), 1);
        assert_eq!(
            channels_now[0]["isReady"], false,
            "not trusted at zero conf: {channels_now:?}"
        );
        w.stop().await;
    }
}

async fn set_lsps2_fault(fault: Value) {
    control_post("/lsps2-raw/fault", fault.clone())
        .await
        .unwrap_or_else(|e| panic!("setting LSPS2 fault {fault}: {e}"));
}

/// Issue 10: every lie of the LSPS2 service's menu and `buy` answer is refused before an
/// invoice exists, with its stable code; the honest service before and after pays exactly.
#[wasm_bindgen_test]
async fn lsps2_menu_and_buy_lies_are_refused() {
    let w = open_raw_lsps2_wallet().await;
    w.wait_connected(30).await;
    let fixed = || json!({"amountMsat": 30_000_000u64, "description": "lie", "expirySecs": 600});
    let cases = [
        (
            json!({"mode": "unknown_menu_field"}),
            "INVALID_LSPS2_OFFER",
            Some("unknown_field"),
        ),
        (
            json!({"mode": "long_promise"}),
            "INVALID_LSPS2_OFFER",
            Some("promise_too_long"),
        ),
        (
            json!({"mode": "expired_offer"}),
            "INVALID_LSPS2_OFFER",
            Some("expired"),
        ),
        (
            json!({"mode": "offer_expires_in", "secs": 5}),
            "INVALID_LSPS2_OFFER",
            Some("expired"),
        ),
        (
            json!({"mode": "min_above_max"}),
            "INVALID_LSPS2_OFFER",
            Some("no_valid_offer"),
        ),
        // At 30 000 sat the fee (u32::MAX ppm) is above the payment itself.
        (
            json!({"mode": "fee_overflow"}),
            "INVALID_LSPS2_OFFER",
            Some("amount_out_of_range"),
        ),
        (
            json!({"mode": "empty_menu"}),
            "INVALID_LSPS2_OFFER",
            Some("no_valid_offer"),
        ),
        (json!({"mode": "buy_scid_zero"}), "LSP_BAD_RESPONSE", None),
        (
            json!({"mode": "buy_cltv_delta", "delta": 0}),
            "LSP_BAD_RESPONSE",
            None,
        ),
        (
            json!({"mode": "buy_cltv_delta", "delta": 5000}),
            "LSP_BAD_RESPONSE",
            None,
        ),
    ];
    let mut table = Vec::new();
    for (fault, code, reason) in cases {
        set_lsps2_fault(fault.clone()).await;
        let outcome = w.receive(fixed()).await;
        set_lsps2_fault(json!({"mode": "none"})).await;
        log(&format!("LSPS2 lie {fault}: {outcome:?}"));
        let e = outcome.expect_err("the lie is refused");
        table.push(format!("{fault} -> {} {:?}", e.0, e.1));
        assert_eq!(e.0, code, "{fault}");
        if reason.is_some() {
            assert_eq!(e.1.as_deref(), reason, "{fault}");
        }
    }
    // At 5 000 000 sat the fee formula itself overflows u64.
    set_lsps2_fault(json!({"mode": "fee_overflow"})).await;
    let outcome = w
        .receive(json!({"amountMsat": 5_000_000_000u64, "description": "lie", "expirySecs": 600}))
        .await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    log(&format!("LSPS2 lie fee_overflow at 5 M sat: {outcome:?}"));
    let e = outcome.expect_err("the overflow is refused");
    assert_eq!(
        (e.0.as_str(), e.1.as_deref()),
        ("INVALID_LSPS2_OFFER", Some("overflow"))
    );
    assert!(w.channels().await.is_empty(), "no lie opened a channel");
    assert_eq!(w.wallet.pending_receives(), 0, "no invoice was handed out");

    // The honest service pays exactly: 30 000 sat, fee 1 000 sat (its minimum).
    let r = w.receive(fixed()).await.expect("the honest service");
    assert_eq!(r["protocol"], "lsps2");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]}))
        .await
        .expect("paid");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let p = w.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["feeMsat"]), 1_000_000);
    assert_eq!(msat(&p["amountMsat"]), 29_000_000);
    log(&format!("LSPS2 lies refused:\n  {}", table.join("\n  ")));
    w.stop().await;
}

/// Issue 10: the LSPS2 service's lies at the HTLC: a skim above the agreed fee is failed back
/// at once (`SKIM_TOO_HIGH`, nothing claimed, the payer's payment fails); a channel never
/// opened leaves nothing claimed and the payer's payment failed; a late channel still pays.
#[wasm_bindgen_test]
async fn lsps2_htlc_lies() {
    let w = open_raw_lsps2_wallet().await;
    w.wait_connected(30).await;
    let fixed = || json!({"amountMsat": 30_000_000u64, "description": "lie", "expirySecs": 600});

    set_lsps2_fault(json!({"mode": "skim_above_fee", "extra_msat": 1000})).await;
    let r = w
        .receive(fixed())
        .await
        .expect("receive: the offer is honest");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    log(&format!("skim_above_fee pay: {paid:?}"));
    assert!(
        paid.as_ref().map_or(true, |p| p["status"] == "failed"),
        "the payer's payment fails: {paid:?}"
    );
    let p = w.wait_status(&hash, "failed", 60).await;
    assert_eq!(p["failure"], "skim_too_high", "{p}");
    assert!(!w.states(&hash).iter().any(|s| s == "claimed"));

    // Above the skim's channel's inbound, so each needs a JIT channel again; the fee is the
    // 1000-sat minimum (1 % of 100 000 sat).
    let large = || json!({"amountMsat": 100_000_000u64, "description": "lie", "expirySecs": 600});
    set_lsps2_fault(json!({"mode": "never_open"})).await;
    let r = w.receive(large()).await.expect("receive");
    assert_eq!(r["protocol"], "lsps2", "{r}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    log(&format!("never_open pay: {paid:?}"));
    assert!(
        paid.as_ref().map_or(true, |p| p["status"] == "failed"),
        "the payer's payment fails: {paid:?}"
    );
    assert!(!w.states(&hash).iter().any(|s| s == "claimed"));

    set_lsps2_fault(json!({"mode": "open_late", "delay_secs": 5})).await;
    let r = w.receive(large()).await.expect("receive");
    assert_eq!(r["protocol"], "lsps2", "{r}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let started = time::now_millis();
    let paid = control_post("/pay", json!({"invoice": r["invoice"]})).await;
    set_lsps2_fault(json!({"mode": "none"})).await;
    let paid = paid.expect("paid despite the late open");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert!(time::now_millis() - started >= 5000);
    let p = w.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["amountMsat"]), 99_000_000);
    w.stop().await;
}

/// The devnet payer's `/pay` of a receive's invoice, or the receive's error (so a test can reset
/// a fault before it asserts either).
async fn pay_if_made(r: &Result<Value, (String, Option<String>)>) -> Result<Value, String> {
    match r {
        Ok(r) => control_post("/pay", json!({"invoice": r["invoice"]})).await,
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The invoice's amount and whether it offers `basic_mpp`.
fn invoice_shape(invoice: &Value) -> (Option<u64>, bool) {
    use core::str::FromStr;
    let inv = lightning_invoice::Bolt11Invoice::from_str(invoice.as_str().unwrap()).unwrap();
    let mpp = inv.features().is_some_and(|f| f.supports_basic_mpp());
    (inv.amount_milli_satoshis(), mpp)
}

/// Issue 27 item 5 / protocols.md E: an LSPS2 service that neither advertises LSPS in its `init` nor
/// intercepts fixed-size buys (Core Lightning's; `ignore_fixed_size`, set before the wallet
/// connects) is sold an amount as one part: the invoice carries the amount without `basic_mpp`,
/// `buy` names no size, and the payment is received exact. Forced back to fixed-size buys
/// (`fixedSizeBuys: true`), the same service fails the payer's payment: what the fallback is
/// for. The honest service is sold fixed-size buys (`basic_mpp` offered).
#[wasm_bindgen_test]
async fn lsps2_an_lsp_without_fixed_size_buys_is_sold_one_part() {
    let req = || json!({"amountMsat": 30_000_000u64, "description": "cln-like", "expirySecs": 600});
    set_lsps2_fault(json!({"mode": "ignore_fixed_size"})).await;
    let w = open_raw_lsps2_wallet().await;
    w.wait_connected(30).await;
    let r = w.receive(req()).await;
    let forced = open_raw_lsps2_wallet_with(|v| v["lsp"]["fixedSizeBuys"] = json!(true)).await;
    forced.wait_connected(30).await;
    let r_forced = forced.receive(req()).await;
    let paid = pay_if_made(&r).await;
    let paid_forced = pay_if_made(&r_forced).await;
    set_lsps2_fault(json!({"mode": "none"})).await;

    let r = r.expect("receive from an LSP without fixed-size buys");
    log(&format!("one-part receive: {r}, pay: {paid:?}"));
    assert_eq!(invoice_shape(&r["invoice"]), (Some(30_000_000), false));
    assert_eq!(msat(&r["amountMsat"]), 30_000_000);
    let paid = paid.expect("the payer pays");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let p = w.wait_status(&hash, "succeeded", 60).await;
    assert_eq!(msat(&p["feeMsat"]), 1_000_000);
    assert_eq!(msat(&p["amountMsat"]), 29_000_000);
    w.stop().await;

    let r_forced = r_forced.expect("a forced fixed-size receive is made");
    assert_eq!(
        invoice_shape(&r_forced["invoice"]),
        (Some(30_000_000), true)
    );
    log(&format!("forced fixed-size pay: {paid_forced:?}"));
    assert!(
        paid_forced
            .as_ref()
            .map_or(true, |p| p["status"] == "failed"),
        "the LSP fails a fixed-size buy's payment: {paid_forced:?}"
    );
    let hash = r_forced["paymentHash"].as_str().unwrap().to_string();
    assert!(!forced.states(&hash).iter().any(|s| s == "claimed"));
    forced.stop().await;

    let honest = open_raw_lsps2_wallet().await;
    honest.wait_connected(30).await;
    let r = honest
        .receive(req())
        .await
        .expect("receive from the honest service");
    assert_eq!(invoice_shape(&r["invoice"]), (Some(30_000_000), true));
    honest.stop().await;
}

/// Issue 29: the LSP force-closes an anchor channel while the wallet holds a payment on it, and
/// the payment is claimed on chain. A trust-minimized wallet holds a direct payment over its
/// unconfirmed JIT channel while the chain source hides the funding (`awaiting_funding`); the
/// LSP force-closes, broadcasting its commitment with the HTLC on it. The wallet
/// claims once the channel is gone (the preimage can only go out on chain, spending that HTLC
/// output of a confirmed commitment): the HTLC output and the wallet's own output are swept to
/// its on-chain wallet, exact to the sat against the chain, the payer's payment succeeds (the
/// LSP read the preimage on chain), and the history has the payment.
///
/// `w` is a trust-minimized LSPS2 wallet of the LSP that `from` names at `/force-close`: both
/// implementations the devnet runs (ldk-node, and raw LDK on the REST LSP's node) are checked.
/// The REST flow has no such hold (the wallet trusts the LSP's funding there), so its channels
/// are covered through the raw LDK node's LSPS2 service.
async fn an_htlc_held_when_the_lsp_force_closes_is_claimed_on_chain(w: TestWallet, from: &str) {
    let channel = first_jit_channel(&w, "before the force close").await;
    let funding = channel["fundingTxid"].as_str().unwrap().to_string();

    let held_msat = 8_000_000u64;
    let (hash2, pay2) = hold_a_direct_payment(&w, held_msat, "held at the force close", 150).await;

    let closed = lsp_force_closes(&w, from).await;
    log(&format!("LSP force close: {closed}"));
    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");

    // Blocks until the payment is in: the commitment, then the claim of its HTLC output.
    let p2 = w.mine_until_claimed(&hash2, 120).await;
    assert_eq!(msat(&p2["amountMsat"]), held_msat, "{p2}");
    // The payer hears back once the wallet's claim of the HTLC output confirms and the LSP
    // reads the preimage there: keep mining until then.
    let answer = pay2.answer_while_mining(90).await;
    assert_eq!(answer["status"], "succeeded", "the payer is paid: {answer}");

    // On chain: the LSP's commitment spent the funding; the wallet's HTLC claim and its own
    // output (swept once its 1-block delay passed) are all it holds, to the sat.
    let get = esplora_get;
    let spends = get(format!("/tx/{funding}/outspends")).await;
    let commitment_txid = spends
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["spent"] == true)
        .expect("the funding is spent")["txid"]
        .as_str()
        .unwrap()
        .to_string();
    let commitment = get(format!("/tx/{commitment_txid}")).await;
    let htlc_vout = commitment["vout"]
        .as_array()
        .unwrap()
        .iter()
        .position(|o| o["value"] == held_msat / 1000)
        .expect("the HTLC output");
    let deadline = time::now_millis() + 120_000;
    let balance = loop {
        let b = call(w.wallet.balance()).await.unwrap();
        let claim = get(format!("/tx/{commitment_txid}/outspend/{htlc_vout}")).await;
        if claim["spent"] == true
            && msat(&b["onchainPendingSat"]) == 0
            && msat(&b["onchainSat"]) > held_msat / 1000
        {
            break b;
        }
        assert!(time::now_millis() < deadline, "nothing swept: {b}");
        control_post("/mine", json!({"count": 1})).await.unwrap();
        time::sleep(Duration::from_secs(2)).await;
    };
    let history = balance_is_its_transactions(&w, &balance).await;
    log(&format!(
        "on chain after the LSP's force close: {balance}; {history}"
    ));
    let claim = get(format!("/tx/{commitment_txid}/outspend/{htlc_vout}")).await;
    let claim_tx = get(format!("/tx/{}", claim["txid"].as_str().unwrap())).await;
    let claimed = msat(&claim_tx["vout"][0]["value"]);
    assert_eq!(
        claimed + msat(&claim_tx["fee"]),
        held_msat / 1000,
        "the HTLC output, less the claim's fee, pays the wallet"
    );
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["txid"] == claim["txid"] && msat(&t["receivedSat"]) == claimed),
        "the claim is in the wallet's history: {history}"
    );
    assert_eq!(
        msat(&call(w.wallet.balance()).await.unwrap()["lightningMsat"]),
        0
    );
    w.stop().await;
}

#[wasm_bindgen_test]
async fn lsps2_an_htlc_held_when_the_lsp_force_closes_is_claimed_on_chain() {
    let w = open_wallet(LspProtocol::Lsps2, |v| v["trustMinimized"] = json!(true)).await;
    an_htlc_held_when_the_lsp_force_closes_is_claimed_on_chain(w, "lsps2").await;
}

#[wasm_bindgen_test]
async fn lsps2_raw_ldk_an_htlc_held_when_the_lsp_force_closes_is_claimed_on_chain() {
    let w = open_raw_lsps2_wallet_with(|v| v["trustMinimized"] = json!(true)).await;
    an_htlc_held_when_the_lsp_force_closes_is_claimed_on_chain(w, "flow").await;
}

/// Issue 29: the wallet's own force close of an anchor channel with a payment held on it, the
/// HTLC claimed with the wallet's coins. On the wallet's commitment the HTLC output can only be
/// claimed by an HTLC-success transaction, which anchor channels sign at zero fee
/// (SIGHASH_SINGLE|ANYONECANPAY): the wallet adds a coin to pay for it (LDK's
/// `BumpTransactionEvent::HTLCResolution`; this is what the anchor reserve is kept for). A
/// trust-minimized wallet with 50 000 sat on chain holds a direct payment over its unconfirmed
/// JIT channel (funding hidden), is cut off from the LSP and force-closes: its commitment
/// confirms, the HTLC-success transaction spends the HTLC output and a wallet coin and keeps
/// the HTLC's whole value in its output, the payer is paid (the LSP read the preimage there),
/// and after the channel's delay that value is swept into the on-chain wallet, whose balance is
/// its transactions to the sat.
#[wasm_bindgen_test]
async fn lsps2_the_wallets_force_close_claims_a_held_htlc_with_its_coins() {
    let sockets = support::track_websockets();
    let w = open_wallet(LspProtocol::Lsps2, |v| v["trustMinimized"] = json!(true)).await;
    // Coins first: the block confirming them must not confirm the JIT channel's funding.
    let address = call(w.wallet.onchain_address()).await.unwrap();
    control_post(
        "/send-onchain",
        json!({"address": address, "amount_sat": 50_000}),
    )
    .await
    .expect("the payer sends coins");
    control_post("/mine", json!({"count": 1})).await.unwrap();
    call(w.wallet.sync()).await.unwrap();
    let channel = first_jit_channel(&w, "before the close").await;
    let channel_id = channel["channelId"].as_str().unwrap().to_string();

    let held_msat = 8_000_000u64;
    let (hash2, pay2) =
        hold_a_direct_payment(&w, held_msat, "held at the wallet's force close", 150).await;
    sockets.cut();
    let deadline = time::now_millis() + 30_000;
    while w.peers.borrow().last().map(|p| p["connected"] == true) != Some(false) {
        assert!(time::now_millis() < deadline, "the LSP never disconnected");
        time::sleep(Duration::from_millis(100)).await;
    }
    let opts = json!({"force": true})
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap();
    call(w.wallet.close_channel(JsValue::from_str(&channel_id), opts))
        .await
        .expect("force close");
    // The channel has left the list, but its close may still need the coins: the reserve stays.
    assert!(w.channels().await.is_empty());
    let closing = call(w.wallet.balance()).await.unwrap();
    assert_eq!(
        closing["anchorReserveSat"], 10_000,
        "the reserve outlives the open channel: {closing}"
    );
    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");

    // The commitment (spending the funding) and then the HTLC-success transaction.
    let funding = channel["fundingTxid"].as_str().unwrap().to_string();
    let deadline = time::now_millis() + 120_000;
    let (commitment_txid, htlc_vout, success) = loop {
        let spends = esplora_get(format!("/tx/{funding}/outspends")).await;
        if let Some(c) = spends
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["spent"] == true)
        {
            let txid = c["txid"].as_str().unwrap().to_string();
            let commitment = esplora_get(format!("/tx/{txid}")).await;
            let vout = commitment["vout"]
                .as_array()
                .unwrap()
                .iter()
                .position(|o| o["value"] == held_msat / 1000)
                .expect("the HTLC output");
            let spend = esplora_get(format!("/tx/{txid}/outspend/{vout}")).await;
            if spend["spent"] == true {
                let tx = esplora_get(format!("/tx/{}", spend["txid"].as_str().unwrap())).await;
                break (txid, vout, tx);
            }
        }
        assert!(
            time::now_millis() < deadline,
            "the HTLC output was never claimed"
        );
        control_post("/mine", json!({"count": 1})).await.unwrap();
        call(w.wallet.sync()).await.unwrap();
        time::sleep(Duration::from_secs(1)).await;
    };
    let inputs = success["vin"].as_array().unwrap();
    log(&format!(
        "HTLC-success {} spends {commitment_txid}:{htlc_vout} and {} coin(s), fee {} sat",
        success["txid"],
        inputs.len() - 1,
        success["fee"]
    ));
    assert!(inputs.len() >= 2, "the HTLC output and a coin: {success}");
    assert_eq!(
        (
            inputs[0]["txid"].as_str(),
            inputs[0]["vout"].as_u64(),
            inputs[0]["prevout"]["value"].as_u64()
        ),
        (
            Some(commitment_txid.as_str()),
            Some(htlc_vout as u64),
            Some(held_msat / 1000)
        ),
        "the HTLC output comes first, paired with its output: {success}"
    );
    assert_eq!(
        success["vout"][0]["value"].as_u64(),
        Some(held_msat / 1000),
        "the HTLC's whole value stays in its output; the coin pays the fee: {success}"
    );
    assert!(msat(&success["fee"]) > 0, "{success}");

    // The payer hears back once the HTLC-success transaction confirms.
    let answer = pay2.answer_while_mining(90).await;
    assert_eq!(answer["status"], "succeeded", "the payer is paid: {answer}");
    let p2 = w.wait_status(&hash2, "succeeded", 30).await;
    assert_eq!(msat(&p2["amountMsat"]), held_msat, "{p2}");

    // After the channel's delay the HTLC-success output is swept to the on-chain wallet.
    let success_txid = success["txid"].as_str().unwrap().to_string();
    control_post("/mine", json!({"count": 150})).await.unwrap();
    let deadline = time::now_millis() + 180_000;
    let balance = loop {
        call(w.wallet.sync()).await.unwrap();
        let b = call(w.wallet.balance()).await.unwrap();
        let swept = esplora_get(format!("/tx/{success_txid}/outspend/0")).await;
        if swept["spent"] == true
            && swept["status"]["confirmed"] == true
            && msat(&b["onchainPendingSat"]) == 0
            && w.channels().await.is_empty()
        {
            break b;
        }
        assert!(
            time::now_millis() < deadline,
            "the HTLC's value was never swept: {b}"
        );
        control_post("/mine", json!({"count": 1})).await.unwrap();
        time::sleep(Duration::from_secs(2)).await;
    };
    let history = balance_is_its_transactions(&w, &balance).await;
    log(&format!(
        "on chain after the wallet's force close: {balance}; {history}"
    ));
    assert!(
        msat(&balance["onchainSat"]) > 50_000,
        "the coins, the HTLC and the channel balance, less fees: {balance}"
    );
    assert_eq!(
        balance["anchorReserveSat"], 0,
        "nothing left to bump: {balance}"
    );
    sockets.restore();
    w.stop().await;
}

/// Issue 29: the LSP force-closes a JIT channel while the wallet holds the JIT payment on it. A
/// trust-minimized wallet waits for the funding, which the chain source hides
/// (`awaiting_funding`); the LSP (ldk-node) force-closes. The receive is not failed: once the
/// LSP's commitment confirms (which proves the funding did), the HTLC is claimed on chain, the
/// receive ends `claimed` with the agreed fee, the payer is paid, and the wallet's on-chain
/// balance is its transactions.
#[wasm_bindgen_test]
async fn lsps2_a_jit_payment_held_when_the_lsp_force_closes_is_claimed_on_chain() {
    let w = open_wallet(LspProtocol::Lsps2, |v| v["trustMinimized"] = json!(true)).await;
    control_post(
        "/chain/hide-mempool",
        json!({"hidden": true, "max_secs": 150}),
    )
    .await
    .expect("hide the mempool");
    let amount_msat = 30_000_000u64;
    let r = w
        .receive(json!({"amountMsat": amount_msat, "description": "JIT at the force close"}))
        .await
        .expect("receive");
    assert_eq!(r["protocol"], "lsps2", "{r}");
    let hash = r["paymentHash"].as_str().unwrap().to_string();
    let pay = BackgroundPay::start(&r["invoice"]);
    w.wait_state(&hash, "awaiting_funding", 60).await;

    let closed = lsp_force_closes(&w, "lsps2").await;
    log(&format!("LSP force close of the JIT channel: {closed}"));
    assert!(
        !w.states(&hash).iter().any(|s| s == "failed"),
        "not failed at the close: {:?}",
        w.states(&hash)
    );
    control_post("/chain/hide-mempool", json!({"hidden": false}))
        .await
        .expect("show the mempool");

    let p = w.mine_until_claimed(&hash, 120).await;
    log(&format!(
        "claimed on chain after the LSP's force close: {p}"
    ));
    assert_eq!(
        msat(&p["amountMsat"]) + msat(&p["feeMsat"]),
        amount_msat,
        "what arrived plus the agreed fee is the invoice: {p}"
    );
    assert!(msat(&p["feeMsat"]) > 0, "{p}");
    w.wait_state(&hash, "claimed", 30).await;

    let answer = pay.answer_while_mining(90).await;
    assert_eq!(answer["status"], "succeeded", "the payer is paid: {answer}");

    // The HTLC's value, less the claim's fee, reaches the on-chain wallet.
    let deadline = time::now_millis() + 120_000;
    let balance = loop {
        call(w.wallet.sync()).await.unwrap();
        let b = call(w.wallet.balance()).await.unwrap();
        if msat(&b["onchainSat"]) > 0 && msat(&b["onchainPendingSat"]) == 0 {
            break b;
        }
        assert!(time::now_millis() < deadline, "nothing swept: {b}");
        control_post("/mine", json!({"count": 1})).await.unwrap();
        time::sleep(Duration::from_secs(2)).await;
    };
    let history = balance_is_its_transactions(&w, &balance).await;
    log(&format!("on chain: {balance}; {history}"));
    assert!(
        msat(&balance["onchainSat"]) <= msat(&p["amountMsat"]) / 1000,
        "at most what arrived: {balance}"
    );
    w.stop().await;
}

//! The JS API (docs/js-api.md): the `Wallet` class.
//!
//! Guarantees: every method either resolves with the documented shape or rejects with a JS
//! `Error` carrying `code` / `reason` / `fatal` ([`crate::js_error`]); amounts in and out are
//! integer msat (sat where named) within 2^53; the mnemonic leaves the wallet only through
//! `mnemonic()`; events are `CustomEvent`s whose `detail` is a plain object.

use core::time::Duration;
use std::rc::Rc;

use js_sys::{Function, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::config::Config;
use crate::error::Error;
use crate::js_args::{
    parse_close_options, parse_onchain_send, parse_onchain_send_options, parse_pay_options,
    parse_stop_options, OnchainSendArgs, ReceiveArgs, DEFAULT_STOP_TIMEOUT_SECS,
};
use crate::js_error::to_js_error;
use crate::lsp::receive::JitReceiver;
use crate::node::event_bus::to_js;
use crate::node::{self, Node};

/// The TypeScript types of the JS contract, one file shared with the demo wallet.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("js_types.d.ts");

/// A running wallet.
#[wasm_bindgen]
pub struct Wallet {
    node: Rc<Node>,
    jit: Rc<JitReceiver>,
}

/// A JS argument as JSON. NaN and ±Infinity have no JSON form, and a plain conversion turns them
/// into `null`, which would read as "absent" (a NaN fee cap switching the cap off, a NaN amount
/// giving an any-amount invoice): they are kept as the strings "NaN" / "Infinity" /
/// "-Infinity", which every numeric field refuses with its own code. `undefined` fields are
/// absent; a value JSON cannot hold (a BigInt, a cycle) refuses the call.
fn js_to_json(v: &JsValue) -> Result<Value, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(Value::Null);
    }
    // The replacer is a Rust closure, not JS source: a page whose Content-Security-Policy refuses
    // `unsafe-eval` (as it should) could not build a `Function` from a string.
    thread_local! {
        static KEEP_NON_FINITE: js_sys::Function =
            Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(|_key: JsValue, value: JsValue| {
                match value.as_f64() {
                    Some(n) if n.is_nan() => JsValue::from_str("NaN"),
                    Some(n) if n.is_infinite() => {
                        JsValue::from_str(if n > 0.0 { "Infinity" } else { "-Infinity" })
                    }
                    _ => value,
                }
            })
            .into_js_value()
            .unchecked_into();
    }
    let not_json = || Error::InvalidConfig {
        field: "argument",
        problem: "is not plain JSON data",
    };
    let text = KEEP_NON_FINITE
        .with(|replacer| js_sys::JSON::stringify_with_replacer(v, replacer))
        .map_err(|_| not_json())?;
    let text = text.as_string().ok_or_else(not_json)?;
    serde_json::from_str(&text).map_err(|_| not_json())
}

/// A JS argument that must be a string; anything else (a number, `null`, `undefined`, an
/// object) is refused with `INVALID_ARGUMENT` naming it.
fn string_arg(v: &JsValue, argument: &'static str) -> Result<String, Error> {
    v.as_string().ok_or(Error::InvalidArgument {
        argument,
        problem: "must be a string",
    })
}

fn reject(e: Error) -> JsValue {
    to_js_error(&e)
}

/// Runs `f` as a promise resolving with its JSON result as a plain JS value.
fn promise<F>(f: F) -> Promise
where
    F: core::future::Future<Output = Result<Value, Error>> + 'static,
{
    future_to_promise(async move { f.await.map(|v| to_js(&v)).map_err(reject) })
}

/// The request and options of `quoteOnchain` / `sendOnchain`, checked.
fn onchain_send_args(
    request: &JsValue,
    opts: &JsValue,
) -> Result<(OnchainSendArgs, Option<u32>), Error> {
    let args = parse_onchain_send(&js_to_json(request)?)?;
    let rate = parse_onchain_send_options(&js_to_json(opts)?)?;
    Ok((args, rate))
}

#[wasm_bindgen]
impl Wallet {
    /// Opens (creating if needed) the wallet in `config.storageName` and starts it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Wallet>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "WalletConfig")] config: JsValue) -> Promise {
        future_to_promise(async move {
            let config = js_to_json(&config)
                .and_then(Config::from_value)
                .map_err(reject)?;
            let node = node::open(config).await.map_err(reject)?;
            // Right after open, before anything yields: the JIT receive hooks LDK's events.
            let jit = match crate::lsp::receive::start(&node).await {
                Ok(jit) => jit,
                Err(e) => {
                    node.stop(Duration::from_secs(u64::from(DEFAULT_STOP_TIMEOUT_SECS)))
                        .await;
                    return Err(reject(e));
                }
            };
            // What the node reported while opening reaches listeners added once this resolves.
            node.bus().release();
            Ok(JsValue::from(Wallet { node, jit }))
        })
    }

    /// Whether a wallet exists in the storage `storageName`.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn exists(
        #[wasm_bindgen(js_name = storageName, unchecked_param_type = "string")]
        storage_name: JsValue,
    ) -> Promise {
        let name = string_arg(&storage_name, "storageName");
        future_to_promise(async move {
            let name = name.map_err(reject)?;
            node::wallet_exists(&name)
                .await
                .map(JsValue::from_bool)
                .map_err(reject)
        })
    }

    /// The node id (hex).
    #[wasm_bindgen(getter, js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.node.node_id().to_string()
    }

    /// The network name.
    #[wasm_bindgen(getter, unchecked_return_type = "Network")]
    pub fn network(&self) -> String {
        self.node.config().network.as_str().to_string()
    }

    /// Balances.
    #[wasm_bindgen(unchecked_return_type = "Promise<Balance>")]
    pub fn balance(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            node.check_running()?;
            Ok(serde_json::to_value(node.balance().await?).expect("serializable"))
        })
    }

    /// The channels.
    #[wasm_bindgen(unchecked_return_type = "Promise<Channel[]>")]
    pub fn channels(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            node.check_running()?;
            Ok(serde_json::to_value(node.channels()).expect("serializable"))
        })
    }

    /// The payment history, newest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Payment[]>")]
    pub fn payments(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            node.check_running()?;
            Ok(Value::Array(
                node.payments.all().iter().map(|p| p.to_js_json()).collect(),
            ))
        })
    }

    /// Creates an invoice to receive a payment.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceiveResult>")]
    pub fn receive(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReceiveRequest")] request: JsValue,
    ) -> Promise {
        let jit = self.jit.clone();
        let parsed = js_to_json(&request).and_then(|v| ReceiveArgs::parse(&v));
        promise(async move {
            let args = parsed?;
            Ok(serde_json::to_value(jit.receive(&args).await?).expect("serializable"))
        })
    }

    /// Pays a BOLT11 invoice and resolves once it settled.
    #[wasm_bindgen(unchecked_return_type = "Promise<PayResult>")]
    pub fn pay(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] invoice: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "{ amountMsat?: number; timeoutSecs?: number }"
        )]
        opts: JsValue,
    ) -> Promise {
        let node = self.node.clone();
        let invoice = string_arg(&invoice, "invoice");
        let parsed = js_to_json(&opts).and_then(|v| parse_pay_options(&v));
        promise(async move {
            let invoice = invoice?;
            let opts = parsed?;
            let timeout = core::time::Duration::from_secs(u64::from(opts.timeout_secs));
            let paid = node.pay(&invoice, opts.amount_msat, timeout).await?;
            Ok(serde_json::to_value(paid).expect("serializable"))
        })
    }

    /// The on-chain wallet's receive address (next unused; closes and sweeps pay the same wallet).
    #[wasm_bindgen(js_name = onchainAddress, unchecked_return_type = "Promise<string>")]
    pub fn onchain_address(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            node.check_running()?;
            Ok(Value::String(node.onchain_address().await?))
        })
    }

    /// What sending on chain would do now: what arrives, the fee, the change, the reserve kept.
    /// Nothing is spent or stored.
    #[wasm_bindgen(js_name = quoteOnchain, unchecked_return_type = "Promise<OnchainQuote>")]
    pub fn quote_onchain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OnchainSendRequest")] request: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "OnchainSendOptions")] opts: JsValue,
    ) -> Promise {
        let node = self.node.clone();
        let parsed = onchain_send_args(&request, &opts);
        promise(async move {
            let (args, rate) = parsed?;
            let quote = node.quote_onchain(&args, rate)?;
            Ok(serde_json::to_value(quote).expect("serializable"))
        })
    }

    /// Sends from the on-chain wallet (confirmed coins only; the anchor reserve is kept);
    /// resolves once the transaction is in the mempool and stored.
    #[wasm_bindgen(js_name = sendOnchain, unchecked_return_type = "Promise<OnchainSent>")]
    pub fn send_onchain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OnchainSendRequest")] request: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "OnchainSendOptions")] opts: JsValue,
    ) -> Promise {
        let node = self.node.clone();
        let parsed = onchain_send_args(&request, &opts);
        promise(async move {
            let (args, rate) = parsed?;
            let sent = node.send_onchain(&args, rate).await?;
            Ok(serde_json::to_value(sent).expect("serializable"))
        })
    }

    /// The on-chain wallet's transactions (receipts, sends, closes, sweeps), newest first.
    #[wasm_bindgen(
        js_name = onchainTransactions,
        unchecked_return_type = "Promise<OnchainTransaction[]>"
    )]
    pub fn onchain_transactions(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            Ok(serde_json::to_value(node.onchain_transactions()?).expect("serializable"))
        })
    }

    /// Closes a channel: cooperatively (waiting up to 10 s for the peer to be connected and the
    /// channel's last update to be written), or with `opts.force` at once from our commitment.
    #[wasm_bindgen(js_name = closeChannel, unchecked_return_type = "Promise<void>")]
    pub fn close_channel(
        &self,
        #[wasm_bindgen(js_name = channelId, unchecked_param_type = "string")] channel_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ force?: boolean }")] opts: JsValue,
    ) -> Promise {
        let node = self.node.clone();
        let channel_id = string_arg(&channel_id, "channelId");
        let parsed = js_to_json(&opts).and_then(|v| parse_close_options(&v));
        promise(async move {
            let channel_id = channel_id?;
            node.check_running()?;
            node.close_channel(&channel_id, parsed?).await?;
            Ok(Value::Null)
        })
    }

    /// Syncs with the chain now; resolves after the round.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn sync(&self) -> Promise {
        let node = self.node.clone();
        promise(async move {
            node.check_running()?;
            node.sync_now(true).await?;
            Ok(Value::Null)
        })
    }

    /// The recovery phrase. Only call this when the user asks to see it.
    pub fn mnemonic(&self) -> String {
        self.node.mnemonic()
    }

    /// Receives in flight (direct invoices not yet paid or expired, JIT receives not finished):
    /// the tab must stay open.
    #[wasm_bindgen(js_name = pendingReceives)]
    pub fn pending_receives(&self) -> u32 {
        self.jit.pending_receives()
    }

    /// Adds a listener for a wallet event. Its TypeScript signature is generic over the event type (the
    /// listener's `detail` is that event's), so it is declared in js_types.d.ts (`interface
    /// Wallet`, merged into this class) rather than generated here.
    #[wasm_bindgen(js_name = addEventListener, skip_typescript)]
    pub fn add_event_listener(
        &self,
        #[wasm_bindgen(js_name = eventType)] kind: String,
        listener: Function,
    ) -> Result<(), JsValue> {
        self.node
            .bus()
            .target()
            .add_event_listener_with_callback(&kind, &listener)
    }

    /// Removes a listener. Its TypeScript signature is generic over the event type (the
    /// listener's `detail` is that event's), so it is declared in js_types.d.ts (`interface
    /// Wallet`, merged into this class) rather than generated here.
    #[wasm_bindgen(js_name = removeEventListener, skip_typescript)]
    pub fn remove_event_listener(
        &self,
        #[wasm_bindgen(js_name = eventType)] kind: String,
        listener: Function,
    ) -> Result<(), JsValue> {
        self.node
            .bus()
            .target()
            .remove_event_listener_with_callback(&kind, &listener)
    }

    /// Stops the wallet: background work ended, state written, peers disconnected, every event
    /// dispatched, the lock released. Waits at most `timeoutSecs` (default 30, at most 600);
    /// past that it resolves with what it abandoned and keeps the lock until that ends
    /// (`StopReport`). Calling it again resolves with the first call's report.
    #[wasm_bindgen(unchecked_return_type = "Promise<StopReport>")]
    pub fn stop(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "StopOptions")] opts: JsValue,
    ) -> Promise {
        let node = self.node.clone();
        let parsed = js_to_json(&opts).and_then(|v| parse_stop_options(&v));
        promise(async move {
            let bound = Duration::from_secs(u64::from(parsed?));
            let report = node.stop(bound).await;
            Ok(serde_json::to_value(report).expect("serializable"))
        })
    }
}

impl Wallet {
    /// The node behind this wallet (for Rust-side tests and the JIT task).
    pub fn node(&self) -> &Rc<Node> {
        &self.node
    }
}

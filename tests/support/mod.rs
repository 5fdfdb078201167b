//! Helpers for the browser tests of the wallet node: the JS `Wallet` driven exactly as JS would
//! (through the exported class's methods, by name), the devnet's endpoints and control API, and
//! an event recorder.
//!
//! The devnet's endpoints JSON reaches the test at compile time: `DEVNET_ENDPOINTS` (the JSON
//! text itself) is read with `option_env!`; tests/support/run_node_tests.sh starts the devnet
//! and sets it. Without it the tests that need a chain fail with a message saying so.
#![allow(dead_code)]

use core::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Function, Promise, Reflect};
use serde_json::{json, Value};
use tabnode::net::HttpClient;
use tabnode::time;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The devnet's endpoints JSON, set at compile time.
pub fn endpoints() -> Value {
    let Some(text) = option_env!("DEVNET_ENDPOINTS") else {
        panic!("DEVNET_ENDPOINTS is not set: run tests/support/run_node_tests.sh (it starts the devnet)")
    };
    serde_json::from_str(text).expect("DEVNET_ENDPOINTS is JSON")
}

/// A storage name no earlier run used.
pub fn fresh_name(test: &str) -> String {
    format!(
        "node-{test}-{}-{}",
        time::now_millis(),
        (js_sys::Math::random() * 1e9) as u64
    )
}

/// A wallet config for the devnet's LSPS2 LSP.
pub fn lsps2_config(storage_name: &str) -> Value {
    let e = endpoints();
    json!({
        "network": e["network"],
        "esploraUrl": e["esplora_url"],
        "proxyUrl": e["proxy_url"],
        "rgsUrl": e["rgs_url"],
        "storageName": storage_name,
        "lsp": {
            "protocol": "lsps2",
            "nodeId": e["lsps2_lsp"]["node_id"],
            "address": format!("{}:{}", e["lsps2_lsp"]["host"].as_str().unwrap(), e["lsps2_lsp"]["port"]),
        },
    })
}

/// A JSON value as a plain JS object.
pub fn js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

/// A plain JS value as JSON.
pub fn json_of(v: &JsValue) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    serde_json::from_str(&String::from(js_sys::JSON::stringify(v).unwrap())).unwrap()
}

/// A rejected call's `code` property.
pub fn code_of(e: &JsValue) -> String {
    Reflect::get(e, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_else(|| {
            panic!(
                "not a wallet error: {}",
                String::from(js_sys::JSON::stringify(e).unwrap_or_else(|_| "?".into()))
            )
        })
}

/// `Wallet.open(config)` as JS calls it.
pub async fn open(config: &Value) -> Result<JsWallet, JsValue> {
    let w = JsFuture::from(tabnode::api::Wallet::open(js(config))).await?;
    Ok(JsWallet(w))
}

/// `Wallet.exists(storageName)`.
pub async fn exists(storage_name: &str) -> bool {
    JsFuture::from(tabnode::api::Wallet::exists(JsValue::from_str(
        storage_name,
    )))
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

/// A JS `Wallet` instance, used through its JS methods.
#[derive(Clone)]
pub struct JsWallet(pub JsValue);

impl JsWallet {
    /// A property (`nodeId`, `network`).
    pub fn prop(&self, name: &str) -> JsValue {
        Reflect::get(&self.0, &name.into()).unwrap()
    }

    /// Calls a method synchronously.
    pub fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = Reflect::get(&self.0, &name.into())?.dyn_into()?;
        let a = Array::new();
        for x in args {
            a.push(x);
        }
        f.apply(&self.0, &a)
    }

    /// Calls a method returning a promise and awaits it.
    pub async fn call_async(&self, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let p: Promise = self.call(name, args)?.dyn_into()?;
        JsFuture::from(p).await
    }

    /// Like [`call_async`](Self::call_async), the result as JSON; panics on rejection.
    pub async fn ok(&self, name: &str, args: &[JsValue]) -> Value {
        match self.call_async(name, args).await {
            Ok(v) => json_of(&v),
            Err(e) => panic!("{name} rejected: {} ({})", code_of(&e), err_message(&e)),
        }
    }

    /// The node id.
    pub fn node_id(&self) -> String {
        self.prop("nodeId").as_string().unwrap()
    }

    /// Records every event of `types`.
    pub fn record(&self, types: &[&str]) -> Events {
        let events = Events::default();
        for t in types {
            let log = events.log.clone();
            let kind = t.to_string();
            let cb =
                Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
                    log.borrow_mut().push((kind.clone(), json_of(&e.detail())));
                });
            self.call(
                "addEventListener",
                &[JsValue::from_str(t), cb.as_ref().clone()],
            )
            .unwrap();
            events.keep.borrow_mut().push(cb);
        }
        events
    }

    /// `stop()`, which must finish within its default bound (nothing abandoned).
    pub async fn stop(&self) {
        let report = self.stop_with(None).await;
        assert_eq!(
            report,
            serde_json::json!({"complete": true, "abandoned": []}),
            "stop() gave up waiting"
        );
    }

    /// `stop(options)`: its `StopReport`.
    pub async fn stop_with(&self, options: Option<serde_json::Value>) -> serde_json::Value {
        let args: Vec<JsValue> = options.iter().map(js).collect();
        self.ok("stop", &args).await
    }
}

/// A rejected call's message.
pub fn err_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default()
}

type Listener = Closure<dyn FnMut(web_sys::CustomEvent)>;

/// Events seen by a recorder.
#[derive(Default, Clone)]
pub struct Events {
    log: Rc<RefCell<Vec<(String, Value)>>>,
    keep: Rc<RefCell<Vec<Listener>>>,
}

impl Events {
    /// Every event so far.
    pub fn all(&self) -> Vec<(String, Value)> {
        self.log.borrow().clone()
    }

    /// Waits for an event of `kind` whose detail satisfies `pred`, up to `timeout`.
    pub async fn wait_for(
        &self,
        kind: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = time::now_millis() + timeout.as_millis() as u64;
        loop {
            if let Some((_, d)) = self.log.borrow().iter().find(|(k, d)| k == kind && pred(d)) {
                return d.clone();
            }
            if time::now_millis() > deadline {
                panic!("no {kind} event within {timeout:?}; saw: {:?}", self.all());
            }
            time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// POSTs to the devnet's control API.
pub async fn control(path: &str, body: Value) -> Value {
    let url = format!("{}{}", endpoints()["control_url"].as_str().unwrap(), path);
    let http = HttpClient::new(Duration::from_secs(180));
    match http.post_json::<Value, Value>(&url, &body).await {
        Ok(v) => v,
        Err(e) => panic!("control {path} failed: {e}"),
    }
}

/// GETs from the devnet's control API.
pub async fn control_get(path: &str) -> Value {
    let url = format!("{}{}", endpoints()["control_url"].as_str().unwrap(), path);
    let http = HttpClient::new(Duration::from_secs(30));
    match http.get_json::<Value>(&url).await {
        Ok(v) => v,
        Err(e) => panic!("control GET {path} failed: {e}"),
    }
}

/// The page's websockets (the wallet's way to its LSP), tracked from [`track_websockets`] on.
pub struct Websockets {
    cut: js_sys::Function,
    restore: js_sys::Function,
}

impl Websockets {
    /// Closes every websocket opened since, and makes new ones fail (as to a closed port on
    /// loopback) until [`restore`](Self::restore). Lets a test do what the LSP must not learn
    /// of at once, e.g. a force close whose commitment must reach the chain before the LSP's
    /// own (the devnet's mempool keeps the first of two conflicting transactions).
    pub fn cut(&self) {
        self.cut.call0(&JsValue::NULL).unwrap();
    }

    /// Lets new websockets through again, and puts the page's own `WebSocket` back.
    pub fn restore(&self) {
        self.restore.call0(&JsValue::NULL).unwrap();
    }
}

/// Wraps the page's `WebSocket` constructor so that a test can cut the connections opened from
/// now on (open the wallet after this).
pub fn track_websockets() -> Websockets {
    let pair: js_sys::Array = js_sys::Function::new_no_args(
        "const Original = globalThis.WebSocket;
         const sockets = [];
         let blocked = false;
         function Tracked(url, protocols) {
           if (blocked) return new Original('ws://127.0.0.1:1/');
           const s = new Original(url, protocols);
           sockets.push(s);
           return s;
         }
         Tracked.prototype = Original.prototype;
         for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Tracked[k] = Original[k];
         globalThis.WebSocket = Tracked;
         return [
           () => { blocked = true; for (const s of sockets.splice(0)) s.close(); },
           () => { blocked = false; globalThis.WebSocket = Original; },
         ];",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .into();
    Websockets {
        cut: pair.get(0).into(),
        restore: pair.get(1).into(),
    }
}

/// Prints a line in the test output.
pub fn say(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

/// Every record of a database, sorted, with its bytes.
pub async fn snapshot(name: &str) -> Vec<(String, Vec<u8>)> {
    let store = tabnode::store::Store::open(name).await.unwrap();
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

/// `navigator.locks.request(name, { steal: true }, cb)`; resolves once granted (the stolen
/// lock is then given back at once).
pub async fn steal_lock(name: &str) {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let locks = Reflect::get(&navigator, &"locks".into()).unwrap();
    let request: Function = Reflect::get(&locks, &"request".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"steal".into(), &JsValue::TRUE).unwrap();
    let callback = Function::new_no_args("return 'stolen';");
    let p: Promise = request
        .call3(&locks, &JsValue::from_str(name), &options, &callback)
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(
        JsFuture::from(p).await.unwrap().as_string().as_deref(),
        Some("stolen")
    );
}

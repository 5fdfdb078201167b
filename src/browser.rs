//! Every browser quirk the I/O layer depends on, in one place.
//!
//! - Globals are reached through `globalThis` (`fetch`, `setTimeout`, `indexedDB`,
//!   `navigator.locks`), so the same code runs in a window and in a (shared) worker;
//!   `web_sys::window()` would tie it to the main thread.
//! - `IDBDatabase.transaction(scope, mode, { durability })` and the Web Locks API are
//!   behind `--cfg=web_sys_unstable_apis` in web-sys 0.3.107; the few calls needed are
//!   bound here by hand so the crate builds without that cfg.
//! - Chromium acknowledges a `relaxed` IndexedDB commit before it is flushed, and relaxed
//!   is its default: every read-write transaction asks for `durability: "strict"`.
//!   Browsers that do not know the option ignore it.
//! - Timers are `setTimeout` handles that are cleared on drop.
//! - WebKit fires `error` and never `close` on a websocket whose connection is refused
//!   (Chromium and Firefox fire both): src/net/websocket.rs takes `error` as the end of the
//!   connection.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_raw(handler: &Function, millis: i32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout_raw(handle: &JsValue);

    #[wasm_bindgen(js_name = String)]
    fn js_string(value: &JsValue) -> String;

    #[wasm_bindgen(js_name = fetch)]
    fn fetch_raw(request: &web_sys::Request) -> Promise;

    /// An `IDBDatabase` seen through our own binding, for the options argument web-sys
    /// only exposes under `web_sys_unstable_apis`.
    type IdbDatabaseWithOptions;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        db: &IdbDatabaseWithOptions,
        scope: &JsValue,
        mode: &str,
        options: &JsValue,
    ) -> Result<web_sys::IdbTransaction, JsValue>;
}

/// `setTimeout` clamps anything above 2^31-1 ms (about 24.8 days) to 1 ms: clamp ourselves.
fn clamp_millis(millis: u64) -> i32 {
    i32::try_from(millis).unwrap_or(i32::MAX)
}

/// Arms a `setTimeout` that calls a JS function; the timer is cleared when dropped.
pub(crate) struct JsTimer {
    handle: JsValue,
}

impl JsTimer {
    /// Calls `handler` once after `millis` milliseconds unless the timer is dropped first.
    pub(crate) fn new(handler: &Function, millis: u64) -> Self {
        JsTimer {
            handle: set_timeout_raw(handler, clamp_millis(millis)),
        }
    }
}

impl Drop for JsTimer {
    fn drop(&mut self) {
        clear_timeout_raw(&self.handle);
    }
}

/// A `setTimeout` that runs a Rust closure; cleared (and the closure freed) when dropped.
pub(crate) struct RustTimer {
    _timer: JsTimer,
    _callback: Closure<dyn FnMut()>,
}

impl RustTimer {
    /// Runs `f` once after `millis` milliseconds unless dropped first.
    pub(crate) fn new(millis: u64, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        let timer = JsTimer::new(callback.as_ref().unchecked_ref(), millis);
        RustTimer {
            _timer: timer,
            _callback: callback,
        }
    }
}

/// `fetch(request)` on whatever global scope we run in.
pub(crate) fn fetch(request: &web_sys::Request) -> Promise {
    fetch_raw(request)
}

/// The global `indexedDB` factory, or a message saying why there is none (e.g. some
/// private-browsing modes, sandboxed iframes, or a non-browser host).
pub(crate) fn indexed_db() -> Result<web_sys::IdbFactory, String> {
    let value = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map_err(|e| describe_js_error(&e))?;
    if value.is_undefined() || value.is_null() {
        return Err("indexedDB is not available in this context".into());
    }
    value
        .dyn_into::<web_sys::IdbFactory>()
        .map_err(|_| "globalThis.indexedDB is not an IDBFactory".into())
}

/// Opens a transaction over `stores`; read-write ones ask for `durability: "strict"`.
pub(crate) fn idb_transaction(
    db: &web_sys::IdbDatabase,
    stores: &[&str],
    readwrite: bool,
) -> Result<web_sys::IdbTransaction, JsValue> {
    let scope = js_sys::Array::new();
    for s in stores {
        scope.push(&JsValue::from_str(s));
    }
    if readwrite {
        let options = Object::new();
        Reflect::set(
            &options,
            &JsValue::from_str("durability"),
            &JsValue::from_str("strict"),
        )?;
        db.unchecked_ref::<IdbDatabaseWithOptions>()
            .transaction_with_options(&scope, "readwrite", &options)
    } else {
        db.unchecked_ref::<IdbDatabaseWithOptions>()
            .transaction_with_options(&scope, "readonly", &JsValue::UNDEFINED)
    }
}

/// `navigator.locks` of the global scope, if the Web Locks API exists here.
pub(crate) fn lock_manager() -> Result<JsValue, String> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .map_err(|e| describe_js_error(&e))?;
    if navigator.is_undefined() || navigator.is_null() {
        return Err("no navigator in this context".into());
    }
    let locks =
        Reflect::get(&navigator, &JsValue::from_str("locks")).map_err(|e| describe_js_error(&e))?;
    if locks.is_undefined() || locks.is_null() {
        return Err("navigator.locks is not available (needs a secure context)".into());
    }
    Ok(locks)
}

/// `locks.request(name, { ifAvailable: true }, callback)`; returns the request's promise.
pub(crate) fn lock_request_if_available(
    locks: &JsValue,
    name: &str,
    callback: &JsValue,
) -> Result<Promise, JsValue> {
    let request: Function = Reflect::get(locks, &JsValue::from_str("request"))?.dyn_into()?;
    let options = Object::new();
    Reflect::set(&options, &JsValue::from_str("ifAvailable"), &JsValue::TRUE)?;
    let result = request.call3(locks, &JsValue::from_str(name), &options, callback)?;
    result.dyn_into::<Promise>()
}

/// `promise.catch(handler)` with a handler owned by the JS garbage collector (js-sys's
/// `catch` borrows a Rust closure that would have to outlive the promise).
pub(crate) fn promise_catch(promise: &Promise, handler: &JsValue) -> Result<Promise, JsValue> {
    let catch: Function = Reflect::get(promise, &JsValue::from_str("catch"))?.dyn_into()?;
    catch.call1(promise, handler)?.dyn_into::<Promise>()
}

/// The name of a `DOMException` (e.g. `QuotaExceededError`), if the value is one.
pub(crate) fn dom_exception_name(value: &JsValue) -> Option<String> {
    value.dyn_ref::<web_sys::DomException>().map(|e| e.name())
}

/// A one-line description of any thrown JS value: `Name: message` for errors and
/// DOMExceptions, the string itself for strings, else its `String()` form.
pub(crate) fn describe_js_error(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", e.name(), e.message());
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(e.name()), String::from(e.message()));
    }
    if let Some(s) = value.as_string() {
        return s;
    }
    js_string(value)
}

//! Errors as JS sees them: an `Error` whose `message` is the human text, with `code` (stable
//! UPPER_SNAKE), `reason` (stable snake_case, when the error has one) and `fatal`.
//!
//! Guarantee: the message and fields come only from [`Error`], which never carries text from a
//! peer or an LSP.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::Error;

/// The JS `Error` for `error`.
pub fn to_js_error(error: &Error) -> JsValue {
    let e = js_sys::Error::new(&error.to_string());
    e.set_name("TabnodeError");
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&e, &JsValue::from_str(k), &v);
    };
    set("code", JsValue::from_str(error.code()));
    if let Some(r) = error.reason() {
        set("reason", JsValue::from_str(r));
    }
    set("fatal", JsValue::from_bool(error.is_fatal()));
    e.into()
}

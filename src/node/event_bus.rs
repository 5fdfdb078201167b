//! Delivering [`WalletEvent`]s to JS as `CustomEvent`s on the wallet's `EventTarget`.
//!
//! Guarantees: events are dispatched in the order they were emitted, each from its own
//! microtask, never synchronously inside `emit`: a JS listener can therefore call back into the
//! wallet without meeting state the node is in the middle of changing. `detail` is a plain JS
//! object (JSON-compatible: no `Map`s, no `BigInt`s).

use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use super::WalletEvent;

/// The wallet's event target (cheap to clone; clones share the target).
#[derive(Clone)]
pub struct EventBus {
    target: EventTarget,
}

impl EventBus {
    /// A bus with a fresh `EventTarget`.
    pub fn new() -> Result<EventBus, JsValue> {
        Ok(EventBus {
            target: EventTarget::new()?,
        })
    }

    /// The target JS listeners are added to.
    pub fn target(&self) -> &EventTarget {
        &self.target
    }

    /// Queues `event` for dispatch.
    pub fn emit(&self, event: WalletEvent) {
        let target = self.target.clone();
        let kind = event.event_type();
        let detail = to_js(&event.detail());
        wasm_bindgen_futures::spawn_local(async move {
            let init = CustomEventInit::new();
            init.set_detail(&detail);
            if let Ok(ev) = CustomEvent::new_with_event_init_dict(kind, &init) {
                let _ = target.dispatch_event(&ev);
            }
        });
    }
}

/// A serde value as a plain JS value (objects, arrays, numbers, strings, null).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

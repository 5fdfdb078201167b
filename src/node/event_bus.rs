//! Delivering [`WalletEvent`]s to JS as `CustomEvent`s on the wallet's `EventTarget`.
//!
//! Guarantees: events are dispatched in the order they were emitted, never synchronously inside
//! `emit`: a JS listener can therefore call back into the wallet without meeting state the node
//! is in the middle of changing. `detail` is a plain JS object (JSON-compatible: no `Map`s, no
//! `BigInt`s).
//!
//! Nothing is lost to a page that adds its listeners right after `Wallet.open` resolves: the bus
//! starts held, keeping what the node emits while it opens (its LSP and chain loops start before
//! `open` resolves, and an LSP identity mismatch, say, is reported at once). [`EventBus::release`],
//! called as `open` resolves, dispatches those from a later task (after the code awaiting
//! `open` has run), in order, and everything after them as it comes, each from its own microtask.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use super::tasks::Tasks;
use super::WalletEvent;
use crate::time;

/// An event ready for dispatch: its type and its `detail`.
type Queued = (&'static str, JsValue);

/// The wallet's event target (cheap to clone; clones share the target and the hold).
#[derive(Clone)]
pub struct EventBus {
    target: EventTarget,
    /// `Some` while held: the events emitted so far, in order.
    held: Rc<RefCell<Option<Vec<Queued>>>>,
    /// Dispatches are the node's tasks: `stop()` resolves after every event emitted before.
    tasks: Tasks,
}

impl EventBus {
    /// A held bus with a fresh `EventTarget` (see the module doc), dispatching as one of
    /// `tasks`.
    pub fn new(tasks: Tasks) -> Result<EventBus, JsValue> {
        Ok(EventBus {
            target: EventTarget::new()?,
            held: Rc::new(RefCell::new(Some(Vec::new()))),
            tasks,
        })
    }

    /// The target JS listeners are added to.
    pub fn target(&self) -> &EventTarget {
        &self.target
    }

    /// Queues `event` for dispatch (kept while the bus is held).
    pub fn emit(&self, event: WalletEvent) {
        let queued = (event.event_type(), to_js(&event.detail()));
        if let Some(held) = self.held.borrow_mut().as_mut() {
            held.push(queued);
            return;
        }
        let target = self.target.clone();
        self.tasks
            .spawn("event dispatch", async move { dispatch(&target, queued) });
    }

    /// Ends the hold: from a timer task (after the microtasks of whoever awaited the wallet, so
    /// listeners added right after `open` resolves are in place), the held events are dispatched
    /// in order, then later ones as they come. Releasing twice is harmless.
    pub fn release(&self) {
        let bus = self.clone();
        self.tasks.spawn("event dispatch", async move {
            time::sleep(Duration::ZERO).await;
            let held = bus.held.borrow_mut().take().unwrap_or_default();
            for queued in held {
                dispatch(&bus.target, queued);
            }
        });
    }
}

fn dispatch(target: &EventTarget, (kind, detail): Queued) {
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    if let Ok(ev) = CustomEvent::new_with_event_init_dict(kind, &init) {
        let _ = target.dispatch_event(&ev);
    }
}

/// A serde value as a plain JS value (objects, arrays, numbers, strings, null).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

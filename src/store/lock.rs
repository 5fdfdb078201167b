//! One running node per wallet: an exclusive Web Lock, shared by every tab and worker of the
//! origin and released by the browser when its holder goes away (tab closed, worker killed).

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::StoreError;
use crate::browser;

/// An exclusive Web Lock held by this context. The lock is released when this guard is
/// dropped or [`release`](InstanceLock::release)d, or when the page/worker dies.
pub struct InstanceLock {
    name: String,
    resolve: Option<Function>,
    request: Option<JsFuture>,
    lost: Rc<Cell<bool>>,
    on_lost: LostHook,
}

/// What to run, once, when the browser takes the lock away.
type LostHook = Rc<RefCell<Option<Box<dyn FnOnce()>>>>;

/// Takes the exclusive lock `name` if nobody in this origin holds it
/// (`navigator.locks.request(name, { ifAvailable: true }, cb)`), else fails at once with
/// [`StoreError::AlreadyRunning`]. Never waits for the lock to be freed.
pub async fn acquire_instance_lock(name: &str) -> Result<InstanceLock, StoreError> {
    let locks = browser::lock_manager().map_err(StoreError::LocksUnavailable)?;
    type Granted = Result<Option<Function>, StoreError>;
    let (sender, receiver) = oneshot::channel::<Granted>();
    let sender = Rc::new(RefCell::new(Some(sender)));
    let send = |sender: &Rc<RefCell<Option<oneshot::Sender<Granted>>>>, value: Granted| -> bool {
        match sender.borrow_mut().take() {
            Some(s) => s.send(value).is_ok(),
            None => false,
        }
    };

    let callback = {
        let sender = sender.clone();
        Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |lock: JsValue| -> JsValue {
            if lock.is_null() {
                send(&sender, Ok(None));
                return JsValue::UNDEFINED;
            }
            let mut resolve = None;
            let held = Promise::new(&mut |res, _rej| resolve = Some(res));
            if !send(&sender, Ok(resolve)) {
                // Nobody waits for the lock any more (the acquiring future was dropped):
                // give it back at once.
                return JsValue::UNDEFINED;
            }
            held.into()
        })
        .into_js_value()
    };
    let request = browser::lock_request_if_available(&locks, name, &callback)
        .map_err(|e| StoreError::LocksUnavailable(browser::describe_js_error(&e)))?;

    let lost = Rc::new(Cell::new(false));
    let on_lost: LostHook = Rc::new(RefCell::new(None));
    let on_reject = {
        let lost = lost.clone();
        let on_lost = on_lost.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |error: JsValue| {
            // Before the grant: the request failed. After: the lock was taken from us
            // (`steal: true` elsewhere) or the context is going away.
            if !send(
                &sender,
                Err(StoreError::LocksUnavailable(browser::describe_js_error(
                    &error,
                ))),
            ) {
                lost.set(true);
                let hook = on_lost.borrow_mut().take();
                if let Some(hook) = hook {
                    hook();
                }
            }
        })
        .into_js_value()
    };
    let request = browser::promise_catch(&request, &on_reject)
        .map_err(|e| StoreError::LocksUnavailable(browser::describe_js_error(&e)))?;
    let request = JsFuture::from(request);

    match receiver.await {
        Ok(Ok(Some(resolve))) => Ok(InstanceLock {
            name: name.to_string(),
            resolve: Some(resolve),
            request: Some(request),
            lost,
            on_lost,
        }),
        Ok(Ok(None)) => Err(StoreError::AlreadyRunning),
        Ok(Err(e)) => Err(e),
        Err(oneshot::Canceled) => Err(StoreError::LocksUnavailable(
            "the lock request was dropped".into(),
        )),
    }
}

impl InstanceLock {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// False if the browser took the lock away (another context requested it with
    /// `steal: true`); the node must then stop writing.
    pub fn is_held(&self) -> bool {
        self.resolve.is_some() && !self.lost.get()
    }

    /// Runs `hook` once, synchronously from the lock manager's rejection, when the browser
    /// takes the lock away (at once if it already has). The node uses it to close its store
    /// before any later write can be issued. Replaces an earlier hook.
    pub fn on_lost(&self, hook: impl FnOnce() + 'static) {
        if self.lost.get() {
            hook();
        } else {
            *self.on_lost.borrow_mut() = Some(Box::new(hook));
        }
    }

    /// Releases the lock and waits until the lock manager has let it go, so that an
    /// `acquire_instance_lock` issued afterwards (here or elsewhere) can get it.
    pub async fn release(mut self) {
        self.give_back();
        if let Some(request) = self.request.take() {
            // Settles once the lock is released; errors were already handled by `catch`.
            let _ = request.await;
        }
    }

    fn give_back(&mut self) {
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

impl Drop for InstanceLock {
    /// Releases the lock (asynchronously: the lock manager frees it a moment later).
    fn drop(&mut self) {
        self.give_back();
    }
}

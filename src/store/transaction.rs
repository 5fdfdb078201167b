//! Turning an IndexedDB transaction's `complete` / `abort` events into a Rust future.
//!
//! The event handlers are handed to the JS garbage collector (`Closure::into_js_value`) and
//! capture no JS objects, so dropping a [`StoreFuture`] neither breaks the handlers nor
//! cancels the transaction: an issued write still commits, nobody just waits for it.

use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::rc::Rc;

use futures::channel::oneshot;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, IdbTransaction};

use super::StoreError;
use crate::browser;

/// Shared slot in which code that aborts a transaction on purpose says why.
pub(crate) type AbortReason = Rc<RefCell<Option<StoreError>>>;

/// Resolves once the transaction fired `complete` (committed; for read-write transactions
/// opened by this crate, with `durability: "strict"`), or with the error it aborted with.
pub(crate) struct TxCompletion {
    receiver: oneshot::Receiver<Result<(), StoreError>>,
}

impl TxCompletion {
    /// Attaches `oncomplete` / `onabort` to `tx`. Must be called in the same task that created
    /// the transaction, before it can finish (i.e. synchronously after creating it).
    pub(crate) fn watch(tx: &IdbTransaction) -> (TxCompletion, AbortReason) {
        let (sender, receiver) = oneshot::channel();
        let sender = Rc::new(RefCell::new(Some(sender)));
        let reason: AbortReason = Rc::new(RefCell::new(None));

        let on_complete = {
            let sender = sender.clone();
            Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
                if let Some(s) = sender.borrow_mut().take() {
                    let _ = s.send(Ok(()));
                }
            })
        };
        let on_abort = {
            let reason = reason.clone();
            Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let error = reason
                    .borrow_mut()
                    .take()
                    .unwrap_or_else(|| abort_error(&event));
                if let Some(s) = sender.borrow_mut().take() {
                    let _ = s.send(Err(error));
                }
            })
        };
        tx.set_oncomplete(Some(on_complete.into_js_value().unchecked_ref()));
        tx.set_onabort(Some(on_abort.into_js_value().unchecked_ref()));
        (TxCompletion { receiver }, reason)
    }
}

/// The error a transaction aborted with: its `error` DOMException, or a plain abort.
fn abort_error(event: &Event) -> StoreError {
    let tx = event
        .target()
        .and_then(|t| t.dyn_into::<IdbTransaction>().ok());
    match tx.and_then(|tx| tx.error()) {
        Some(e) => StoreError::from_transaction_failure(&e.name(), &e.message()),
        None => StoreError::TransactionFailed {
            name: "AbortError".into(),
            message: "the transaction was aborted".into(),
        },
    }
}

/// Maps an exception thrown synchronously by an IndexedDB call.
pub(crate) fn thrown(value: &JsValue) -> StoreError {
    match browser::dom_exception_name(value) {
        Some(name) => {
            StoreError::from_transaction_failure(&name, &browser::describe_js_error(value))
        }
        None => StoreError::TransactionFailed {
            name: "Error".into(),
            message: browser::describe_js_error(value),
        },
    }
}

type Finish<T> = Box<dyn FnOnce(Result<(), StoreError>) -> Result<T, StoreError>>;

enum State<T> {
    Ready(Option<Result<T, StoreError>>),
    Waiting {
        completion: TxCompletion,
        finish: Option<Finish<T>>,
    },
}

/// The result of a store operation. The operation was issued (its transaction created and
/// its requests queued) when the method returning this future was called, so issue order
/// is call order whether or not, and in whatever order, the futures are polled.
/// Resolves after the transaction's `complete` event; an abort gives the error.
#[must_use = "the operation is issued already; await the future to learn whether it committed"]
pub struct StoreFuture<T> {
    state: State<T>,
}

impl<T> StoreFuture<T> {
    /// A future that resolves at once with `result` (validation failures, closed connection).
    pub(crate) fn ready(result: Result<T, StoreError>) -> Self {
        StoreFuture {
            state: State::Ready(Some(result)),
        }
    }

    /// A future that waits for `completion`, then lets `finish` read the requests' results
    /// (or map the error).
    pub(crate) fn waiting(
        completion: TxCompletion,
        finish: impl FnOnce(Result<(), StoreError>) -> Result<T, StoreError> + 'static,
    ) -> Self {
        StoreFuture {
            state: State::Waiting {
                completion,
                finish: Some(Box::new(finish)),
            },
        }
    }
}

impl<T> Future for StoreFuture<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::Ready(result) => {
                Poll::Ready(result.take().expect("StoreFuture polled after completion"))
            }
            State::Waiting { completion, finish } => {
                let outcome = match Pin::new(&mut completion.receiver).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(outcome)) => outcome,
                    // The handlers live as long as the transaction, which always ends in
                    // complete or abort; a dropped sender means the page is tearing down.
                    Poll::Ready(Err(oneshot::Canceled)) => Err(StoreError::Closed),
                };
                let finish = finish.take().expect("StoreFuture polled after completion");
                Poll::Ready(finish(outcome))
            }
        }
    }
}

impl<T> Unpin for StoreFuture<T> {}

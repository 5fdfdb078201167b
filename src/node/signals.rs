//! Two single-threaded signals the background tasks wait on: [`Shutdown`] (once, for everyone)
//! and [`Kick`] ("do it now", for one waiting loop).

use core::cell::{Cell, RefCell};
use core::future::{poll_fn, Future};
use core::task::{Poll, Waker};

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};

/// Fires once; every clone of [`Shutdown::wait`] then completes.
pub struct Shutdown {
    sender: RefCell<Option<oneshot::Sender<()>>>,
    receiver: Shared<oneshot::Receiver<()>>,
    triggered: Cell<bool>,
}

impl Shutdown {
    /// Not triggered yet.
    pub fn new() -> Self {
        let (sender, receiver) = oneshot::channel();
        Shutdown {
            sender: RefCell::new(Some(sender)),
            receiver: receiver.shared(),
            triggered: Cell::new(false),
        }
    }

    /// Triggers (idempotent).
    pub fn trigger(&self) {
        self.triggered.set(true);
        if let Some(s) = self.sender.borrow_mut().take() {
            let _ = s.send(());
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.triggered.get()
    }

    /// Completes once triggered (at once if it already was).
    pub fn wait(&self) -> impl Future<Output = ()> + Unpin + 'static {
        self.receiver.clone().map(|_| ())
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// A wake-up for one loop: kicks before the loop waits are remembered (one pending kick).
#[derive(Default)]
pub struct Kick {
    pending: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Kick {
    /// Asks the loop to run now.
    pub fn kick(&self) {
        self.pending.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Completes at the next kick (at once if one is pending), consuming it.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.pending.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

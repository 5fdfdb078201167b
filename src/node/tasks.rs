//! The node's background tasks, tracked so that `stop()` can wait for them.
//!
//! Invariant: every future the node runs on the page's event loop (LDK's background processor,
//! the sync and LSP loops, a peer connection, a broadcast, an on-chain script refill, the JIT
//! receive steps, an event's dispatch) is spawned through one [`Tasks`]. `Node::stop` waits
//! until none is left (those spawned while it waits included), so nothing the node does, no
//! write and no event, happens after `stop()` resolves; or, if its bound passes first, it names
//! what it abandoned ([`Tasks::wait_all`] gives their names).
//!
//! [`Tasks`] is the narrow handle the parts that are not the node (the broadcaster, the on-chain
//! wallet, the event bus) take: they can spawn, nothing else.

use core::cell::RefCell;
use core::future::Future;
use core::time::Duration;
use std::rc::Rc;

use futures::channel::oneshot;

use crate::time;

/// The node's set of running tasks (cheap to clone; clones share the set).
#[derive(Clone, Default)]
pub struct Tasks {
    running: Rc<RefCell<Vec<Task>>>,
}

/// One running task: what it is, and the signal it sends when it ends.
struct Task {
    name: &'static str,
    done: oneshot::Receiver<()>,
}

impl Task {
    fn ended(&mut self) -> bool {
        // `Err(Canceled)`: the future was dropped without finishing (it panicked): ended too.
        !matches!(self.done.try_recv(), Ok(None))
    }
}

impl Tasks {
    /// An empty set.
    pub fn new() -> Tasks {
        Tasks::default()
    }

    /// Runs `task` on the page's event loop (from a later microtask, never inside this call)
    /// as the task `name` (what a stop that gives up waiting reports). A task must end soon
    /// after the node's shutdown triggers.
    pub fn spawn(&self, name: &'static str, task: impl Future<Output = ()> + 'static) {
        let (done_tx, done) = oneshot::channel();
        let mut running = self.running.borrow_mut();
        // Forget the tasks that ended, so a long-lived node keeps no entry per finished task.
        running.retain_mut(|t| !t.ended());
        running.push(Task { name, done });
        drop(running);
        wasm_bindgen_futures::spawn_local(async move {
            task.await;
            let _ = done_tx.send(());
        });
    }

    /// The names of the tasks still running (sorted, each once).
    pub fn running(&self) -> Vec<&'static str> {
        let mut running = self.running.borrow_mut();
        running.retain_mut(|t| !t.ended());
        let mut names: Vec<_> = running.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Waits until no task is running, those spawned meanwhile included, or until `deadline`
    /// (milliseconds since the Unix epoch; `None`: no deadline) passes. Returns the names of the
    /// tasks still running then ([`running`](Self::running)); empty when every task ended.
    pub async fn wait_all(&self, deadline: Option<u64>) -> Vec<&'static str> {
        loop {
            let tasks: Vec<Task> = self.running.borrow_mut().drain(..).collect();
            if tasks.is_empty() {
                return Vec::new();
            }
            let mut tasks = tasks.into_iter();
            while let Some(mut task) = tasks.next() {
                let Some(deadline) = deadline else {
                    let _ = (&mut task.done).await;
                    continue;
                };
                let left = Duration::from_millis(deadline.saturating_sub(time::now_millis()));
                if time::timeout(left, &mut task.done).await.is_err() {
                    // Put back what is unfinished, next to what was spawned while waiting.
                    let mut running = self.running.borrow_mut();
                    running.push(task);
                    running.extend(tasks);
                    drop(running);
                    return self.running();
                }
            }
        }
    }
}

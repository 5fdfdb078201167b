//! Running futures in the background on the page's (or worker's) event loop.

use core::fmt;
use core::future::Future;
use std::rc::Rc;

use lightning::util::native_async::FutureSpawner;

/// LDK's `FutureSpawner` (needed by `MonitorUpdatingPersisterAsync` /
/// `ChainMonitor::new_async_beta`) over `wasm_bindgen_futures::spawn_local`. Without
/// `lightning/std` the trait asks for no `Send`, so `!Send` browser futures fit. Spawned
/// futures start on a later microtask, never inside `spawn`.
///
/// With a hook ([`LocalSpawner::with_hook`]), the hook runs each time a spawned future has
/// ended, on that future's task: LDK spawns here only the ends of its asynchronous monitor
/// writes, so the hook learns that one has settled.
#[derive(Clone, Default)]
pub struct LocalSpawner {
    after_each: Option<Rc<dyn Fn()>>,
}

impl LocalSpawner {
    /// A spawner that calls `hook` after each spawned future ends.
    pub fn with_hook(hook: impl Fn() + 'static) -> Self {
        LocalSpawner {
            after_each: Some(Rc::new(hook)),
        }
    }
}

impl fmt::Debug for LocalSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSpawner")
            .field("hook", &self.after_each.is_some())
            .finish()
    }
}

impl FutureSpawner for LocalSpawner {
    fn spawn<T: Future<Output = ()> + 'static>(&self, future: T) {
        let after = self.after_each.clone();
        wasm_bindgen_futures::spawn_local(async move {
            future.await;
            if let Some(hook) = after {
                hook();
            }
        });
    }
}

//! Running futures in the background on the page's (or worker's) event loop.

use core::future::Future;

use lightning::util::native_async::FutureSpawner;

/// LDK's `FutureSpawner` (needed by `MonitorUpdatingPersisterAsync` /
/// `ChainMonitor::new_async_beta`) over `wasm_bindgen_futures::spawn_local`. Without
/// `lightning/std` the trait asks for no `Send`, so `!Send` browser futures fit. Spawned
/// futures start on a later microtask, never inside `spawn`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSpawner;

impl FutureSpawner for LocalSpawner {
    fn spawn<T: Future<Output = ()> + 'static>(&self, future: T) {
        wasm_bindgen_futures::spawn_local(future);
    }
}
